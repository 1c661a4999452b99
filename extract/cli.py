"""The ``cd2`` command line.

Sub-commands are thin: each parses its flags and hands over to the module that owns the job.
Every failure ends in one line naming the cause and the fix (the traceback only with
``--debug``) and an exit code from ``extract.failures``: 1 some tables failed, 2 usage or
configuration, 3 could not start, 4 an unexpected error. Secrets are never flag values
(a flag's value is visible to every user in ``ps``): they come from the environment or a file.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from extract import __version__

if TYPE_CHECKING:
    import duckdb
    from rich.console import Console

    from extract.dap.client import DapClient
    from extract.sync.runner import SyncReport

from extract.failures import (
    EXIT_CANNOT_START,
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    UsageError,
)

SECRETS_HELP = (
    "Secrets are never passed as flag values (visible in `ps`): the client secret comes from "
    "$DAP_CLIENT_SECRET or --client-secret-file (a file, or - for standard input)."
)
# The synthetic institution sizes (extract.synth.PROFILES); listed here so that building the
# parser does not import the generator.
PROFILE_NAMES = ("tiny", "demo", "large")


def default_db_path() -> Path:
    """The DuckDB file shared by the extractor and dbt: ``$CD2_DB`` or ``data/cd2.duckdb``."""
    return Path(os.environ.get("CD2_DB") or "data/cd2.duckdb")


def positive_int(text: str) -> int:
    """argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


class _RefusedSecretFlag(argparse.Action):
    """``--client-secret VALUE`` is refused by name, with where the secret goes instead."""

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        parser.error("there is no --client-secret flag (`ps` would show its value to every user): " + SECRETS_HELP)


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (the cause and where to look), not the whole usage block. No
    abbreviated flags: ``--client-secret`` must not be taken for ``--client-secret-file``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message}; see `{self.prog} --help`\n")


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

    fake = sub.add_parser(
        "fake-server",
        help="run the bundled fake DAP API on a synthetic institution",
        description="Serve a synthetic Canvas institution through a local, faithful DAP Query API.",
    )
    _add_synth_options(fake, "demo")
    fake.add_argument("--host", default="127.0.0.1", help="bind address (loopback by default)")
    fake.add_argument("--port", type=int, default=8765, help="TCP port (0 = any free port)")
    fake.add_argument("--client-id", default=None, help="accepted client id (default: the documented demo id)")
    fake.add_argument(
        "--client-secret-file",
        type=Path,
        default=None,
        help="file holding the accepted client secret, - for stdin (default: the demo secret)",
    )
    fake.add_argument("--client-secret", nargs="?", action=_RefusedSecretFlag, help=argparse.SUPPRESS)
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
    sync.add_argument("--concurrency", type=positive_int, default=4, help="tables in flight at once (default 4)")
    sync.add_argument(
        "--download-concurrency", type=positive_int, default=8, help="parallel file downloads (default 8)"
    )
    sync.add_argument(
        "--no-auto-resnapshot",
        dest="auto_resnapshot",
        action="store_false",
        help="fail instead of taking a new snapshot on SnapshotRequired / OutOfRange",
    )
    sync.add_argument("--max-retries", type=positive_int, default=8, help="attempts per API call on 429/5xx/timeouts")
    _add_foreign_option(sync)
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
        "--no-publish",
        action="store_true",
        help="do not refresh the read copy for BI tools and notebooks (publish: in cd2.yml)",
    )
    run.add_argument(
        "--no-rate-limit",
        action="store_true",
        help="do not throttle to the API's documented limits (for the bundled fake API)",
    )
    run.add_argument("--project-dir", type=Path, default=Path(), help="dbt project directory")
    _add_foreign_option(run)
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
    importer.add_argument(
        "--allow-older",
        action="store_true",
        help="import files older than the table's watermark, moving the watermark back to them",
    )
    _add_foreign_option(importer)
    importer.set_defaults(handler=_cmd_import)

    status = sub.add_parser(
        "status",
        help="per-table watermark, staleness, rows, schema version, last error (read-only)",
        description="Read-only: never creates or changes a file. While a round holds the file, the published "
        "read copy is shown.",
    )
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
    parser.add_argument(
        "--client-secret-file",
        type=Path,
        default=None,
        help="read the client secret from this file (- for standard input) instead of $DAP_CLIENT_SECRET; "
        "there is no flag for the value itself, which `ps` would show",
    )
    parser.add_argument("--client-secret", nargs="?", action=_RefusedSecretFlag, help=argparse.SUPPRESS)


