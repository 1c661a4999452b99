"""Ground truth from the synthetic store (DuckDB over its change log), in the canonical form of
``parse_files`` so it compares with downloaded rows using ``==``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import duckdb

from extract.schema import TableSchema
from extract.synth.store import Store
from extract.tests.conformance.parse_files import Record, canonical

WEB_LOGS = "canvas_logs.web_logs"
WEB_LOGS_RETENTION = timedelta(days=30)

RecordsByKey = dict[tuple[Any, ...], Record]


def _records(con: duckdb.DuckDBPyConnection, sql: str, schema: TableSchema, *, with_action: bool) -> RecordsByKey:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    columns = {c.name: c for c in schema.columns}
    out: RecordsByKey = {}
    for row in cursor.fetchall():
        cells = dict(zip(names, row, strict=True))
        key = tuple(canonical(columns[k], cells[k]) for k in schema.primary_key)
        values = {c.name: canonical(c, cells[c.name]) for c in schema.value_columns}
        action = cells["meta_action"] if with_action else None
        out[key] = Record(ts=cells["meta_ts"], action=action, key=key, values=values)
    return out


def retention_floor(qname: str, at: datetime) -> datetime | None:
    """A web_logs snapshot taken at ``at`` only covers the 30 days before it."""
    return at - WEB_LOGS_RETENTION if qname == WEB_LOGS else None


def truth_at(
    con: duckdb.DuckDBPyConnection, store: Store, qname: str, at: datetime, min_ts: datetime | None = None
) -> RecordsByKey:
    """The live rows at ``at`` (only those last changed after ``min_ts``), keyed by primary key."""
    return _records(con, store.truth_sql(qname, at, min_ts), store.schema(qname, at), with_action=False)


def snapshot_truth(con: duckdb.DuckDBPyConnection, store: Store, qname: str, at: datetime) -> RecordsByKey:
    """What a snapshot taken at ``at`` holds (web_logs: only its retention window)."""
    return truth_at(con, store, qname, at, retention_floor(qname, at))


def window_truth(
    con: duckdb.DuckDBPyConnection, store: Store, qname: str, since: datetime, until: datetime
) -> RecordsByKey:
    """The consolidated changes ``since < meta.ts <= until`` (U rows and key-only D rows)."""
    sql = store.window_sql(qname, since, until)
    return _records(con, sql, store.schema(qname, until), with_action=True)


def _record_differences(expected: Record, actual: Record, compare_meta: bool) -> list[str]:
    out: list[str] = []
    if compare_meta and expected.ts != actual.ts:
        out.append(f"meta.ts {expected.ts} != {actual.ts}")
    if compare_meta and expected.action != actual.action:
        out.append(f"meta.action {expected.action!r} != {actual.action!r}")
    for name, want in expected.values.items():
        got = actual.values.get(name)
        if want != got:
            out.append(f"{name}: expected {want!r}, got {got!r}")
    return out


def describe_differences(
    expected: Mapping[tuple[Any, ...], Record],
    actual: Mapping[tuple[Any, ...], Record],
    *,
    compare_meta: bool = True,
    limit: int = 8,
) -> list[str]:
    """Human-readable differences (missing keys, extra keys, differing values); empty if equal.

    ``compare_meta=False`` compares keys and values only (a database replica has no meta.ts).
    """
    lines: list[str] = []
    missing = sorted(set(expected) - set(actual), key=repr)
    extra = sorted(set(actual) - set(expected), key=repr)
    if missing:
        lines.append(f"{len(missing)} keys missing from the download, e.g. {missing[:limit]}")
    if extra:
        lines.append(f"{len(extra)} unexpected keys in the download, e.g. {extra[:limit]}")
    differing = 0
    for key in sorted(set(expected) & set(actual), key=repr):
        problems = _record_differences(expected[key], actual[key], compare_meta)
        if problems:
            differing += 1
            if differing <= limit:
                lines.append(f"key {key}: " + "; ".join(problems[:limit]))
    if differing > limit:
        lines.append(f"... {differing} differing rows in all")
    return lines
