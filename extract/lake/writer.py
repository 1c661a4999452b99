"""Land one completed query job as one batch of the lake: Parquet files, then one rename.

DuckDB's own readers (``extract.landing.readers``, as for the DuckDB file) turn the job's files
into Parquet in a hidden folder; the batch's record (its row of the batch log, the table's new
watermark and the columns the files carry) is written beside them; everything is flushed to disk;
then the folder is renamed to ``batch_id=<N>``. Until that rename no reader sees any of it, and a
crash leaves only a hidden folder that the next ``cd2 sync`` removes; after it, the data and the
watermark are there together.

Columns: every batch's files carry all the columns the table ever had (a column a newer schema
version brought is added; one a newer version dropped stays, null), each keeping the type it was
first landed with, so any one file describes the table. JSON is stored as text (every engine reads
that); the record keeps the landed type.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from extract.durable import sync_file, sync_folder, write_durably
from extract.lake.layout import BATCH_RECORD, LakeLayout
from extract.lake.records import to_json
from extract.lake.state import LakeState
from extract.landing.batch import BatchResult, BatchSpec
from extract.landing.diskfull import is_disk_full, lake_full
from extract.landing.readers import allowing_huge_records, select_for
from extract.landing.tables import landing_type, quote
from extract.names import quote_literal
from extract.schema import TableSchema
from extract.timeutil import utc_now

log = logging.getLogger(__name__)

FILE_SIZE = "256MB"  # one Parquet file per this much data: several files let engines read in parallel
# landed type -> the type stored in the files: what Spark, Trino and pyarrow all read (Spark
# refuses Parquet's UUID and TIME types; JSON is text everywhere)
LAKE_TYPES = {"JSON": "VARCHAR", "UUID": "VARCHAR", "TIME": "VARCHAR"}


def lake_type(landed: str) -> str:
    return LAKE_TYPES.get(landed, landed)


def merged_columns(previous: Sequence[tuple[str, str]], schema: TableSchema) -> tuple[list[tuple[str, str]], list[str]]:
    """The columns the batch's files carry (the table's earlier ones first, in their order and
    types) and the names this schema version added."""
    known = dict(previous)
    columns = list(previous)
    added: list[str] = []
    for column in schema.columns:
        wanted = landing_type(column)
        if column.name not in known:
            columns.append((column.name, wanted))
            if previous:
                added.append(column.name)
        elif known[column.name] != wanted:
            log.warning(
                "%s.%s is %s in the lake but %s in schema version %s; keeping %s",
                schema.qualified_name,
                column.name,
                known[column.name],
                wanted,
                schema.version,
                known[column.name],
            )
    return columns, added


def land_to_lake(con: duckdb.DuckDBPyConnection, state: LakeState, spec: BatchSpec) -> BatchResult:
    """Write the job's rows as a new batch of the table and commit it (see the module's doc).

    Raises ``DiskFullError`` if the lake's disk is full; the table is then as it was."""
    schema = spec.schema
    layout = state.layout
    batch_id = state.next_batch_id()
    temp = layout.temp_dir(schema.namespace, schema.name, batch_id)
    try:
        return allowing_huge_records(lambda huge: _land(con, state, spec, batch_id, temp, huge))
    except BaseException as exc:
        shutil.rmtree(temp, ignore_errors=True)
        if is_disk_full(exc):
            raise lake_full(layout.root, exc, spec.files) from exc
        raise


