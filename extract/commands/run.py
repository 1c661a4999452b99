"""``cd2 run``: the scheduled round (``extract.run.run_all``): sync, dbt build, docs, the read copy.

With a PostgreSQL target (``--target``), the round over the tables ``dap syncdb`` keeps
(``extract.run_postgres``): no sync, no DuckDB file."""

from __future__ import annotations

import argparse

from rich.console import Console

from extract import redact
from extract.commands.common import api_client, progress_reporter, settings_for
from extract.database import check_openable, open_database
from extract.failures import EXIT_FAILED, EXIT_OK, UsageError
from extract.postgres import target_type
from extract.pseudonym import SECRET_ENV
from extract.run import RunSummary, format_summary, run_all
from extract.run_postgres import run_over_dap


def main(args: argparse.Namespace) -> int:
    if not (args.project_dir / "dbt_project.yml").is_file():
        raise UsageError(
            f"{args.project_dir} holds no dbt_project.yml", "run from the project folder or pass --project-dir"
        )
    settings = settings_for(args)
    if not settings.pseudonym_secret:
        raise UsageError(
            f"{SECRET_ENV} is not set",
            "the marts replace user ids with an HMAC keyed by it: set it to a long random value kept like a "
            "password (the same value every run, or user keys change)",
        )
    if settings.lake is not None:
        raise UsageError(
            f"lake is set ({settings.origin('lake')}): cd2 run builds the DuckDB file",
            "sync the lake with `cd2 sync --lake`, then build it with `dbt build --target spark`",
        )
    console = Console(stderr=True)
    if target_type(args.project_dir, settings.dbt.target) == "postgres":
        return _report(console, run_over_dap(settings, args.project_dir))
    client = None if args.skip_sync else api_client(settings)
    check_openable(settings.db, read_only=False)  # a folder or a read-only file: before the lock file exists
    reporter = progress_reporter(console, args.progress)

    def check_database() -> None:
        # Under the writer lock (taken by run_all), before any API call: a locked, read-only or
        # foreign database stops the round.
        read_only = args.skip_sync and settings.db.exists()
        open_database(settings.db, read_only=read_only, allow_foreign=settings.allow_foreign_db).close()

    try:
        summary = run_all(
            client,
            settings,
            reporter,
            args.project_dir,
            skip_sync=args.skip_sync,
            publish_to=settings.publish,
            before=check_database,
        )
    finally:
        if client is not None:
            client.close()
    return _report(console, summary)


def _report(console: Console, summary: RunSummary) -> int:
    for line in format_summary(summary):
        console.print(redact.one_line(line, limit=2000), highlight=False, markup=False, soft_wrap=True)
    return EXIT_OK if summary.ok else EXIT_FAILED