def _add_foreign_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-foreign-db",
        action="store_true",
        help="write into a DuckDB file that holds tables but no cd2_meta schema (refused by default)",
    )


def read_secret_file(path: Path) -> str:
    """The first line of ``path`` (``-``: standard input), stripped; a clear error if unreadable or empty."""
    try:
        text = sys.stdin.readline() if str(path) == "-" else path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read the client secret file {path}: {exc.strerror or exc}", "check --client-secret-file"
        ) from None
    lines = text.splitlines()
    secret = lines[0].strip() if lines else ""
    if not secret:
        raise UsageError(f"the client secret file {path} is empty", "put the secret on its first line")
    return secret


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--log-format", choices=("plain", "json"), default="plain", help="log line format")
    parser.add_argument(
        "--progress",
        choices=("auto", "always", "never"),
        default="auto",
        help="progress bars (auto: only on a terminal)",
    )


def _client_secret(args: argparse.Namespace) -> str | None:
    """The client secret from --client-secret-file, else None (the environment is read later)."""
    path = getattr(args, "client_secret_file", None)
    return read_secret_file(path) if path is not None else None


def _client(args: argparse.Namespace, **kwargs: object) -> DapClient:
    from extract import redact
    from extract.dap.auth import Credentials
    from extract.dap.client import DapClient

    credentials = Credentials.from_env(args.base_url, args.client_id, _client_secret(args))
    redact.register(credentials.client_secret)
    return DapClient(credentials, **kwargs)  # type: ignore[arg-type]


def _memory_limit() -> str | None:
    from extract.config import MEMORY_LIMIT_ENV, ConfigError, checked_memory_limit

    value = os.environ.get(MEMORY_LIMIT_ENV)
    try:
        return checked_memory_limit(value) if value else None
    except ConfigError as exc:
        raise UsageError(f"{MEMORY_LIMIT_ENV}: {exc}", f"set {MEMORY_LIMIT_ENV} to a size such as 8GB") from None


def _connect(path: Path | None, *, read_only: bool = False, allow_foreign: bool = False) -> duckdb.DuckDBPyConnection:
    from extract.config import duckdb_settings
    from extract.database import open_database

    memory_limit = _memory_limit()  # checked for every command: a bad value is named at once
    settings = {} if read_only else duckdb_settings(memory_limit)
    return open_database(path or default_db_path(), read_only=read_only, config=settings, allow_foreign=allow_foreign)


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
        client_secret=read_secret_file(args.client_secret_file) if args.client_secret_file else DEFAULT_CLIENT_SECRET,
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
    from extract.sync.selection import resolve_tables

    namespaces: list[str] = []
    for item in args.namespace or ["canvas,canvas_logs"]:
        namespaces += [n.strip() for n in item.split(",") if n.strip()]
    wanted = [t.strip() for t in args.table.split(",") if t.strip()]
    return resolve_tables(
        client,
        namespaces,
        None if wanted == ["all"] else wanted,
        namespace_fix="use e.g. --namespace canvas (`cd2 list --namespace canvas` shows its tables)",
        table_fix="give table names or 'all' (`cd2 list` shows the tables the API offers)",
    )


def _cmd_sync(args: argparse.Namespace) -> int:
    from rich.console import Console

    from extract.dap.transport import RetryPolicy
    from extract.database import check_openable
    from extract.sync.progress import LogReporter, Reporter, RichReporter
    from extract.sync.runner import SyncOptions, SyncRunner, work_dir_for
    from extract.writer_lock import hold_writer

    console = Console(stderr=True)
    use_bars = args.progress == "always" or (args.progress == "auto" and console.is_terminal)
    if use_bars:
        logging.getLogger().setLevel(logging.WARNING if not args.verbose else logging.DEBUG)
    reporter: Reporter = RichReporter(console) if use_bars else LogReporter()
    client = _client(
        args,
        retry=RetryPolicy(max_attempts=args.max_retries),
        limits={} if args.no_rate_limit else None,
    )
    db_path = args.db or default_db_path()
    try:
        # A new database is created only once the tables are known: a bad name creates nothing.
        check_openable(db_path, read_only=False)  # a folder or a read-only file: before the lock file exists
        tables = None if db_path.exists() else _selected_tables(args, client)
        with hold_writer(db_path, "cd2 sync"):
            # A locked, read-only or foreign file stops the sync before any API call.
            con = _connect(db_path, allow_foreign=args.allow_foreign_db)
            try:
                if tables is None:
                    tables = _selected_tables(args, client)
                options = SyncOptions(
                    tables=tables,
                    fmt=args.format,
                    concurrency=args.concurrency,
                    download_concurrency=args.download_concurrency,
                    auto_resnapshot=args.auto_resnapshot,
                    work_dir=work_dir_for(db_path),
                )
                reporter.start(len(tables))
                try:
                    report = SyncRunner(client, con, options, reporter).run()
                finally:
                    reporter.stop()
                report.checkpoint(con)
            finally:
                con.close()
    finally:
        client.close()
    _print_sync_summary(report, console)
    return EXIT_OK if report.ok else EXIT_FAILED


