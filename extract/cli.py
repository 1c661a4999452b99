"""The ``cd2`` command line: it parses the flags and dispatches to ``extract.commands``.

Every failure ends in one line naming the cause and the fix (the traceback only with
``--debug``) and an exit code from ``extract.failures``: 1 some tables failed, 2 usage or
configuration, 3 could not start, 4 an unexpected error. Settings come from one resolution
(``extract.config``: defaults ← cd2.yml ← environment ← flags; ``cd2 config`` shows it). Secrets
are never flag values (a flag's value is visible to every user in ``ps``): they come from the
environment or a file.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from extract import __version__
from extract.cli_options import (
    API_SETTINGS,
    SECRETS_HELP,
    SYNC_SETTINGS,
    OneLineParser,
    add_config_flag,
    add_output_options,
    add_refused_secret_flag,
    add_setting_flags,
    add_synth_options,
    positive_float,
)
from extract.config import declared_settings
from extract.failures import EXIT_USAGE, describe_failure

RUN_SETTINGS = (*SYNC_SETTINGS, "publish", "report", "dbt.target", "dbt.docs", "dbt.skip_unchanged", "dbt.unit_tests")


def _build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="cd2",
        description="Canvas Data 2 → DuckDB: extract with the DAP Query API, model with dbt.",
        epilog=(
            f"{SECRETS_HELP} Exit codes: 0 ok, 1 some tables or dbt nodes failed (re-run to finish), "
            "2 bad usage or configuration, 3 could not start (database locked or not cd2's, no credentials, "
            "API unreachable), 4 unexpected error (a bug: run again with --debug and report it)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"cd2 {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error (implies --verbose)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    fake = _command(
        sub,
        "synth:serve",
        "fake-server",
        help="run the bundled fake DAP API on a synthetic institution",
        description="Serve a synthetic Canvas institution through a local, faithful DAP Query API.",
    )
    add_synth_options(fake, "demo")
    fake.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    fake.add_argument("--port", type=int, default=8765, help="TCP port (0 = any free port)")
    fake.add_argument("--client-id", default=None, help="accepted client id (default: the documented demo id)")
    fake.add_argument(
        "--client-secret-file",
        type=Path,
        default=None,
        help="file holding the accepted client secret, - for stdin (default: the demo secret)",
    )
    add_refused_secret_flag(fake)
    fake.add_argument("--rate-limits", action="store_true", help="enforce the real API's per-endpoint limits")
    fake.add_argument("--token-lifetime", type=int, default=3600, help="access token lifetime in seconds")
    fake.add_argument(
        "--job-completion",
        default="immediate",
        help="when a query job ends: immediate, polls:N, seconds:T, scaled:BASE+PER_MROWS[:cap=MAX] (BASE s plus "
        "PER_MROWS s per million result rows, at most MAX s) or realistic (scaled:20+30:cap=900)",
    )
    fake.add_argument(
        "--time-scale",
        type=positive_float,
        default=1.0,
        help="multiply the rate limits' minute and the job durations by this (0.1: a round under the real limits "
        "in a tenth of the time; a client must then use the same window)",
    )

    synth = _command(
        sub,
        "synth:generate",
        "synth",
        help="generate a synthetic institution (change-log store) and report its size",
        description="Generate (or reuse) a deterministic synthetic Canvas institution.",
    )
    add_synth_options(synth, "tiny")
    synth.add_argument("--advance", type=float, default=0.0, help="then advance the clock by this many hours")

    sync = _command(
        sub,
        "sync:main",
        "sync",
        help="extract CD2 tables from the DAP API into DuckDB (snapshot once, then incrementals)",
        description="Bring the selected CD2 tables up to date in the DuckDB file, one atomic batch per job. "
        "Settings as for cd2 run: cd2.yml, then the environment, then these flags (`cd2 config` shows them).",
    )
    _add_settings(sync, (*API_SETTINGS, *SYNC_SETTINGS))
    add_output_options(sync)

    run = _command(
        sub,
        "run:main",
        "run",
        help="sync, then dbt build, then the docs site (settings from cd2.yml and the environment)",
        description="The scheduled job: cd2 sync, dbt build and dbt docs generate --static, one after the other.",
    )
    _add_settings(run, (*API_SETTINGS, *RUN_SETTINGS))
    run.add_argument("--skip-sync", action="store_true", help="only dbt build (and docs) on what has landed")
    run.add_argument("--project-dir", type=Path, default=Path(), help="dbt project directory (and its cd2.yml)")
    add_output_options(run)

    importer = _command(
        sub,
        "import_files:main",
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
    importer.add_argument(
        "--allow-older",
        action="store_true",
        help="import files older than the table's watermark, moving the watermark back to them",
    )
    _add_settings(importer, ("db", "memory_limit", "allow_foreign_db"))

    status = _command(
        sub,
        "status:main",
        "status",
        help="per-table watermark, staleness, rows, schema version, last error (read-only)",
        description="Read-only: never creates or changes a file. While a round holds the file, the published "
        "read copy is shown.",
    )
    _add_settings(status, ("db", "lake", "cadence"))
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")

    report = _command(
        sub,
        "report:main",
        "report",
        help="write the static learning-analytics report site from the marts (read-only on the database)",
        description="Pages of charts from the marts (pipeline health, enrollment and activity, submissions, grades, "
        "the weekly at-risk list, course adoption), small cells suppressed, students by pseudonymous key only. "
        "cd2 run writes it after the docs site.",
    )
    _add_settings(report, ("db",))
    report.add_argument("--project-dir", type=Path, default=Path(), help="dbt project directory (and its cd2.yml)")
    report.add_argument("--out", type=Path, default=None, help="folder of the site (default: <dbt target>/report)")
    report.add_argument(
        "--docs-url",
        default="../static_index.html",
        help="the docs site, as the report's pages link to it (default: ../static_index.html)",
    )
    report.add_argument(
        "--without-student-rows",
        action="store_true",
        help="leave out the at-risk list (one row per student), e.g. for a copy published on GitHub Pages",
    )

    listing = _command(sub, "api:list_tables", "list", help="list the tables the DAP API offers in a namespace")
    _add_settings(listing, API_SETTINGS)
    listing.add_argument("--namespace", default="canvas", help="namespace (default canvas)")

    schema_cmd = _command(sub, "api:schema", "schema", help="print a table's schema from the DAP API (JSON)")
    _add_settings(schema_cmd, API_SETTINGS)
    schema_cmd.add_argument("--namespace", default="canvas", help="namespace (default canvas)")
    schema_cmd.add_argument("--table", required=True, help="table name")

    config = _command(
        sub,
        "show_config:main",
        "config",
        help="print every setting, its value and where it came from (secrets masked)",
        description="Every setting as the other commands resolve it: the default, then cd2.yml, then the "
        "environment, then the flags given here. Secrets are shown only as set or not.",
    )
    _add_settings(config, [name for name, _ in declared_settings()])
    config.add_argument("--project-dir", type=Path, default=Path(), help="project directory (and its cd2.yml)")
    config.add_argument("--json", action="store_true", help="print JSON instead of lines")

    codegen = _command(
        sub,
        "codegen:main",
        "codegen",
        help="write the per-table dbt files generated from the CD2 schemas",
        description="Generate per-table dbt files from the CD2 schemas; --check verifies they are current.",
    )
    codegen.add_argument("--check", action="store_true", help="fail if any generated file is out of date")
    codegen.add_argument("--project-dir", type=Path, default=Path(), help="dbt project root")
    codegen.add_argument(
        "--db", type=Path, default=None, help="also use newer schema versions recorded by cd2 sync in this DuckDB file"
    )

    demo = _command(
        sub,
        "synth:demo",
        "demo",
        help="run the end-to-end demo on the bundled fake API",
        description="Generate the demo institution, serve it with the fake DAP API and exercise it.",
    )
    add_synth_options(demo, "demo")
    return parser


def _command(sub: Any, handler: str, name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
    """A sub-command whose body is ``handler`` (``module:function`` in ``extract.commands``)."""
    parser: argparse.ArgumentParser = sub.add_parser(name, help=help, description=description or help)
    parser.set_defaults(handler=handler)
    return parser


def _add_settings(parser: argparse.ArgumentParser, names: Sequence[str]) -> None:
    add_config_flag(parser)
    add_setting_flags(parser, names)


# Files the commands create (the DuckDB file, work folders, lock files) are the owner's only: they
# hold student data and state.
PRIVATE_UMASK = 0o077


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    from extract import logs, redact
    from extract.pseudonym import SECRET_ENV

    verbose = args.verbose or args.debug
    redact.register(os.environ.get("DAP_CLIENT_SECRET"), os.environ.get(SECRET_ENV), os.environ.get("PGPASSWORD"))
    logs.configure(logging.DEBUG if verbose else logging.INFO, getattr(args, "log_format", "plain"))
    previous_umask = os.umask(PRIVATE_UMASK)
    try:
        module, function = handler.split(":")
        return int(getattr(importlib.import_module(f"extract.commands.{module}"), function)(args))
    except BaseException as exc:  # every failure ends here as one line and an exit code
        if args.debug and not isinstance(exc, SystemExit | KeyboardInterrupt):
            logging.getLogger("cd2").exception("traceback (--debug)")
        code, line = describe_failure(exc)
        if line:
            print(f"cd2 {args.command}: {redact.one_line(line, limit=1000)}", file=sys.stderr)
        return code
    finally:
        os.umask(previous_umask)


if __name__ == "__main__":
    sys.exit(main())
