"""Where ``cd2 sync`` lands batches: the DuckDB file (the default) or a Parquet lake.

Both keep the same contract: a batch's rows and its table's new watermark become visible
together or not at all; a failed attempt is logged and changes neither. The sync runner calls one
at a time (under its landing lock).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import duckdb

from extract.lake.state import LakeState, write_meta
from extract.lake.writer import land_to_lake, record_lake_failure
from extract.landing.batch import BatchResult, BatchSpec, checkpoint, land_batch, record_failure
from extract.landing.diskfull import is_disk_full, lake_full
from extract.landing.tables import stored_watermark
from extract.schema import TableSchema
from extract.sync.history import TableHistory, duckdb_history, lake_history


class Destination(Protocol):
    def watermark(self, schema: TableSchema) -> datetime | None: ...

    def history(self) -> dict[str, TableHistory]:
        """Per ``namespace.table``: watermark, last attempt and latest jobs (``extract.sync.history``)."""
        ...

    def land(self, spec: BatchSpec) -> BatchResult: ...

    def record_failure(
        self, namespace: str, table: str, *, kind: str, reason: str, error_type: str, message: str, fmt: str
    ) -> None: ...

    def finish(self) -> None:
        """After the last table: make everything durable (raises ``DiskFullError`` on a full disk)."""
        ...


class DuckDBDestination:
    """``raw_<namespace>.<table>`` and ``cd2_meta`` in the DuckDB file of ``con``."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def watermark(self, schema: TableSchema) -> datetime | None:
        return stored_watermark(self.con, schema)

    def history(self) -> dict[str, TableHistory]:
        return duckdb_history(self.con)

    def land(self, spec: BatchSpec) -> BatchResult:
        return land_batch(self.con, spec)

    def record_failure(
        self, namespace: str, table: str, *, kind: str, reason: str, error_type: str, message: str, fmt: str
    ) -> None:
        record_failure(
            self.con, namespace, table, kind=kind, reason=reason, error_type=error_type, message=message, fmt=fmt
        )

    def finish(self) -> None:
        checkpoint(self.con)


class LakeDestination:
    """A Parquet lake (``extract.lake``); ``con`` (in memory) reads the job files and writes Parquet."""

    def __init__(self, con: duckdb.DuckDBPyConnection, state: LakeState) -> None:
        self.con = con
        self.state = state

    def watermark(self, schema: TableSchema) -> datetime | None:
        return self.state.watermark(schema.namespace, schema.name)

    def history(self) -> dict[str, TableHistory]:
        return lake_history(self.state.records())

    def land(self, spec: BatchSpec) -> BatchResult:
        return land_to_lake(self.con, self.state, spec)

    def record_failure(
        self, namespace: str, table: str, *, kind: str, reason: str, error_type: str, message: str, fmt: str
    ) -> None:
        record_lake_failure(
            self.state, namespace, table, kind=kind, reason=reason, error_type=error_type, message=message, fmt=fmt
        )

    def finish(self) -> None:
        try:
            write_meta(self.state)
        except OSError as exc:
            if is_disk_full(exc):
                raise lake_full(self.state.layout.meta, exc, ()) from exc
            raise
