"""The ``cd2`` command line.

Sub-commands are thin: each parses its flags and hands over to the module that owns the job.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from extract import __version__

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
# The synthetic institution sizes (extract.synth.PROFILES); listed here so that building the
# parser does not import the generator.
PROFILE_NAMES = ("tiny", "demo", "large")


def default_db_path() -> Path:
    """The DuckDB file shared by the extractor and dbt: ``$CD2_DB`` or ``data/cd2.duckdb``."""
    return Path(os.environ.get("CD2_DB", "data/cd2.duckdb"))


def _add_synth_options(parser: argparse.ArgumentParser, default_profile: str) -> None:
    parser.add_argument("--profile", choices=PROFILE_NAMES, default=default_profile, help="institution size")
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where generated institutions are cached (default: $CD2_SYNTH_DIR or .cache/synth)",
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cd2",
        description="Canvas Data 2 → DuckDB: extract with the DAP Query API, model with dbt.",
    )
    parser.add_argument("--version", action="version", version=f"cd2 {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    fake = sub.add_parser(
        "fake-server",
        help="run the bundled fake DAP API on a synthetic institution",
        description="Serve a synthetic Canvas institution through a local, faithful DAP Query API.",
    )
    _add_synth_options(fake, "demo")
    fake.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    fake.add_argument("--port", type=int, default=8765, help="TCP port (0 = any free port)")
    fake.add_argument("--client-id", default=None, help="accepted client id (default: the documented demo id)")
    fake.add_argument("--client-secret", default=None, help="accepted client secret (default: the demo secret)")
    fake.add_argument("--rate-limits", action="store_true", help="enforce the real API's per-endpoint limits")
    fake.add_argument("--token-lifetime", type=int, default=3600, help="access token lifetime in seconds")
    fake.set_defaults(handler=_cmd_fake_server)

    synth = sub.add_parser(
        "synth",
        help="generate a synthetic institution (change-log store) and report its size",
        description="Generate (or reuse) a deterministic synthetic Canvas institution.",
    )
    _add_synth_options(synth, "tiny")
    synth.add_argument("--advance", type=float, default=0.0, help="then advance the clock by this many hours")
    synth.set_defaults(handler=_cmd_synth)

    codegen = sub.add_parser(
        "codegen",
        help="write the per-table dbt files generated from the CD2 schemas",
        description="Generate per-table dbt files from the CD2 schemas; --check verifies they are current.",
    )
    codegen.add_argument("--check", action="store_true", help="fail if any generated file is out of date")
    codegen.add_argument("--project-dir", type=Path, default=Path("."), help="dbt project root")
    codegen.set_defaults(handler=_cmd_codegen)

    demo = sub.add_parser(
        "demo",
        help="run the end-to-end demo on the bundled fake API",
        description="Generate the demo institution, serve it with the fake DAP API and exercise it.",
    )
    _add_synth_options(demo, "demo")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def _progress_printer() -> Callable[[str], None]:
    def emit(message: str) -> None:
        print(f"  {message}", file=sys.stderr, flush=True)

    return emit


def _cmd_synth(args: argparse.Namespace) -> int:
    from extract.synth import ensure_generated
    from extract.synth.report import describe_store

    institution = ensure_generated(args.profile, args.seed, args.data_dir, progress=_progress_printer())
    if args.advance:
        now = institution.advance(args.advance)
        print(f"advanced to {now.isoformat()}Z")
    print(describe_store(institution.store))
    return EXIT_OK


def _cmd_fake_server(args: argparse.Namespace) -> int:
    from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer, ServerConfig
    from extract.synth import ensure_generated

    institution = ensure_generated(args.profile, args.seed, args.data_dir, progress=_progress_printer())
    config = ServerConfig(
        host=args.host,
        port=args.port,
        client_id=args.client_id or DEFAULT_CLIENT_ID,
        client_secret=args.client_secret or DEFAULT_CLIENT_SECRET,
        rate_limits=args.rate_limits,
        token_lifetime_s=args.token_lifetime,
    )
    server = FakeDapServer(
        institution.store,
        config,
        advance=institution.advance,
        bump_schema=institution.bump_schema,
        reload=institution.reload,
    )
    server.start()
    print(f"Fake DAP API for the '{args.profile}' institution (seed {args.seed}) is listening.")
    print("Use it with these settings (the fake's demo credentials, not real ones):")
    print(f"  export DAP_API_URL={server.url}")
    print(f"  export DAP_CLIENT_ID='{config.client_id}'")
    print(f"  export DAP_CLIENT_SECRET='{config.client_secret}'")
    print(f"Advance the institution's clock: curl -s -X POST {server.url}/__fake__/advance -d '{{\"hours\": 4}}'")
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
    finally:
        server.stop()
    return EXIT_OK


def _cmd_codegen(args: argparse.Namespace) -> int:
    from extract import codegen

    files = codegen.generated_files()
    if args.check:
        outdated = codegen.stale(args.project_dir, files)
        for path in outdated:
            print(f"out of date: {path}", file=sys.stderr)
        if outdated:
            print("run `cd2 codegen` and commit the result", file=sys.stderr)
            return EXIT_FAILURE
        print(f"{len(files)} generated files are up to date")
        return EXIT_OK
    written = codegen.write(args.project_dir, files)
    print(f"wrote {len(written)} of {len(files)} generated files")
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from extract.demo import run_demo

    return run_demo(args.profile, args.seed, args.data_dir)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    return int(handler(args))


if __name__ == "__main__":
    sys.exit(main())
