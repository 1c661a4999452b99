"""Load the generator's ground truth into a ``Truth`` and diff a reference against built marts."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import yaml

from extract.schema import ENUM_UNKNOWN, TRUNCATION_MARKERS, TableSchema
from extract.synth.store import Store
from extract.tests.marts_reference import MartRows, Row, Truth
from extract.tests.sync_helpers import WEB_LOGS, truth_sql

ROOT = Path(__file__).resolve().parents[3]
FLOAT_TOLERANCE = 1e-9
HISTORY_MARTS = {"fct_course_grade_daily", "mart_student_risk_weekly"}


def project_vars() -> dict[str, Any]:
    project = yaml.safe_load((ROOT / "dbt_project.yml").read_text(encoding="utf-8"))
    return dict(project.get("vars", {}))


def _cleaner(schema: TableSchema) -> dict[str, set[str]]:
    """Per column, the values staging turns into null (enum sentinel, truncation placeholders)."""
    out: dict[str, set[str]] = {}
    for column in schema.columns:
        nulls: set[str] = set()
        if column.enum is not None and ENUM_UNKNOWN in column.enum:
            nulls.add(ENUM_UNKNOWN)
        if column.truncation_marker:
            nulls.update(TRUNCATION_MARKERS)  # staging nulls every known placeholder
        if nulls:
            out[column.name] = nulls
    return out


def _rows(con: duckdb.DuckDBPyConnection, store: Store, qname: str) -> list[Row]:
    schema = store.schema(qname)
    sql = truth_sql(con, store, qname)
    # UUIDs as their text (what the marts hash or show): building uuid.UUID objects is slow
    uuids = [str(r[0]) for r in con.execute(f"DESCRIBE {sql}").fetchall() if r[1] == "UUID"]
    if uuids:
        casts = ", ".join(f'CAST("{c}" AS VARCHAR) AS "{c}"' for c in uuids)
        sql = f"SELECT * REPLACE ({casts}) FROM ({sql})"
    result = con.execute(sql)
    names = [d[0] for d in result.description]
    nulls = _cleaner(schema)
    out: list[Row] = []
    for values in result.fetchall():
        row = dict(zip(names, values, strict=True))
        for name, bad in nulls.items():
            value = row.get(name)
            if isinstance(value, str) and value in bad:
                row[name] = None
                if value in TRUNCATION_MARKERS:  # as staging's is_<column>_truncated
                    row[f"is_{name}_truncated"] = True
        out.append(row)
    return out


def load_truth(db: Path, store: Store, *, secret: str, earlier: list[Truth] | None = None) -> Truth:
    """Ground truth at the store's clock; web_logs history since the database's first web_logs sync."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = {  # the marts read canvas only (catalog has tables of the same names)
            qname.split(".", 1)[1]: _rows(con, store, qname) for qname in store.tables("canvas")
        }
        web_logs = _rows(con, store, WEB_LOGS)
    finally:
        con.close()
    params = project_vars()
    return Truth(
        tables=tables,
        web_logs=web_logs,
        as_of=store.now,
        time_zone=ZoneInfo(str(params["cd2_time_zone"])),
        secret=secret.encode(),
        params=params,
        earlier=list(earlier or []),
    )


def _norm(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def _same(a: Any, b: Any) -> bool:
    a, b = _norm(a), _norm(b)
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        if isinstance(a, bool) or isinstance(b, bool):
            return a == b
        if math.isnan(float(a)) and math.isnan(float(b)):
            return True
        return abs(float(a) - float(b)) <= FLOAT_TOLERANCE * max(1.0, abs(float(a)), abs(float(b)))
    if isinstance(a, datetime) and isinstance(b, datetime):
        return a.replace(tzinfo=None) == b.replace(tzinfo=None)
    return a == b


def built_rows(db: Path, relation: str) -> tuple[list[str], list[Row]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        result = con.execute(f"SELECT * FROM {relation}")
        names = [d[0] for d in result.description]
        return names, [dict(zip(names, r, strict=True)) for r in result.fetchall()]
    finally:
        con.close()


def diff_mart(
    db: Path,
    name: str,
    expected: MartRows,
    as_of: datetime,
    *,
    earlier_as_of: tuple[datetime, ...] = (),
    schema: str = "marts",
    limit: int = 5,
) -> list[str]:
    """Human-readable differences between a built mart and its reference (empty when equal)."""
    columns, rows = built_rows(db, f"{schema}.{name}")
    problems: list[str] = []
    built_cols = [c for c in columns if c != "data_as_of"]
    if "data_as_of" not in columns:
        problems.append(f"{name}: no data_as_of column")
    ref_cols = sorted({k for r in expected.rows for k in r}) if expected.rows else sorted(built_cols)
    if sorted(built_cols) != ref_cols:
        problems.append(
            f"{name}: columns differ; only built {sorted(set(built_cols) - set(ref_cols))}, "
            f"only reference {sorted(set(ref_cols) - set(built_cols))}"
        )
        return problems
    # history marts keep the rows of earlier runs, stamped with those runs' as-of
    allowed = {as_of, *earlier_as_of} if name in HISTORY_MARTS else {as_of}
    stale = {r.get("data_as_of") for r in rows} - allowed
    if stale:
        problems.append(f"{name}: data_as_of {sorted(map(str, stale))[:3]} != {as_of}")

    def keyed(items: Iterable[Row], label: str) -> dict[tuple[Any, ...], Row]:
        out: dict[tuple[Any, ...], Row] = {}
        for row in items:
            key = tuple(_norm(row[k]) for k in expected.key)
            if key in out:
                problems.append(f"{name}: duplicate key {key} in {label}")
            out[key] = row
        return out

    mine, ref = keyed(rows, "built"), keyed(expected.rows, "reference")
    missing = [k for k in ref if k not in mine]
    extra = [k for k in mine if k not in ref]
    if missing:
        problems.append(f"{name}: {len(missing)} reference rows not built, e.g. {missing[:limit]}")
    if extra:
        problems.append(f"{name}: {len(extra)} built rows not in reference, e.g. {extra[:limit]}")
    shown = 0
    differing = 0
    for key in ref.keys() & mine.keys():
        built_row, ref_row = mine[key], ref[key]
        # plain equality first (cheap, and it implies _same); _same for the near-misses
        bad = [c for c in ref_cols if built_row[c] != ref_row[c] and not _same(built_row[c], ref_row[c])]
        if bad:
            differing += 1
            if shown < limit:
                shown += 1
                detail = ", ".join(f"{c}: built {mine[key][c]!r} vs ref {ref[key][c]!r}" for c in bad[:4])
                problems.append(f"{name} {key}: {detail}")
    if differing:
        problems.append(f"{name}: {differing} of {len(ref)} rows differ")
    return problems


def secret_from_env() -> str:
    return os.environ.get("CD2_PSEUDONYM_SECRET", "dev-secret")