def _print_sync_summary(report: SyncReport, console: Console) -> None:
    ok = [r for r in report.results if r.status == "ok"]
    rows = sum(r.rows for r in ok)
    megabytes = sum(r.bytes for r in ok) / 1e6
    snapshots = sum(1 for r in ok if r.kind == "snapshot")
    console.print(
        f"sync: {len(ok)} tables ok ({snapshots} snapshots), {len(report.failed)} failed; "
        f"{rows:,} rows, {megabytes:,.1f} MB in {report.seconds:,.1f}s",
        highlight=False,
        markup=False,
    )
    for line in report.failure_lines():
        console.print(line, highlight=False, markup=False, soft_wrap=True)


def _cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from extract import config as cfg
    from extract import redact
    from extract.database import check_openable, open_database
    from extract.pseudonym import SECRET_ENV
    from extract.run import format_summary, run_all
    from extract.sync.progress import LogReporter, Reporter, RichReporter

    if not (args.project_dir / "dbt_project.yml").is_file():
        raise UsageError(
            f"{args.project_dir} holds no dbt_project.yml", "run from the project folder or pass --project-dir"
        )
    environ = dict(os.environ)
    if args.config is not None:
        environ["CD2_CONFIG"] = str(args.config)
    try:
        config = cfg.load(args.project_dir, environ)
    except cfg.ConfigError as exc:
        raise UsageError(str(exc), "fix the value (see cd2.yml's comments for each key)") from None
    if args.db is not None:
        config.db = args.db
    if args.no_docs:
        config.dbt.docs = False
    if args.build_all:
        config.dbt.skip_unchanged = False
    if args.no_publish:
        config.publish = False
    if not os.environ.get(SECRET_ENV, ""):
        raise UsageError(
            f"{SECRET_ENV} is not set",
            "the marts replace user ids with an HMAC keyed by it: set it to a long random value kept like a "
            "password (the same value every run, or user keys change)",
        )
    client = None if args.skip_sync else _client(args, limits={} if args.no_rate_limit else None)
    check_openable(config.db, read_only=False)  # a folder or a read-only file: before the lock file exists
    console = Console(stderr=True)
    use_bars = args.progress == "always" or (args.progress == "auto" and console.is_terminal)
    reporter: Reporter = RichReporter(console) if use_bars else LogReporter()

    def check_database() -> None:
        # Under the writer lock (taken by run_all), before any API call: a locked, read-only or
        # foreign database stops the round.
        read_only = args.skip_sync and config.db.exists()
        open_database(config.db, read_only=read_only, allow_foreign=args.allow_foreign_db).close()

    try:
        summary = run_all(
            client,
            config,
            reporter,
            args.project_dir,
            skip_sync=args.skip_sync,
            publish_to=config.publish,
            before=check_database,
        )
    finally:
        if client is not None:
            client.close()
    for line in format_summary(summary):
        console.print(redact.one_line(line, limit=2000), highlight=False, markup=False, soft_wrap=True)
    return EXIT_OK if summary.ok else EXIT_FAILED


def _cmd_import(args: argparse.Namespace) -> int:
    from extract.database import check_openable
    from extract.sync.importer import ImportPlanError, import_files, plan_import
    from extract.writer_lock import hold_writer

    try:
        plan = plan_import(args.directory, args.namespace, args.table, args.schema_file)
    except ImportPlanError as exc:
        raise UsageError(str(exc), "nothing was imported") from None
    db_path = args.db or default_db_path()
    check_openable(db_path, read_only=False)
    with hold_writer(db_path, "cd2 import"):
        con = _connect(db_path, allow_foreign=args.allow_foreign_db)
        try:
            result, watermark = import_files(con, plan, args.kind, args.csv_null, allow_older=args.allow_older)
        except ImportPlanError as exc:
            raise UsageError(str(exc), "nothing was imported") from None
        finally:
            con.close()
    if result is None or watermark is None:
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

    from extract.redact import one_line
    from extract.status import open_for_status, table_statuses

    _memory_limit()  # a bad value is named, whichever command reads it
    con, note = open_for_status(args.db or default_db_path())
    try:
        statuses = table_statuses(con)
    finally:
        con.close()
    if note:
        print(note, file=sys.stderr)
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
            one_line(s.last_error, limit=80),
        )
    Console().print(table, markup=False, highlight=False)
    return EXIT_OK


