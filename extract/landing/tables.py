"""DDL of the landing layer: ``raw_<namespace>.<table>`` change logs and ``cd2_meta`` state.

Raw tables are append-only change logs with the CD2 columns (typed from the schema; nested
objects and arrays as JSON, so schema changes inside them never break a load) plus the load
metadata ``_meta_ts``, ``_meta_action``, ``_batch_id``, ``_loaded_at``, ``_schema_version``.
Columns are only ever added, never dropped or narrowed.
"""

from __future__ import annotations

import logging
from datetime import datetime

import duckdb

from extract.names import quote_identifier
from extract.schema import Column, TableSchema

log = logging.getLogger(__name__)

META_SCHEMA = "cd2_meta"
LOAD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_meta_ts", "TIMESTAMP"),
    ("_meta_action", "VARCHAR"),
    ("_batch_id", "BIGINT"),
    ("_loaded_at", "TIMESTAMP"),
    ("_schema_version", "INTEGER"),
)

META_DDL = f"""
CREATE SCHEMA IF NOT EXISTS {META_SCHEMA};
CREATE SEQUENCE IF NOT EXISTS {META_SCHEMA}.batch_id_seq START 1;
CREATE TABLE IF NOT EXISTS {META_SCHEMA}.batches (
    batch_id BIGINT NOT NULL,
    namespace VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,             -- snapshot | incremental
    reason VARCHAR,                    -- initial | scheduled | resnapshot: <error type> | import
    status VARCHAR NOT NULL,           -- committed | failed
    job_id VARCHAR,
    format VARCHAR,
    since TIMESTAMP,
    until TIMESTAMP,
    snapshot_at TIMESTAMP,
    watermark TIMESTAMP,               -- the table's watermark after this batch
    schema_version INTEGER,
    files INTEGER,
    bytes BIGINT,
    rows BIGINT,
    upserts BIGINT,
    deletes BIGINT,
    started_at TIMESTAMP,
    job_finished_at TIMESTAMP,
    downloaded_at TIMESTAMP,
    finished_at TIMESTAMP,
    error_type VARCHAR,
    error_message VARCHAR
);
CREATE TABLE IF NOT EXISTS {META_SCHEMA}.table_state (
    namespace VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    watermark TIMESTAMP,
    schema_version INTEGER,
    last_batch_id BIGINT,
    last_kind VARCHAR,
    last_success_at TIMESTAMP,
    last_attempt_at TIMESTAMP,
    last_status VARCHAR,
    last_error VARCHAR,
    PRIMARY KEY (namespace, table_name)
);
CREATE TABLE IF NOT EXISTS {META_SCHEMA}.schema_versions (
    namespace VARCHAR NOT NULL,
    table_name VARCHAR NOT NULL,
    schema_version INTEGER NOT NULL,
    schema_json JSON NOT NULL,
    first_seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (namespace, table_name, schema_version)
);
"""


def quote(name: str) -> str:
    """A SQL identifier, quoted (names come from the API: never written into SQL bare)."""
    return quote_identifier(name)


def raw_schema_name(namespace: str) -> str:
    """The raw schema's name (``raw_canvas``): a value, for catalog lookups; ``quote`` it in SQL."""
    return f"raw_{namespace}"


def raw_table_name(schema: TableSchema) -> str:
    """The raw table as quoted SQL: ``"raw_canvas"."courses"``."""
    return f"{quote(raw_schema_name(schema.namespace))}.{quote(schema.name)}"


def landing_type(column: Column) -> str:
    """DuckDB type of a column in a raw table: nested values are kept as JSON."""
    return column.duckdb_type(nested_as_json=True)


def stored_watermark(con: duckdb.DuckDBPyConnection, schema: TableSchema) -> datetime | None:
    """The table's watermark in ``cd2_meta.table_state``; None before its first batch."""
    try:
        row = con.execute(
            f"SELECT watermark FROM {META_SCHEMA}.table_state WHERE namespace = ? AND table_name = ?",
            [schema.namespace, schema.name],
        ).fetchone()
    except duckdb.CatalogException:
        return None
    return row[0] if row else None


def ensure_meta(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(META_DDL)


def existing_columns(con: duckdb.DuckDBPyConnection, schema: TableSchema) -> dict[str, str]:
    rows = con.execute(
        """
        SELECT column_name, data_type FROM information_schema.columns
        WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position
        """,
        [raw_schema_name(schema.namespace), schema.name],
    ).fetchall()
    return {str(name): str(dtype) for name, dtype in rows}


def ensure_raw_table(con: duckdb.DuckDBPyConnection, schema: TableSchema) -> list[str]:
    """Create the raw table, or add the columns a newer schema version brought.

    Runs inside the caller's transaction. Returns the names of added columns.
    """
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(raw_schema_name(schema.namespace))}")
    present = existing_columns(con, schema)
    if not present:
        cols = [f"{quote(c.name)} {landing_type(c)}" for c in schema.columns]
        cols += [f"{name} {dtype}" for name, dtype in LOAD_COLUMNS]
        con.execute(f"CREATE TABLE {raw_table_name(schema)} ({', '.join(cols)})")
        return []
    added: list[str] = []
    for column in schema.columns:
        if column.name not in present:
            con.execute(f"ALTER TABLE {raw_table_name(schema)} ADD COLUMN {quote(column.name)} {landing_type(column)}")
            added.append(column.name)
        elif present[column.name] != landing_type(column):
            # Keep the landed type; rows are cast on insert. A mismatch is reported, not "fixed".
            log.warning(
                "%s.%s is %s in the raw table but %s in schema version %s; keeping %s",
                schema.qualified_name,
                column.name,
                present[column.name],
                landing_type(column),
                schema.version,
                present[column.name],
            )
    return added
