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
from typing import TYPE_CHECKING

from extract import __version__

if TYPE_CHECKING:
    import duckdb
    from rich.console import Console

    from extract.dap.client import DapClient
    from extract.sync.runner import SyncReport

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

    sync = sub.add_parser(
        "sync",
        help="extract CD2 tables from the DAP API into DuckDB (snapshot once, then incrementals)",
        description="Bring the selected CD2 tables up to date in the DuckDB file, one atomic batch per job.",
    )
    _add_api_options(sync)
    sync.add_argument(
        "--namespace",
        action="append",
        default=None,
        help="namespace(s) to sync (repeat or comma-separate; default: canvas and canvas_logs)",
    )
    sync.add_argument("--table", default="all", help="comma-separated table names, or 'all' (default)")
    sync.add_argument("--format", choices=("jsonl", "parquet", "csv", "tsv"), default="jsonl", help="file format")
    sync.add_argument("--db", type=Path, default=None, help="DuckDB file (default: $CD2_DB or data/cd2.duckdb)")
    sync.add_argument("--concurrency", type=int, default=4, help="tables in flight at once (default 4)")
    sync.add_argument("--download-concurrency", type=int, default=8, help="parallel file downloads (default 8)")
    sync.add_argument(
        "--no-auto-resnapshot",
        dest="auto_resnapshot",
        action="store_false",
        help="fail instead of taking a new snapshot on SnapshotRequired / OutOfRange",
    )
    sync.add_argument("--max-retries", type=int, default=8, help="attempts per API call on 429/5xx/timeouts")
    sync.add_argument("--no-rate-limit", action="store_true", help="do not throttle to the API's documented limits")
    _add_output_options(sync)
    sync.set_defaults(handler=_cmd_sync)

    run = sub.add_parser(
        "run",
        help="sync, then dbt build, then the docs site (settings from cd2.yml and the environment)",
        description="The scheduled job: cd2 sync, dbt build and dbt docs generate --static, one after the other.",
    )
    _add_api_options(run)
    run.add_argument("--config", type=Path, default=None, help="config file (default: cd2.yml or $CD2_CONFIG)")
    run.add_argument("--db", type=Path, default=None, help="DuckDB file (overrides the config)")
    run.add_argument("--skip-sync", action="store_true", help="only dbt build (and docs) on what has landed")
    run.add_argument(
        "--build-all",
        action="store_true",
        help="build every current-state model, even those with nothing new to merge (dbt.skip_unchanged: false)",
    )
    run.add_argument("--no-docs", action="store_true", help="do not build the docs site")
    run.add_argument(
        "--no-rate-limit",
        action="store_true",
        help="do not throttle to the API's documented limits (for the bundled fake API)",
    )
    run.add_argument("--project-dir", type=Path, default=Path(), help="dbt project directory")
    _add_output_options(run)
    run.set_defaults(handler=_cmd_run)

    importer = sub.add_parser(
        "import",
        help="land files downloaded by Instructure's `dap snapshot` / `dap incremental`",
        description="Load one job's files from the official dap CLI, as one atomic batch.",
    )
    importer.add_argument("directory", type=Path, help="the job_<id> folder (or a folder holding one)")
    importer.add_argument("--namespace", default="canvas", help="namespace of the table (default canvas)")
    importer.add_argument("--table", required=True, help="table the files belong to")
    importer.add_argument("--kind", choices=("snapshot", "incremental"), required=True, help="what dap ran")
    importer.add_argument("--schema-file", type=Path, default=None, help="a `dap schema` output file")
    importer.add_argument("--csv-null", default=None, help="how NULL is written in CSV files (default: empty)")
    importer.add_argument("--db", type=Path, default=None, help="DuckDB file (default: $CD2_DB or data/cd2.duckdb)")
    importer.set_defaults(handler=_cmd_import)

    status = sub.add_parser("status", help="per-table watermark, staleness, rows, schema version, last error")
    status.add_argument("--db", type=Path, default=None, help="DuckDB file (default: $CD2_DB or data/cd2.duckdb)")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(handler=_cmd_status)

    listing = sub.add_parser("list", help="list the tables the DAP API offers in a namespace")
    _add_api_options(listing)
    listing.add_argument("--namespace", default="canvas", help="namespace (default canvas)")
    listing.set_defaults(handler=_cmd_list)

    schema_cmd = sub.add_parser("schema", help="print a table's schema from the DAP API (JSON)")
    _add_api_options(schema_cmd)
    schema_cmd.add_argument("--namespace", default="canvas", help="namespace (default canvas)")
    schema_cmd.add_argument("--table", required=True, help="table name")
    schema_cmd.set_defaults(handler=_cmd_schema)

    codegen = sub.add_parser(
        "codegen",
        help="write the per-table dbt files generated from the CD2 schemas",
        description="Generate per-table dbt files from the CD2 schemas; --check verifies they are current.",
    )
    codegen.add_argument("--check", action="store_true", help="fail if any generated file is out of date")
    codegen.add_argument("--project-dir", type=Path, default=Path(), help="dbt project root")
    codegen.add_argument(
        "--db", type=Path, default=None, help="also use newer schema versions recorded by cd2 sync in this DuckDB file"
    )
    codegen.set_defaults(handler=_cmd_codegen)

    demo = sub.add_parser(
        "demo",
        help="run the end-to-end demo on the bundled fake API",
        description="Generate the demo institution, serve it with the fake DAP API and exercise it.",
    )
    _add_synth_options(demo, "demo")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def _add_api_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", default=None, help="DAP API URL (default: $DAP_API_URL or Instructure's)")
    parser.add_argument("--client-id", default=None, help="client id (default: $DAP_CLIENT_ID)")
    parser.add_argument("--client-secret", default=None, help="client secret (default: $DAP_CLIENT_SECRET)")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-format", choices=("plain", "json"), default="plain", help="log line format")
    parser.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress bars (auto: only on a terminal)",
    )


