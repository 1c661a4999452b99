"""``cd2 status``: the per-table state (``extract.status``) as a table or JSON; read-only."""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from extract.commands.common import settings_for
from extract.failures import EXIT_OK
from extract.redact import one_line
from extract.status import TableStatus, open_for_status, open_lake_for_status, table_statuses


def main(args: argparse.Namespace) -> int:
    settings = settings_for(args)  # a bad value is named, whichever command reads it
    if settings.lake is not None:
        con, note = open_lake_for_status(settings.lake), None
    else:
        con, note = open_for_status(settings.db)
    try:
        statuses = table_statuses(con, settings.cadence)
    finally:
        con.close()
    if note:
        print(note, file=sys.stderr)
    if args.json:
        print(json.dumps([s.to_json() for s in statuses], indent=1))
    elif not statuses:
        print("no tables synced yet (run `cd2 sync`)")
    else:
        Console().print(_table(statuses, with_cadence=bool(settings.cadence)), markup=False, highlight=False)
    return EXIT_OK


def _table(statuses: list[TableStatus], with_cadence: bool = False) -> Table:
    columns = ["table", "watermark", "stale (h)", "raw rows", "schema", "last batch", "status", "last error"]
    if with_cadence:
        columns[3:3] = ["cadence", "next due", "worst (h)"]
    table = Table(*columns)
    for s in statuses:
        row = [
            s.table,
            s.watermark or "-",
            f"{s.staleness_hours:.1f}" if s.staleness_hours is not None else "-",
            f"{s.raw_rows:,}",
            str(s.schema_version or "-"),
            f"{s.last_batch_id} {s.last_kind or ''}".strip() if s.last_batch_id else "-",
            s.last_status or "-",
            one_line(s.last_error, limit=80),
        ]
        if with_cadence:
            row[3:3] = _cadence_cells(s)
        table.add_row(*row)
    return table


def _cadence_cells(s: TableStatus) -> list[str]:
    """Interval, next due (``now`` when the next round syncs it) and the worst watermark age."""
    if s.cadence is None:
        return ["every round", "now", "-"]
    next_due = "now" if s.due or s.next_due_at is None else s.next_due_at
    worst = f"{s.max_staleness_hours:.1f}" if s.max_staleness_hours is not None else "-"
    return [s.cadence, next_due, worst]
