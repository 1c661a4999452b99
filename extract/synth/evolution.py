"""Schema evolution, server-side reloads and NULLs in "required" columns, one table at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import duckdb

from extract.schema import Column, TableSchema
from extract.synth.advance import window_start
from extract.synth.profiles import Profile
from extract.synth.rand import Rand
from extract.synth.rows import quote
from extract.synth.store import ChangeFile, Store

WEB_LOGS_RETENTION = timedelta(days=30)
TICK = timedelta(milliseconds=1)


def added_column_name(store: Store, qname: str) -> str:
    return f"cd2_synth_added_{len(store.schema_versions(qname))}"


def bump_schema(store: Store, qname: str, column: Column | None = None) -> int:
    """Add ``column`` (default: a new nullable int64 or string column) just after now."""
    if column is None:
        name = added_column_name(store, qname)
        column = (
            Column(name=name, type="integer", format="int64")
            if len(store.schema_versions(qname)) % 2
            else Column(name=name, type="string", max_length=255)
        )
    at = window_start(store) + TICK
    version = store.bump_schema(qname, column, at)
    store.commit(store.now, record=False)  # persist the manifest; the clock stays
    return version


def relax_schema(store: Store, qname: str, columns: Sequence[str] | None = None) -> int:
    """A version bump just after now that only makes ``columns`` nullable (default: every value
    column the schema in force calls required), like CD2's 2026-04-27 fix of 25 tables."""
    names = list(columns) if columns is not None else [c.name for c in store.schema(qname).required_value_columns]
    at = window_start(store) + TICK
    version = store.relax_schema(qname, names, at)
    store.commit(store.now, record=False)  # persist the manifest; the clock stays
    return version


def base_required_columns(store: Store, qname: str) -> list[str]:
    """Value columns the table's first schema version calls required (``value.required``)."""
    return [c.name for c in store.schema(qname, datetime.min).required_value_columns]


def null_required(
    store: Store, profile: Profile, qname: str, columns: Sequence[str] | None = None, rows: int = 20
) -> datetime:
    """Re-send up to ``rows`` live rows of ``qname`` just after now with ``columns`` NULL (default:
    every value column the first schema version calls required), in one commit; returns its time.

    Before 2026-04-27 CD2 held such rows while its export silently dropped them: a server that
    serves them shows whether a client keeps them. The rows are picked by a hash of the key, so
    the same store state always picks the same rows.
    """
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows!r}")
    schema = store.schema(qname)
    names = list(columns) if columns is not None else base_required_columns(store, qname)
    _check_value_columns(schema, names)
    at = window_start(store) + TICK
    key_columns = [quote(k) for k in schema.primary_key]
    keys = ", ".join(key_columns)
    nulls = ", ".join(f"NULL AS {quote(n)}" for n in names)
    rand = Rand(store.seed, salt=f"nulls{len(store.commits)}:{qname}:")
    select = f"""
        SELECT TIMESTAMP '{at.isoformat(sep=" ")}' AS meta_ts, 'U' AS meta_action,
               * EXCLUDE (meta_ts) REPLACE ({nulls})
        FROM ({store.truth_sql(qname)})
        ORDER BY {rand.h("nulls.pick", *key_columns)}, {keys} LIMIT {int(rows)}
    """
    if _write_changes(store, profile, qname, select) is None:
        raise ValueError(f"{qname} has no live rows to re-send with NULLs")
    store.commit(at)
    return at


def late_rows(store: Store, profile: Profile, qname: str, rows: int = 20, older_than_hours: float = 24) -> datetime:
    """Commit, just after now, ``rows`` new records of ``qname`` whose event ``timestamp`` lies at
    least ``older_than_hours`` in the past: copies of live rows that old under new keys, as CD2
    delivers requests logged late (a batch's rows are not confined to its window's hours).
    Returns the commit time. For tables with one string key and a ``timestamp`` column
    (``canvas_logs.web_logs``)."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, got {rows!r}")
    schema = store.schema(qname)
    if len(schema.primary_key) != 1:
        raise ValueError(f"{qname}: late rows need a table with one key column")
    key_column = schema.column(schema.primary_key[0])
    key = quote(key_column.name)
    at = window_start(store) + TICK
    before = at - timedelta(hours=older_than_hours)
    batch = len(store.commits)
    rand = Rand(store.seed, salt=f"late{batch}:{qname}:")
    # a new key derived from the old one (web_logs ids are UUIDs: an md5 is 128 bits too)
    new_key = f"CAST(md5(CAST({key} AS VARCHAR) || '-late{batch}') AS {key_column.duckdb_type()})"
    select = f"""
        SELECT TIMESTAMP '{at.isoformat(sep=" ")}' AS meta_ts, 'U' AS meta_action,
               * EXCLUDE (meta_ts) REPLACE ({new_key} AS {key})
        FROM ({store.truth_sql(qname)})
        WHERE "timestamp" < TIMESTAMP '{before.isoformat(sep=" ")}'
        ORDER BY {rand.h("late.pick", key)}, {key} LIMIT {int(rows)}
    """
    if _write_changes(store, profile, qname, select) is None:
        raise ValueError(f"{qname} has no live rows older than {older_than_hours} h to send late")
    store.commit(at)
    return at


def _check_value_columns(schema: TableSchema, names: Sequence[str]) -> None:
    if not names:
        raise ValueError(f"{schema.qualified_name}: name at least one column to set to NULL")
    for name in names:
        schema.value_column(name)


def _write_changes(store: Store, profile: Profile, qname: str, select_sql: str) -> ChangeFile | None:
    """``store.write_changes`` through a scratch DuckDB connection within the profile's memory."""
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{profile.memory_limit}'")
        return store.write_changes(qname, con, select_sql)
    finally:
        con.close()


def reload(store: Store, profile: Profile, qname: str, drop_fraction: float = 0.01) -> datetime:
    """Re-stamp every live row at one time just after now; silently drop ~``drop_fraction`` ('X')."""
    if not 0 <= drop_fraction <= 1:
        raise ValueError(f"drop_fraction must be within [0, 1], got {drop_fraction}")
    at = window_start(store) + TICK
    schema = store.schema(qname)
    keys = ", ".join(quote(k) for k in schema.primary_key)
    cols = ", ".join(quote(c.name) for c in schema.columns)
    rand = Rand(store.seed, salt=f"reload{len(store.commits)}:{qname}:")
    retained = store.now - WEB_LOGS_RETENTION if qname == "canvas_logs.web_logs" else None
    dropped = rand.chance(drop_fraction, "reload.drop", keys)
    select = f"""
        SELECT TIMESTAMP '{at.isoformat(sep=" ")}' AS meta_ts,
               CASE WHEN {dropped} THEN 'X' ELSE 'U' END AS meta_action, {cols}
        FROM ({store.truth_sql(qname, min_ts=retained)})
    """
    _write_changes(store, profile, qname, select)
    store.mark_reload(qname, at)
    store.commit(at)
    return at