def _client(args: argparse.Namespace, **kwargs: object) -> DapClient:
    from extract.dap.auth import Credentials
    from extract.dap.client import DapClient

    credentials = Credentials.from_env(args.base_url, args.client_id, args.client_secret)
    return DapClient(credentials, **kwargs)  # type: ignore[arg-type]


def _connect(path: Path | None) -> duckdb.DuckDBPyConnection:
    import duckdb

    from extract.config import MEMORY_LIMIT_ENV, ConfigError, checked_memory_limit, duckdb_settings

    db = path or default_db_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    try:
        memory_limit = checked_memory_limit(os.environ[MEMORY_LIMIT_ENV]) if os.environ.get(MEMORY_LIMIT_ENV) else None
    except ConfigError as exc:
        raise SystemExit(f"cd2: {MEMORY_LIMIT_ENV}: {exc}") from None
    try:
        return duckdb.connect(str(db), config=duckdb_settings(memory_limit))
    except duckdb.IOException as exc:
        raise SystemExit(f"cd2: cannot open {db}: {exc} (is another cd2 or dbt process using it?)") from None


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


def _selected_tables(args: argparse.Namespace, client: DapClient) -> list[str]:
    namespaces: list[str] = []
    for item in args.namespace or ["canvas,canvas_logs"]:
        namespaces += [n.strip() for n in item.split(",") if n.strip()]
    wanted = [t.strip() for t in args.table.split(",") if t.strip()]
    selected: list[str] = []
    for namespace in namespaces:
        available = client.list_tables(namespace)
        if wanted == ["all"]:
            selected += [f"{namespace}.{t}" for t in available]
        else:
            selected += [f"{namespace}.{t}" for t in wanted if t in available]
    if wanted != ["all"]:
        missing = [t for t in wanted if not any(q.endswith(f".{t}") for q in selected)]
        if missing:
            raise SystemExit(f"cd2: no such table in {', '.join(namespaces)}: {', '.join(missing)}")
    return selected


def _cmd_sync(args: argparse.Namespace) -> int:
    from rich.console import Console

    from extract import logs
    from extract.dap.transport import RetryPolicy
    from extract.sync.progress import LogReporter, Reporter, RichReporter
    from extract.sync.runner import SyncOptions, SyncRunner

    secret = args.client_secret or os.environ.get("DAP_CLIENT_SECRET", "")
    logs.configure(logging.DEBUG if args.verbose else logging.INFO, args.log_format, (secret,))
    console = Console(stderr=True)
    use_bars = args.progress == "always" or (args.progress == "auto" and console.is_terminal)
    if use_bars:
        logging.getLogger().setLevel(logging.WARNING if not args.verbose else logging.DEBUG)
    reporter: Reporter = RichReporter(console) if use_bars else LogReporter()
    client = _client(
        args,
        retry=RetryPolicy(max_attempts=max(1, args.max_retries)),
        limits={} if args.no_rate_limit else None,
    )
    con = _connect(args.db)
    try:
        tables = _selected_tables(args, client)
        db_path = args.db or default_db_path()
        options = SyncOptions(
            tables=tables,
            fmt=args.format,
            concurrency=args.concurrency,
            download_concurrency=args.download_concurrency,
            auto_resnapshot=args.auto_resnapshot,
            work_dir=db_path.parent / f".cd2_work_{db_path.stem}",
        )
        reporter.start(len(tables))
        try:
            report = SyncRunner(client, con, options, reporter).run()
        finally:
            reporter.stop()
    finally:
        con.close()
        client.close()
    _print_sync_summary(report, console)
    return EXIT_OK if report.ok else EXIT_FAILURE


