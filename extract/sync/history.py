"""What a destination remembers of each table, read once as a sync starts: its watermark, its last
attempt, and how long its latest jobs took. The plan orders job creation by it (``order``) and the
cadence decides from it which tables are due (``extract.cadence``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from extract.landing.tables import META_SCHEMA

SNAPSHOT, INCREMENTAL = "snapshot", "incremental"


@dataclass(frozen=True)
class JobRecord:
    """The job of one committed batch: from its POST to its completion (``job_finished_at -
    started_at``; a poll interval at most later than the server finished it), and its rows."""

    seconds: float
    rows: int
    batch_id: int


@dataclass(frozen=True)
class TableHistory:
    watermark: datetime | None = None
    last_success_at: datetime | None = None
    last_status: str | None = None  # ok | failed
    jobs: Mapping[str, JobRecord] = field(default_factory=dict)  # the latest per kind

    @property
    def next_kind(self) -> str:
        return INCREMENTAL if self.watermark is not None else SNAPSHOT

    def expected_job(self) -> JobRecord | None:
        """The latest job of the kind the next sync runs, else the latest of any kind."""
        if self.next_kind in self.jobs:
            return self.jobs[self.next_kind]
        return max(self.jobs.values(), key=lambda j: j.batch_id, default=None)


def duckdb_history(con: duckdb.DuckDBPyConnection) -> dict[str, TableHistory]:
    """Per ``namespace.table``: the history kept in ``cd2_meta`` (empty before the first batch)."""
    try:
        states = con.execute(
            f"SELECT namespace, table_name, watermark, last_success_at, last_status FROM {META_SCHEMA}.table_state"
        ).fetchall()
        jobs = con.execute(
            f"""
            SELECT namespace, table_name, kind, date_diff('millisecond', started_at, job_finished_at) / 1000.0,
                   coalesce(rows, 0), batch_id
            FROM {META_SCHEMA}.batches
            WHERE status = 'committed' AND started_at IS NOT NULL AND job_finished_at IS NOT NULL
            QUALIFY row_number() OVER (PARTITION BY namespace, table_name, kind ORDER BY batch_id DESC) = 1
            """
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    return _histories(states, jobs)


def lake_history(records: Iterable[Mapping[str, Any]]) -> dict[str, TableHistory]:
    """The same history from a lake's batch records (``extract.lake.state.LakeState.records``)."""
    from extract.lake.meta import table_state

    records = sorted(records, key=lambda r: int(r["batch_id"]))
    states = [
        (s["namespace"], s["table_name"], s["watermark"], s["last_success_at"], s["last_status"])
        for s in table_state(records)
    ]
    latest: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    for r in records:
        if r["status"] == "committed" and r.get("started_at") and r.get("job_finished_at"):
            seconds = (r["job_finished_at"] - r["started_at"]).total_seconds()
            key = (r["namespace"], r["table_name"], r["kind"])
            latest[key] = (*key, seconds, r.get("rows") or 0, r["batch_id"])
    return _histories(states, latest.values())


def _histories(states: Iterable[tuple[Any, ...]], jobs: Iterable[tuple[Any, ...]]) -> dict[str, TableHistory]:
    by_table: dict[str, dict[str, JobRecord]] = {}
    for namespace, table, kind, seconds, rows, batch_id in jobs:
        by_table.setdefault(f"{namespace}.{table}", {})[str(kind)] = JobRecord(
            max(0.0, float(seconds)), int(rows), int(batch_id)
        )
    return {
        f"{namespace}.{table}": TableHistory(watermark, success, status, by_table.get(f"{namespace}.{table}", {}))
        for namespace, table, watermark, success, status in states
    }