def _land(
    con: duckdb.DuckDBPyConnection,
    state: LakeState,
    spec: BatchSpec,
    batch_id: int,
    temp: Path,
    huge_records: bool,
) -> BatchResult:
    schema = spec.schema
    reader = select_for(
        schema,
        spec.fmt,
        spec.files,
        parquet_columns=spec.parquet_columns,
        csv_null=spec.csv_null,
        huge_records=huge_records,
    )
    columns, added = merged_columns(state.landed_columns(schema.namespace, schema.name), schema)
    shutil.rmtree(temp, ignore_errors=True)  # a retry (huge records) starts clean
    temp.mkdir(parents=True)
    loaded_at = utc_now()
    con.execute(
        f"COPY ({_batch_select(schema, columns, reader, batch_id, loaded_at)}) TO {quote_literal(str(temp))} "
        f"(FORMAT parquet, COMPRESSION zstd, FILE_SIZE_BYTES '{FILE_SIZE}', FILENAME_PATTERN 'part-{{i}}')"
    )
    files = sorted(temp.glob("*.parquet"))
    counts = dict(
        con.execute(
            f"SELECT _meta_action, count(*) FROM read_parquet({quote_literal(str(temp / '*.parquet'))}) GROUP BY 1"
        ).fetchall()
    )
    upserts, deletes = int(counts.get("U", 0)), int(counts.get("D", 0))
    unexpected = set(counts) - {"U", "D"}
    if unexpected:
        raise ValueError(f"{schema.qualified_name}: unexpected meta.action values {sorted(unexpected)}")
    record = _record(spec, batch_id, upserts, deletes, columns)
    for path in files:
        sync_file(path)
    write_durably(temp / BATCH_RECORD, to_json(record))
    # the commit: one rename makes the files and the new watermark visible together
    final = state.layout.partition_dir(schema.namespace, schema.name, batch_id)
    temp.rename(final)
    sync_folder(final.parent)
    state.add(record)
    return BatchResult(batch_id, upserts + deletes, upserts, deletes, tuple(added))


def _batch_select(
    schema: TableSchema, columns: Sequence[tuple[str, str]], reader: str, batch_id: int, loaded_at: datetime
) -> str:
    present = {c.name for c in schema.columns}
    items = [
        f"CAST({quote(name) if name in present else 'NULL'} AS {lake_type(landed)}) AS {quote(name)}"
        for name, landed in columns
    ]
    items += [
        "_meta_ts",
        "_meta_action",
        f"CAST({int(batch_id)} AS BIGINT) AS _batch_id",
        f"CAST('{loaded_at.isoformat(sep=' ')}' AS TIMESTAMP) AS _loaded_at",
        f"CAST({int(schema.version)} AS INTEGER) AS _schema_version",
    ]
    return f"SELECT {', '.join(items)} FROM ({reader})"


def _record(
    spec: BatchSpec, batch_id: int, upserts: int, deletes: int, columns: Sequence[tuple[str, str]]
) -> dict[str, Any]:
    schema = spec.schema
    return {
        "batch_id": batch_id,
        "namespace": schema.namespace,
        "table_name": schema.name,
        "kind": spec.kind,
        "reason": spec.reason,
        "status": "committed",
        "job_id": spec.job_id,
        "format": spec.fmt,
        "since": spec.since,
        "until": spec.until,
        "snapshot_at": spec.snapshot_at,
        "watermark": spec.watermark,
        "schema_version": schema.version,
        "files": len(spec.files),
        "bytes": spec.bytes,
        "rows": upserts + deletes,
        "upserts": upserts,
        "deletes": deletes,
        "started_at": spec.started_at,
        "job_finished_at": spec.job_finished_at,
        "downloaded_at": spec.downloaded_at,
        "finished_at": utc_now(),
        "error_type": None,
        "error_message": None,
        "columns": [list(c) for c in columns],
        "schema_json": schema.to_dap_schema(),
    }


def record_lake_failure(
    state: LakeState,
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
    """Log a failed attempt (a file of its own); the table's files and watermark stay as they were."""
    layout: LakeLayout = state.layout
    batch_id = state.next_batch_id()
    record: dict[str, Any] = {
        "batch_id": batch_id,
        "namespace": namespace,
        "table_name": table,
        "kind": kind,
        "reason": reason,
        "status": "failed",
        "job_id": job_id,
        "format": fmt,
        "started_at": started_at,
        "finished_at": utc_now(),
        "error_type": error_type,
        "error_message": message,
    }
    layout.failures.mkdir(parents=True, exist_ok=True)
    write_durably(layout.failure_file(batch_id), to_json(record))
    state.add(record)
