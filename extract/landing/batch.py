"""Land one completed query job as one batch, in one DuckDB transaction.

The rows appended to ``raw_<ns>.<table>``, the batch-log row, the table's new watermark and
schema version, and the schema JSON commit together or not at all: a crash at any point
leaves either the whole batch or none of it, and a re-run starts from the old watermark.

A full disk ends as a ``DiskFullError`` (``diskfull.py``) naming what could not be written and
about how much room it needs; a failing ROLLBACK never hides the error that caused it; and
``checkpoint`` makes a checkpoint that fails (which ``close()`` would swallow) an error.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from extract.landing.diskfull import (
    DiskFullError,
    checkpoint_full,
    database_file,
    is_disk_full,
    landing_full,
)
from extract.landing.readers import allowing_huge_records, select_for
from extract.landing.tables import META_SCHEMA, ensure_meta, ensure_raw_table, quote, raw_table_name
from extract.schema import TableSchema
from extract.timeutil import utc_now

log = logging.getLogger(__name__)

__all__ = ["BatchResult", "BatchSpec", "DiskFullError", "checkpoint", "land_batch", "record_failure"]


@dataclass
class BatchSpec:
    """What is needed to land one job's files."""

    schema: TableSchema
    kind: str  # snapshot | incremental
    reason: str  # initial | scheduled | resnapshot: <why> | import
    fmt: str
    files: Sequence[Path]
    watermark: datetime
    job_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    snapshot_at: datetime | None = None
    bytes: int = 0
    started_at: datetime | None = None
    job_finished_at: datetime | None = None
    downloaded_at: datetime | None = None
    parquet_columns: Sequence[str] = field(default_factory=tuple)
    csv_null: str | None = None


@dataclass(frozen=True)
class BatchResult:
    batch_id: int
    rows: int
    upserts: int
    deletes: int
    added_columns: tuple[str, ...]


def land_batch(con: duckdb.DuckDBPyConnection, spec: BatchSpec) -> BatchResult:
    """Append the job's rows and advance the table's state, atomically (a batch with a record too
    long for the readers' usual buffers is rolled back and read again with room for it).

    Raises ``DiskFullError`` if the disk (or DuckDB's temporary directory) is full."""
    try:
        return allowing_huge_records(lambda huge: _land(con, spec, huge))
    except duckdb.Error as exc:
        if is_disk_full(exc):
            raise landing_full(con, exc, spec.files) from exc
        raise


def checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Write the write-ahead log into the database file now.

    ``close()`` checkpoints too, but swallows a failure: a run on a full disk then reports
    success while its file cannot be checkpointed. Raises ``DiskFullError`` on a full disk
    (the committed batches stay safe in the WAL), other DuckDB errors as they are."""
    db_file = database_file(con)
    try:
        con.execute("CHECKPOINT")
    except duckdb.Error as exc:
        if is_disk_full(exc):
            raise checkpoint_full(db_file, exc) from exc
        raise


def _rollback(con: duckdb.DuckDBPyConnection, error: BaseException) -> None:
    """Roll back after ``error`` without replacing it: when a COMMIT fails (e.g. a full disk), the
    transaction is already gone and ROLLBACK fails with "no transaction is active"."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error as rollback_error:
        log.debug("ROLLBACK after %s failed too: %s", type(error).__name__, rollback_error)
        error.add_note(f"(the ROLLBACK after it failed too: {rollback_error})")


