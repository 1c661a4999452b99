"""Schema evolution and server-side reloads of one table."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb

from extract.schema import Column
from extract.synth.advance import window_start
from extract.synth.profiles import Profile
from extract.synth.rand import Rand
from extract.synth.rows import quote
from extract.synth.store import Store

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
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{profile.memory_limit}'")
        store.write_changes(qname, con, select)
    finally:
        con.close()
    store.mark_reload(qname, at)
    store.commit(at)
    return at
