"""``cd2 status``: per-table watermark, staleness, rows, schema version, last batch and error, and
with a cadence (``extract.cadence``) each table's interval, when it is next due and the worst
watermark age that interval allows."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from extract.cadence import Cadence, due_after, is_due
from extract.database import open_database
from extract.failures import CannotStartError, DatabaseBusyError
from extract.landing.tables import quote, raw_schema_name
from extract.redact import one_line
from extract.timeutil import iso_z, utc_now


@dataclass
class TableStatus:
    table: str
    watermark: str | None
    staleness_hours: float | None
    raw_rows: int
    schema_version: int | None
    last_batch_id: int | None
    last_kind: str | None
    last_success_at: str | None
    last_status: str | None
    last_error: str | None
    cadence: str | None = None  # the table's interval; None: synced in every round
    due: bool = True  # the next round syncs it (``extract.cadence.is_due``)
    next_due_at: str | None = None  # when its cadence makes it due again (None: every round)
    # The watermark's age when last synced plus the interval: the worst age the cadence allows
    # (a schedule adds the time from the table falling due to the next round).
    max_staleness_hours: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _iso(value: datetime | None) -> str | None:
    return iso_z(value) if value else None


def open_for_status(db: Path) -> tuple[duckdb.DuckDBPyConnection, str | None]:
    """A read-only connection for ``cd2 status`` (which never creates or changes a file) and a note
    to print. While a cd2 writer holds the working file, the copy published for readers is read:
    even a read-only open of the working file could land between a round's sync and its build and
    make the build fail."""
    from extract.database import default_published_path
    from extract.writer_lock import writer_busy

    copy = default_published_path(db)
    busy = writer_busy(db)
    if not busy:
        try:
            return open_database(db, read_only=True), None
        except DatabaseBusyError:
            pass  # another program has it open: the published copy it is
    if not copy.is_file():
        raise CannotStartError(
            f"{db} is being written by a round and no read copy has been published yet ({copy})",
            "run `cd2 status` again when the round has finished",
        )
    note = f"{db} is being written by a round; showing the copy published for readers at the last round's end, {copy}"
    return open_database(copy, read_only=True), note


def open_lake_for_status(lake: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory connection with the lake's tables as views (``extract.lake.duckdb_views``):
    reading a lake needs no lock, a batch being written is invisible."""
    from extract.lake.duckdb_views import create_lake_views
    from extract.lake.layout import LakeLayout

    if not lake.is_dir():
        raise CannotStartError(f"no lake at {lake}", "give the folder `cd2 sync --lake` writes")
    con = duckdb.connect()
    create_lake_views(con, LakeLayout(lake))
    return con


def table_statuses(
    con: duckdb.DuckDBPyConnection, cadence: Cadence | None = None, now: datetime | None = None
) -> list[TableStatus]:
    try:
        rows = con.execute(
            """
            SELECT namespace, table_name, watermark, schema_version, last_batch_id, last_kind,
                   last_success_at, last_status, last_error
            FROM cd2_meta.table_state ORDER BY namespace, table_name
            """
        ).fetchall()
    except duckdb.CatalogException:
        return []
    raw_tables = {
        (str(s), str(t))
        for s, t in con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
    }
    now = now or utc_now()
    out: list[TableStatus] = []
    for ns, table, watermark, version, batch, kind, success, status, error in rows:
        raw = (raw_schema_name(ns), table)
        count = 0
        if raw in raw_tables:
            found = con.execute(f"SELECT count(*) FROM {quote(raw[0])}.{quote(table)}").fetchone()
            count = int(found[0]) if found else 0
        out.append(
            TableStatus(
                table=f"{ns}.{table}",
                watermark=_iso(watermark),
                staleness_hours=round((now - watermark).total_seconds() / 3600, 2) if watermark else None,
                raw_rows=count,
                schema_version=version,
                last_batch_id=batch,
                last_kind=kind,
                last_success_at=_iso(success),
                last_status=status,
                last_error=one_line(error) if error else None,
                **_cadence_fields(cadence, f"{ns}.{table}", watermark, success, status, now),
            )
        )
    return out


def _cadence_fields(
    cadence: Cadence | None,
    qname: str,
    watermark: datetime | None,
    success: datetime | None,
    status: str | None,
    now: datetime,
) -> dict[str, Any]:
    rule = cadence.rule_for(qname) if cadence else None
    if rule is None:
        return {}
    worst = None
    if watermark is not None and success is not None:
        worst = round(((success - watermark).total_seconds() / 3600) + rule.hours, 2)
    return {
        "cadence": rule.text,
        "due": is_due(rule, success, status, now),
        "next_due_at": _iso(due_after(rule, success)) if success is not None and status == "ok" else None,
        "max_staleness_hours": worst,
    }