def _cmd_list(args: argparse.Namespace) -> int:
    from extract.names import is_safe_name, shown

    with _client(args) as client:
        for name in client.list_tables(args.namespace):
            print(name if is_safe_name(name) else shown(name))
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
        from extract.database import check_openable
        from extract.dbtgen.db_schemas import schemas_with_db

        check_openable(args.db, read_only=True)
        schemas = schemas_with_db(args.db)
    files = codegen.generated_files(schemas)
    if args.check:
        outdated = codegen.stale(args.project_dir, files)
        for path in outdated:
            print(f"out of date: {path}", file=sys.stderr)
        if outdated:
            print("run `cd2 codegen` and commit the result", file=sys.stderr)
            return EXIT_FAILED
        print(f"{len(files)} generated files are up to date")
        return EXIT_OK
    written = codegen.write(args.project_dir, files)
    print(f"wrote {len(written)} of {len(files)} generated files")
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace) -> int:
    from extract.demo import run_demo

    return run_demo(args.profile, args.seed, args.data_dir)


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
        return int(handler(args))
    except BaseException as exc:  # every failure ends here as one line and an exit code
        if args.debug and not isinstance(exc, SystemExit | KeyboardInterrupt):
            logging.getLogger("cd2").exception("traceback (--debug)")
        code, line = describe_failure(exc)
        if line:
            print(f"cd2 {args.command}: {redact.one_line(line, limit=1000)}", file=sys.stderr)
        return code
    finally:
        os.umask(previous_umask)


def describe_failure(exc: BaseException) -> tuple[int, str | None]:
    """The exit code and the one line for an exception that ended a command."""
    import duckdb

    from extract.config import ConfigError
    from extract.dap import errors
    from extract.dap.auth import ApiUnreachableError
    from extract.landing.diskfull import DiskFullError
    from extract.names import UnsafeNameError, UnsafePathError

    if isinstance(exc, SystemExit):
        code = exc.code if isinstance(exc.code, int) else (EXIT_OK if exc.code is None else EXIT_FAILED)
        return code, None if isinstance(exc.code, int | None) else str(exc.code)
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted; what had committed stays, a re-run goes on from there"
    if isinstance(exc, CliError):
        return exc.exit_code, exc.line()
    if isinstance(exc, ConfigError):
        return EXIT_USAGE, f"{exc}; fix the value"
    if isinstance(exc, errors.AuthenticationError):
        return EXIT_CANNOT_START, f"{exc}; check DAP_CLIENT_ID and the client secret"
    if isinstance(exc, errors.AccountError):
        return EXIT_CANNOT_START, f"the DAP API refused the account: {exc}; ask your Canvas admin or Instructure"
    if isinstance(exc, ApiUnreachableError):
        return EXIT_CANNOT_START, f"{exc}; check DAP_API_URL and the network"
    if isinstance(exc, errors.ServerError | errors.RateLimitedError):
        return EXIT_CANNOT_START, f"the DAP API did not answer usefully: {exc}; check DAP_API_URL, try again later"
    if isinstance(exc, errors.NotFoundError | errors.ValidationError):
        return EXIT_USAGE, f"the DAP API says: {exc}; check the namespace and table names (`cd2 list`)"
    if isinstance(exc, errors.DapError):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, UnsafePathError):
        return EXIT_USAGE, f"{exc}; put the DuckDB file in a folder of its own (--db / CD2_DB)"
    if isinstance(exc, UnsafeNameError):
        return EXIT_FAILED, str(exc)
    if isinstance(exc, DiskFullError):
        return EXIT_FAILED, exc.line()
    if isinstance(exc, duckdb.Error):
        return EXIT_FAILED, f"DuckDB: {' '.join(str(exc).split())}; run again with --debug for details"
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return EXIT_FAILED, f"the disk is full ({exc.filename or 'writing'}); free space and run again"
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename else ""
        return EXIT_CANNOT_START, f"{exc.strerror or exc}{where}; check the path and its permissions"
    return EXIT_INTERNAL, (
        f"unexpected error {type(exc).__name__}: {exc}; run again with --debug and report the traceback"
    )


if __name__ == "__main__":
    sys.exit(main())
