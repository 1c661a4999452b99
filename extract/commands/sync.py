"""``cd2 sync``: the sync step of ``cd2 run`` (``extract.run.run_sync_step``) on its own."""

from __future__ import annotations

import argparse

from rich.console import Console

from extract.commands.common import api_client, progress_reporter, settings_for
from extract.database import check_openable
from extract.failures import EXIT_FAILED, EXIT_OK
from extract.run import run_sync_step, select_tables
from extract.sync.results import SyncReport
from extract.writer_lock import hold_writer


def main(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    console = Console(stderr=True)
    reporter = progress_reporter(console, args.progress, quiet_logs=not args.verbose)
    client = api_client(settings)
    written = settings.lake if settings.lake is not None else settings.db
    try:
        if settings.lake is None:
            check_openable(settings.db, read_only=False)  # a folder or a read-only file: before the lock file exists
        # A new database or lake (and its lock file) is created only once the tables are known: a bad name
        # creates nothing.
        tables = None if written.exists() else select_tables(client, settings)
        with hold_writer(written, "cd2 sync"):
            report = run_sync_step(client, settings, reporter, tables=tables)
    finally:
        client.close()
    print_sync_summary(report, console)
    return EXIT_OK if report.ok else EXIT_FAILED


def print_sync_summary(report: SyncReport, console: Console) -> None:
    ok = [r for r in report.results if r.status == "ok"]
    rows = sum(r.rows for r in ok)
    megabytes = sum(r.bytes for r in ok) / 1e6
    snapshots = sum(1 for r in ok if r.kind == "snapshot")
    skipped = f", {len(report.skipped)} skipped (not due by their cadence)" if report.skipped else ""
    console.print(
        f"sync: {len(ok)} tables ok ({snapshots} snapshots), {len(report.failed)} failed{skipped}; "
        f"{rows:,} rows, {megabytes:,.1f} MB in {report.seconds:,.1f}s",
        highlight=False,
        markup=False,
    )
    for line in report.failure_lines():
        console.print(line, highlight=False, markup=False, soft_wrap=True)