def _print_sync_summary(report: SyncReport, console: Console) -> None:
    ok = [r for r in report.results if r.status == "ok"]
    rows = sum(r.rows for r in ok)
    megabytes = sum(r.bytes for r in ok) / 1e6
    snapshots = sum(1 for r in ok if r.kind == "snapshot")
    console.print(
        f"sync: {len(ok)} tables ok ({snapshots} snapshots), {len(report.failed)} failed; "
        f"{rows:,} rows, {megabytes:,.1f} MB in {report.seconds:,.1f}s"
    )
    for failed in report.failed:
        console.print(f"  failed {failed.qualified_name}: {failed.error_type}: {failed.error}")


def _cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from extract import config as cfg
    from extract import logs
    from extract.pseudonym import SECRET_ENV
    from extract.run import format_summary, run_all
    from extract.sync.progress import LogReporter, Reporter, RichReporter

    environ = dict(os.environ)
    if args.config is not None:
        environ["CD2_CONFIG"] = str(args.config)
    try:
        config = cfg.load(args.project_dir, environ)
    except cfg.ConfigError as exc:
        print(f"cd2 run: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.db is not None:
        config.db = args.db
    if args.no_docs:
        config.dbt.docs = False
    if args.build_all:
        config.dbt.skip_unchanged = False
    secret = args.client_secret or os.environ.get("DAP_CLIENT_SECRET", "")
    pseudonym_secret = os.environ.get(SECRET_ENV, "")
    if not pseudonym_secret:
        print(
            f"cd2 run: {SECRET_ENV} is not set. The marts replace user ids with an HMAC keyed by it; set it to a "
            "long random value kept like a password (the same value every run, or user keys change).",
            file=sys.stderr,
        )
        return EXIT_USAGE
    logs.configure(logging.DEBUG if args.verbose else logging.INFO, args.log_format, (secret, pseudonym_secret))
    console = Console(stderr=True)
    use_bars = args.progress == "always" or (args.progress == "auto" and console.is_terminal)
    reporter: Reporter = RichReporter(console) if use_bars else LogReporter()
    client = None if args.skip_sync else _client(args, limits={} if args.no_rate_limit else None)
    try:
        summary = run_all(client, config, reporter, args.project_dir, skip_sync=args.skip_sync)
    finally:
        if client is not None:
            client.close()
    for line in format_summary(summary):
        console.print(line, highlight=False, markup=False)
    return EXIT_OK if summary.ok else EXIT_FAILURE


def _cmd_import(args: argparse.Namespace) -> int:
    from extract.sync.importer import ImportPlanError, import_files, plan_import

    try:
        plan = plan_import(args.directory, args.namespace, args.table, args.schema_file)
    except (ImportPlanError, KeyError) as exc:
        print(f"cd2 import: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    con = _connect(args.db)
    try:
        result, watermark = import_files(con, plan, args.kind, args.csv_null)
    except ImportPlanError as exc:
        print(f"cd2 import: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        con.close()
    if result is None:
        print(f"{plan.schema.qualified_name}: the files hold no rows; nothing to import")
        return EXIT_OK
    print(
        f"{plan.schema.qualified_name}: imported {result.rows:,} rows ({result.upserts:,} upserts, "
        f"{result.deletes:,} deletes) from {len(plan.files)} {plan.fmt} file(s) as batch {result.batch_id}; "
        f"watermark {watermark.isoformat()}Z"
    )
    return EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console
    from rich.table import Table

    from extract.status import table_statuses

    con = _connect(args.db)
    try:
        statuses = table_statuses(con)
    finally:
        con.close()
    if args.json:
        print(json.dumps([s.to_json() for s in statuses], indent=1))
        return EXIT_OK
    if not statuses:
        print("no tables synced yet (run `cd2 sync`)")
        return EXIT_OK
    table = Table("table", "watermark", "stale (h)", "raw rows", "schema", "last batch", "status", "last error")
    for s in statuses:
        table.add_row(
            s.table,
            s.watermark or "-",
            f"{s.staleness_hours:.1f}" if s.staleness_hours is not None else "-",
            f"{s.raw_rows:,}",
            str(s.schema_version or "-"),
            f"{s.last_batch_id} {s.last_kind or ''}".strip() if s.last_batch_id else "-",
            s.last_status or "-",
            (s.last_error or "")[:80],
        )
    Console().print(table)
    return EXIT_OK


def _cmd_list(args: argparse.Namespace) -> int:
    with _client(args) as client:
        for name in client.list_tables(args.namespace):
            print(name)
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    import json

    with _client(args) as client:
        version, doc = client.get_schema(args.namespace, args.table)
    print(json.dumps({"schema": doc, "version": version}, indent=1))
    return EXIT_OK


def _cmd_codegen(args: argparse.Namespace) -> int:
    from extract import codegen

    schemas = None
    if args.db is not None:
        from extract.dbtgen.db_schemas import schemas_with_db

        schemas = schemas_with_db(args.db)
    files = codegen.generated_files(schemas)
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
    from extract.dap.errors import DapError

    try:
        return int(handler(args))
    except DapError as exc:
        print(f"cd2: {exc}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