def _land(con: duckdb.DuckDBPyConnection, spec: BatchSpec, huge_records: bool) -> BatchResult:
    schema = spec.schema
    reader = select_for(
        schema,
        spec.fmt,
        spec.files,
        parquet_columns=spec.parquet_columns,
        csv_null=spec.csv_null,
        huge_records=huge_records,
    )
    ensure_meta(con)
    con.execute("BEGIN TRANSACTION")
    try:
        added = ensure_raw_table(con, schema)
        row = con.execute(f"SELECT nextval('{META_SCHEMA}.batch_id_seq')").fetchone()
        assert row is not None
        batch_id = int(row[0])
        loaded_at = utc_now()
        columns = ", ".join(quote(c.name) for c in schema.columns)
        con.execute(
            f"""
            INSERT INTO {raw_table_name(schema)}
                ({columns}, _meta_ts, _meta_action, _batch_id, _loaded_at, _schema_version)
            SELECT {columns}, _meta_ts, _meta_action, ?, ?, ? FROM ({reader})
            """,
            [batch_id, loaded_at, schema.version],
        )
        counts = dict(
            con.execute(
                f"SELECT _meta_action, count(*) FROM {raw_table_name(schema)} WHERE _batch_id = ? GROUP BY 1",
                [batch_id],
            ).fetchall()
        )
        upserts, deletes = int(counts.get("U", 0)), int(counts.get("D", 0))
        unexpected = set(counts) - {"U", "D"}
        if unexpected:
            raise ValueError(f"{schema.qualified_name}: unexpected meta.action values {sorted(unexpected)}")
        finished = utc_now()
        con.execute(
            f"""
            INSERT INTO {META_SCHEMA}.batches (batch_id, namespace, table_name, kind, reason, status, job_id, format,
                since, until, snapshot_at, watermark, schema_version, files, bytes, rows, upserts, deletes,
                started_at, job_finished_at, downloaded_at, finished_at)
            VALUES (?, ?, ?, ?, ?, 'committed', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                batch_id,
                schema.namespace,
                schema.name,
                spec.kind,
                spec.reason,
                spec.job_id,
                spec.fmt,
                spec.since,
                spec.until,
                spec.snapshot_at,
                spec.watermark,
                schema.version,
                len(spec.files),
                spec.bytes,
                upserts + deletes,
                upserts,
                deletes,
                spec.started_at,
                spec.job_finished_at,
                spec.downloaded_at,
                finished,
            ],
        )
        con.execute(
            f"""
            INSERT INTO {META_SCHEMA}.table_state (namespace, table_name, watermark, schema_version, last_batch_id,
                last_kind, last_success_at, last_attempt_at, last_status, last_error)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'ok', NULL)
            ON CONFLICT (namespace, table_name) DO UPDATE SET
                watermark = excluded.watermark, schema_version = excluded.schema_version,
                last_batch_id = excluded.last_batch_id, last_kind = excluded.last_kind,
                last_success_at = excluded.last_success_at, last_attempt_at = excluded.last_attempt_at,
                last_status = 'ok', last_error = NULL
            """,
            [
                schema.namespace,
                schema.name,
                spec.watermark,
                schema.version,
                batch_id,
                spec.kind,
                finished,
                finished,
            ],
        )
        con.execute(
            f"""
            INSERT INTO {META_SCHEMA}.schema_versions
                (namespace, table_name, schema_version, schema_json, first_seen_at)
            VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
            """,
            [schema.namespace, schema.name, schema.version, json.dumps(schema.to_dap_schema()), finished],
        )
        con.execute("COMMIT")
    except BaseException as exc:
        _rollback(con, exc)
        raise
    return BatchResult(batch_id, upserts + deletes, upserts, deletes, tuple(added))


def record_failure(
    con: duckdb.DuckDBPyConnection,
    namespace: str,
    table: str,
    *,
    kind: str,
    reason: str,
    error_type: str,
    message: str,
    job_id: str | None = None,
    fmt: str | None = None,
    started_at: datetime | None = None,
) -> None:
    """Log a failed attempt; the table's watermark and data stay as they were."""
    ensure_meta(con)
    now = utc_now()
    con.execute("BEGIN TRANSACTION")
    try:
        row = con.execute(f"SELECT nextval('{META_SCHEMA}.batch_id_seq')").fetchone()
        assert row is not None
        con.execute(
            f"""
            INSERT INTO {META_SCHEMA}.batches (batch_id, namespace, table_name, kind, reason, status, job_id, format,
                started_at, finished_at, error_type, error_message)
            VALUES (?, ?, ?, ?, ?, 'failed', ?, ?, ?, ?, ?, ?)
            """,
            [int(row[0]), namespace, table, kind, reason, job_id, fmt, started_at, now, error_type, message],
        )
        con.execute(
            f"""
            INSERT INTO {META_SCHEMA}.table_state (namespace, table_name, last_attempt_at, last_status, last_error)
            VALUES (?, ?, ?, 'failed', ?)
            ON CONFLICT (namespace, table_name) DO UPDATE SET
                last_attempt_at = excluded.last_attempt_at, last_status = 'failed', last_error = excluded.last_error
            """,
            [namespace, table, now, f"{error_type}: {message}"],
        )
        con.execute("COMMIT")
    except BaseException as exc:
        _rollback(con, exc)
        raise
