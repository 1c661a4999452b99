"""Small, deterministic change-log stores for fake-DAP tests, plus independent parsers of the
server's output files and the matching ground truth from the store (for comparisons).

    store = build_small_store(tmp_path / "store")        # 6 tables, one base batch at START
    advance = make_advance(store)                         # hook: writes a change batch, commits
    advance(3)                                            # updates, inserts, deletes, re-inserts
    expected = expected_records(store, store.truth_sql("canvas.courses"), schema, incremental=False)
    got = parse_records("jsonl", "expanded", gz_bytes, schema, incremental=False)
"""

from __future__ import annotations

import gzip
import io
import json
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from extract.schema import Column, TableSchema, bundled_schema
from extract.synth.store import Store
from extract.timeutil import parse_iso

START = datetime(2026, 1, 5, 8, 0, 0)
TABLES = (
    ("canvas", "accounts"),
    ("canvas", "courses"),
    ("canvas", "enrollment_states"),
    ("canvas", "assignment_groups"),
    ("canvas", "late_policies"),
    ("canvas_logs", "web_logs"),
)
# Strings that exercise every escaping rule of TSV, CSV and JSON.
TRICKY = (
    "plain",
    "tab\there",
    "new\nline",
    "back\\slash",
    'quote"d',
    "comma,here",
    "",
    "NULL",
    "\\N",
    "unicodé ✓ 😀",
    "cr\rlf\r\n",
    "ctrl\b\f\v\x01",
    "  padded  ",
)
TS_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


# ---- building stores ---------------------------------------------------------------------------------
def schemas(tables: Iterable[tuple[str, str]] = TABLES) -> list[TableSchema]:
    return [bundled_schema(ns, t) for ns, t in tables]


def create_store(root: Path, tables: Iterable[tuple[str, str]] = TABLES, start: datetime = START) -> Store:
    return Store.create(root, profile="test", seed=1, start=start, tables=schemas(tables))


def write_rows(store: Store, qname: str, rows: list[dict[str, Any]]) -> None:
    """Append one batch; rows carry ``meta_ts`` (datetime), ``meta_action`` and any columns."""
    if not rows:
        return
    schema = store.schema(qname)
    names: list[str] = []
    for row in rows:
        names += [k for k in row if k not in names]
    types = {"meta_ts": "TIMESTAMP", "meta_action": "VARCHAR"}
    types |= {c.name: c.duckdb_type() for c in schema.columns if c.name in names}
    path = store.root / f".fixture-{qname}.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps({k: _jsonable(v) for k, v in row.items()}) + "\n")
    columns = "{" + ", ".join(f"'{k}': '{v}'" for k, v in types.items()) + "}"
    con = duckdb.connect()
    try:
        store.write_changes(
            qname,
            con,
            f"SELECT * FROM read_json('{path.as_posix()}', format='newline_delimited', columns={columns})",
        )
    finally:
        con.close()
        path.unlink()


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _ts(base: datetime, seconds: float) -> datetime:
    return base + timedelta(seconds=seconds)


def course_row(i: int, ts: datetime, tag: str = "") -> dict[str, Any]:
    settings: dict[str, Any] | None
    if i % 3 == 0:
        settings = {"course_format": TRICKY[i % len(TRICKY)], "public_syllabus": "true", "hide_final_grade": None}
    elif i % 3 == 1:
        settings = None
    else:
        settings = {"course_format": None}  # an object whose properties are all null
    return {
        "meta_ts": ts,
        "meta_action": "U",
        "id": i,
        "name": f"{tag}{TRICKY[i % len(TRICKY)]}" if i % 5 else None,
        "syllabus_body": "line one\nline\ttwo\\end" if i % 4 == 0 else TRICKY[(i * 7) % len(TRICKY)],
        "created_at": _ts(START - timedelta(days=300), i * 3600 + (0.12 if i % 2 else 0)),
        "updated_at": _ts(ts, -1.5),
        "workflow_state": ("available", "claimed", "deleted")[i % 3],
        "account_id": 1 + i % 4,
        "enrollment_term_id": 7,
        "storage_quota": 2**40 + i if i % 2 else None,
        "is_public": (True, False, None)[i % 3],
        "self_enrollment_limit": -i,
        "allow_student_organized_groups": i % 2 == 0,
        "template": False,
        "homeroom_course": i % 7 == 0,
        "sync_enrollments_from_homeroom": False,
        "settings": settings,
    }


def build_small_store(root: Path) -> Store:
    """A store with a base batch for every table in TABLES; ``now`` = START."""
    store = create_store(root)
    base = START - timedelta(days=2)
    write_rows(
        store,
        "canvas.accounts",
        [
            {
                "meta_ts": _ts(base, i * 60),
                "meta_action": "U",
                "id": i,
                "name": TRICKY[i % len(TRICKY)],
                "parent_account_id": None if i == 1 else 1,
                "deleted_at": _ts(base, -86400) if i % 4 == 0 else None,
                "created_at": _ts(base, -86400 * 30 + i),
                "updated_at": _ts(base, i * 60 - 0.000001),
                "workflow_state": "active" if i % 4 else "deleted",
                "default_time_zone": "America/New_York",
            }
            for i in range(1, 11)
        ],
    )
    write_rows(store, "canvas.courses", [course_row(i, _ts(base, 600 + i * 61.5)) for i in range(1, 31)])
    write_rows(
        store,
        "canvas.enrollment_states",
        [
            {
                "meta_ts": _ts(base, 900 + i),
                "meta_action": "U",
                "enrollment_id": 100 + i,
                "state": ("active", "invited", None)[i % 3],
                "state_is_current": True,
                "restricted_access": i % 2 == 1,
                "access_is_current": True,
                "state_started_at": _ts(base, -3600 * i),
                "updated_at": None if i % 5 == 0 else _ts(base, 900 + i),
            }
            for i in range(12)
        ],
    )
    write_rows(
        store,
        "canvas.assignment_groups",
        [
            {
                "meta_ts": _ts(base, 1200 + i),
                "meta_action": "U",
                "id": i,
                "name": TRICKY[(i + 3) % len(TRICKY)],
                "created_at": _ts(base, -7200),
                "updated_at": _ts(base, -3600.25),
                "workflow_state": "available",
                "context_id": 10 + i,
                "context_type": "Course",
                "group_weight": (0.1, 1e20, 100 / 3, None, -2.5, 100.0)[i % 6],
                "position": i,
                "rules": (
                    {"drop_lowest": 1, "drop_highest": None, "never_drop": [11, 12]},
                    None,
                    {"drop_lowest": None, "drop_highest": 2, "never_drop": []},
                )[i % 3],
            }
            for i in range(1, 7)
        ],
    )
    write_rows(
        store,
        "canvas.late_policies",
        [
            {
                "meta_ts": _ts(base, 1500 + i),
                "meta_action": "U",
                "id": i,
                "course_id": i,
                "created_at": _ts(base, -1),
                "updated_at": _ts(base, 0),
                "missing_submission_deduction_enabled": True,
                "missing_submission_deduction": Decimal(("12.50", "0.05", "100.00", "-3.10")[i % 4]),
                "late_submission_deduction_enabled": False,
                "late_submission_deduction": Decimal("1.00"),
                "late_submission_interval": "day",
                "late_submission_minimum_percent_enabled": False,
                "late_submission_minimum_percent": Decimal("0.00"),
            }
            for i in range(4)
        ],
    )
    write_rows(store, "canvas_logs.web_logs", [web_log_row(i, _ts(START, -(39.5 - i) * 86400)) for i in range(40)])
    store.commit(START)
    return store


def web_log_row(i: int, ts: datetime) -> dict[str, Any]:
    return {
        "meta_ts": ts,
        "meta_action": "U",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"web-log-{i}")),
        "timestamp": _ts(ts, -60),
        "user_id": 1000 + i if i % 3 else None,
        "url": f"https://canvas.example.edu/courses/{i}?q={TRICKY[i % len(TRICKY)]}",
        "http_method": "GET",
        "http_status": 200 if i % 4 else 404,
        "http_version": "1.1",
        "remote_ip": f"10.0.{i // 256}.{i % 256}" if i % 2 else f"2001:db8::{i:x}",
        "interaction_micros": 1000 * i,
        "participated": i % 2 == 0,
        "session_id": str(uuid.uuid5(uuid.NAMESPACE_DNS, f"session-{i}")) if i % 5 else None,
        "user_agent": TRICKY[(i + 1) % len(TRICKY)],
    }


def make_advance(store: Store) -> Callable[[float], datetime]:
    """An advance hook: commits a change batch (updates, inserts, deletes, re-inserts) and moves
    the clock by ``hours``. Deterministic: step N always writes the same changes."""

    def advance(hours: float) -> datetime:
        now = store.now
        step = len(store.commits)
        tag = f"v{step} "
        new_id = 100 + step * 10
        write_rows(
            store,
            "canvas.courses",
            [
                *(course_row(i, _ts(now, 600), tag) for i in range(1, 6)),
                {"meta_ts": _ts(now, 600), "meta_action": "D", "id": 8},
                {"meta_ts": _ts(now, 600), "meta_action": "U", **_strip(course_row(new_id + 1, now, tag))},
                {**course_row(1, _ts(now, 1200), tag + "again "), "meta_ts": _ts(now, 1200)},
                {"meta_ts": _ts(now, 1200), "meta_action": "D", "id": new_id + 1},
                {"meta_ts": _ts(now, 1800), "meta_action": "D", "id": 6},
                {"meta_ts": _ts(now, 1800), "meta_action": "D", "id": 7},
                *(course_row(i, _ts(now, 2400.5), tag) for i in (new_id + 2, new_id + 3)),
                {**course_row(8, _ts(now, 3000), tag), "meta_ts": _ts(now, 3000)},
            ],
        )
        write_rows(store, "canvas.accounts", [{**_account_update(1, _ts(now, 900), tag)}])
        write_rows(
            store,
            "canvas.enrollment_states",
            [
                {
                    "meta_ts": _ts(now, 300),
                    "meta_action": "U",
                    "enrollment_id": 100,
                    "state": "active",
                    "state_is_current": False,
                    "restricted_access": True,
                    "access_is_current": False,
                },
                {"meta_ts": _ts(now, 1500), "meta_action": "D", "enrollment_id": 101},
            ],
        )
        write_rows(store, "canvas_logs.web_logs", [web_log_row(1000 * step + i, _ts(now, 60 * i)) for i in range(1, 6)])
        new_now = _ts(now, hours * 3600)
        store.commit(new_now)
        return new_now

    return advance


def _strip(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("meta_ts", "meta_action")}


def _account_update(i: int, ts: datetime, tag: str) -> dict[str, Any]:
    return {
        "meta_ts": ts,
        "meta_action": "U",
        "id": i,
        "name": f"{tag}renamed\taccount",
        "created_at": _ts(START, -86400 * 30),
        "updated_at": ts,
        "workflow_state": "active",
    }


def make_reload(store: Store) -> Callable[[str], datetime]:
    """A reload hook: marks a server-side reload of the table one second after now."""

    def reload(qname: str) -> datetime:
        at = _ts(store.now, 1)
        store.mark_reload(qname, at)
        store.commit(at)
        return at

    return reload


def make_bump(store: Store) -> Callable[[str], int]:
    """A schema-bump hook: adds a nullable string column ``extra_<n>`` one second after now."""

    def bump(qname: str) -> int:
        at = _ts(store.now, 1)
        n = len(store.schema_versions(qname))
        version = store.bump_schema(qname, Column(name=f"extra_{n}", type="string"), at)
        store.commit(at)
        return version

    return bump


def big_store(root: Path, rows: int, qname: str = "canvas.courses") -> Store:
    """One table with ``rows`` SQL-generated rows (for throughput measurements)."""
    ns, table = qname.split(".", 1)
    store = create_store(root, [(ns, table)])
    sql = f"""
        SELECT TIMESTAMP '2026-01-01 00:00:00' + to_microseconds(i * 100) AS meta_ts, 'U' AS meta_action,
               i AS id, 'course ' || i || CASE WHEN i % 10 = 0 THEN chr(9) || 'x' ELSE '' END AS name,
               'body ' || repeat('x', (i % 50)::INTEGER) AS syllabus_body,
               TIMESTAMP '2025-01-01' + to_microseconds(i * 7) AS created_at,
               TIMESTAMP '2025-06-01' + to_seconds(i) AS updated_at,
               'available' AS workflow_state, i % 100 AS account_id, 3 AS enrollment_term_id,
               i % 2 = 0 AS allow_student_organized_groups, false AS template, false AS homeroom_course,
               false AS sync_enrollments_from_homeroom,
               CASE WHEN i % 3 = 0 THEN NULL ELSE i * 1024 END AS storage_quota,
               {{'course_format': CASE WHEN i % 2 = 0 THEN 'on_campus' END, 'public_syllabus': 'true'}} AS settings
        FROM range(1, {rows + 1}) t(i)
    """
    con = duckdb.connect()
    try:
        store.write_changes(qname, con, sql)
    finally:
        con.close()
    store.commit(START)
    return store


# ---- ground truth ------------------------------------------------------------------------------------
def canonical(value: Any, column: Column) -> Any:
    """A comparable Python value; null-valued object properties dropped, all-null object -> None."""
    if value is None:
        return None
    if column.type == "object" and column.properties:
        props = {p.name: p for p in column.properties}
        out = {k: canonical(v, props[k]) for k, v in value.items() if k in props}
        out = {k: v for k, v in out.items() if v is not None}
        return out or None
    if column.type == "object":
        return json.loads(value) if isinstance(value, str) else value
    if column.type == "array":
        return list(value)
    if column.is_decimal:
        return Decimal(str(value))
    if column.type == "number":
        return float(value)
    if column.format == "date-time":
        return value if isinstance(value, datetime) else parse_iso(value)
    if column.format == "uuid":
        return str(value).lower()
    return value


def expected_records(store: Store, sql: str, schema: TableSchema, incremental: bool) -> dict[tuple, dict]:
    """Run a store SQL (truth_sql / window_sql) and key its rows like ``parse_records`` does."""
    con = duckdb.connect()
    try:
        rel = con.sql(sql)
        names = rel.columns
        rows = [dict(zip(names, r, strict=True)) for r in rel.fetchall()]
    finally:
        con.close()
    out: dict[tuple, dict] = {}
    for row in rows:
        key = tuple(canonical(row[c.name], c) for c in schema.key_columns)
        action = row.get("meta_action") if incremental else None
        value = None
        if action != "D":
            value = {c.name: canonical(row[c.name], c) for c in schema.value_columns}
            value = {k: v for k, v in value.items() if v is not None}
        out[key] = {"ts": row["meta_ts"], "action": action, "value": value}
    return out


# ---- parsing the server's files ------------------------------------------------------------------------
def parse_records(
    fmt: str,
    mode: str,
    data: bytes,
    schema: TableSchema,
    incremental: bool,
    csv_null: str = "empty",
    jsonl_nulls: str = "omit",
) -> dict[tuple, dict]:
    """Parse one downloaded part (gzip for text formats) into ``{key: {ts, action, value}}``."""
    if fmt == "jsonl":
        explicit = jsonl_nulls == "explicit"
        rows = [_from_jsonl(json.loads(line, parse_float=Decimal), schema, explicit) for line in _lines(data)]
    elif fmt == "tsv":
        lines = _lines(data)
        header = lines[0].split("\t")
        rows = [
            _from_flat(dict(zip(header, map(_tsv_field, line.split("\t")), strict=True)), schema, mode)
            for line in lines[1:]
        ]
    elif fmt == "csv":
        records = parse_csv(gzip.decompress(data).decode("utf-8"))
        header = [v for v, _ in records[0]]
        rows = [
            _from_flat({h: _csv_value(v, q, csv_null) for h, (v, q) in zip(header, rec, strict=True)}, schema, mode)
            for rec in records[1:]
        ]
    elif fmt == "parquet":
        table = pq.read_table(io.BytesIO(data))
        rows = [_from_flat(r, schema, mode, typed=True) for r in table.to_pylist()]
    else:
        raise ValueError(fmt)
    out: dict[tuple, dict] = {}
    for row in rows:
        if (row["action"] is not None) != incremental:
            raise AssertionError(f"meta.action presence wrong for incremental={incremental}: {row}")
        out[row["key"]] = {"ts": row["ts"], "action": row["action"], "value": row["value"]}
    if len(out) != len(rows):
        raise AssertionError("duplicate keys in one part")
    return out


def header_of(fmt: str, data: bytes) -> list[str]:
    text = gzip.decompress(data).decode("utf-8")
    first = text.split("\n", 1)[0]
    return first.split("\t") if fmt == "tsv" else first.split(",")


def _lines(data: bytes) -> list[str]:
    text = gzip.decompress(data).decode("utf-8")
    assert text == "" or text.endswith("\n"), "a text part must end with a newline"
    return text.split("\n")[:-1] if text else []


def _check_ts(text: str) -> datetime:
    assert TS_TEXT.match(text), f"bad timestamp text {text!r}"
    return parse_iso(text)


def _from_jsonl(obj: dict[str, Any], schema: TableSchema, explicit_nulls: bool = False) -> dict[str, Any]:
    """One JSONL record; null value properties must be omitted, or with ``explicit_nulls`` every
    value property must be present (``"name":null`` when null)."""
    assert set(obj) <= {"meta", "key", "value"}, obj
    meta = obj["meta"]
    action = meta.get("action")
    value = obj.get("value")
    if action == "D":
        assert value is None, "delete rows carry no value"
    else:
        assert isinstance(value, dict)
        if explicit_nulls:
            assert set(value) == {c.name for c in schema.value_columns}, "every value property, null or not"
            value = {k: v for k, v in value.items() if v is not None}
        value = {c.name: _typed_json(value[c.name], c) for c in schema.value_columns if c.name in value}
        for v in value.values():
            assert v is not None, "null properties must be omitted"
    key = tuple(_typed_json(obj["key"][c.name], c) for c in schema.key_columns)
    return {"ts": _check_ts(meta["ts"]), "action": action, "key": key, "value": value}


def _typed_json(value: Any, column: Column) -> Any:
    if value is None:
        raise AssertionError(f"explicit null for {column.name}")
    if column.type == "object" and column.properties:
        assert isinstance(value, dict) and value, f"empty or non-object {column.name}"
        props = {p.name: p for p in column.properties}
        return {k: _typed_json(v, props[k]) for k, v in value.items()}
    if column.type == "string" and column.format == "date-time":
        return _check_ts(value)
    if column.type == "string" and column.format == "date":
        return date.fromisoformat(value)
    if column.type == "number" and not column.is_decimal:
        return float(value)
    if column.is_decimal:
        return Decimal(str(value))
    if column.type == "array":
        return [float(v) if isinstance(v, Decimal) else v for v in value]
    return canonical(value, column)


def _tsv_field(text: str) -> str | None:
    if text == r"\N":
        return None
    escapes = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", "v": "\v", "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes[m.group(1)], text)


def parse_csv(text: str) -> list[list[tuple[str, bool]]]:
    """RFC 4180 records as (value, was_quoted) pairs, so NULL and "" stay distinguishable."""
    records: list[list[tuple[str, bool]]] = []
    record: list[tuple[str, bool]] = []
    i, n = 0, len(text)
    while i < n:
        quoted = text[i] == '"'
        if quoted:
            j, buf = i + 1, []
            while True:
                k = text.index('"', j)
                buf.append(text[j:k])
                if k + 1 < n and text[k + 1] == '"':
                    buf.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            value = "".join(buf)
        else:
            j = i
            while j < n and text[j] not in ",\n":
                j += 1
            value, i = text[i:j], j
        record.append((value, quoted))
        if i >= n or text[i] == "\n":
            records.append(record)
            record = []
        i += 1
    return records


def _csv_value(value: str, quoted: bool, csv_null: str) -> str | None:
    if not quoted and value == ("" if csv_null == "empty" else "NULL"):
        return None
    assert quoted or value != "", "an empty string must be quoted"
    return value


def _from_flat(row: dict[str, Any], schema: TableSchema, mode: str, typed: bool = False) -> dict[str, Any]:
    action = row.get("meta.action")
    ts = row["meta.ts"] if typed else _check_ts(row["meta.ts"])
    key = tuple(_flat_value(row[f"key.{c.name}"], c, typed) for c in schema.key_columns)
    value: dict[str, Any] = {}
    for c in schema.value_columns:
        if c.type == "object" and c.properties and mode == "expanded":
            v = _expanded(row, f"value.{c.name}", c, typed)
        else:
            raw = row[f"value.{c.name}"]
            v = None if raw is None else _flat_value(raw, c, typed)
        if v is not None:
            value[c.name] = v
    if action == "D":
        assert not value, "delete rows have null values"
        value = None
    expected_cols = {
        "meta.ts",
        *(["meta.action"] if "meta.action" in row else []),
        *(f"key.{k}" for k in schema.primary_key),
    }
    assert expected_cols <= set(row)
    return {"ts": ts, "action": action, "key": key, "value": value}


def _expanded(row: dict[str, Any], prefix: str, column: Column, typed: bool) -> Any:
    assert column.properties is not None
    out = {}
    for p in column.properties:
        raw = row[f"{prefix}.{p.name}"]
        if raw is not None:
            out[p.name] = _flat_value(raw, p, typed)
    return out or None


def _flat_value(raw: Any, column: Column, typed: bool) -> Any:
    if column.type in ("object", "array"):
        assert isinstance(raw, str), "nested values are JSON text in tabular formats"
        parsed = json.loads(raw)
        if column.type == "object" and column.properties:
            assert parsed, "an all-null object must be NULL, not {}"
            return _typed_json(parsed, column)
        return parsed
    if typed:
        if column.format == "uuid":
            return str(raw).lower()
        return canonical(raw, column)
    if column.type == "boolean":
        assert raw in ("true", "false"), raw
        return raw == "true"
    if column.type == "integer":
        return int(raw)
    if column.is_decimal:
        return Decimal(raw)
    if column.type == "number":
        return float(raw)
    if column.format == "date-time":
        return _check_ts(raw)
    if column.format == "date":
        return date.fromisoformat(raw)
    return canonical(raw, column)


# ---- a tiny client for driving the server in tests ------------------------------------------------------
class DapTestClient:
    """requests-based calls against a FakeDapServer (no retries: tests see every response)."""

    def __init__(self, base_url: str, client_id: str, client_secret: str) -> None:
        import requests

        self.base_url = base_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.session = requests.Session()
        self.token: str | None = None

    def login(self) -> Any:
        r = self.session.post(
            f"{self.base_url}/ids/auth/login",
            auth=(self.client_id, self.client_secret),
            data={"grant_type": "client_credentials"},
        )
        if r.status_code == 200:
            self.token = r.json()["access_token"]
            self.session.headers["Authorization"] = f"Bearer {self.token}"
        return r

    def get(self, path: str, **kw: Any) -> Any:
        return self.session.get(f"{self.base_url}{path}", **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.session.post(f"{self.base_url}{path}", **kw)

    def create_job(self, qname: str, **body: Any) -> Any:
        ns, table = qname.split(".", 1)
        return self.post(f"/dap/query/{ns}/table/{table}/data", json=body)

    def url_for(self, object_id: str) -> str:
        r = self.post("/dap/object/url", json=[{"id": object_id}])
        assert r.status_code == 200, r.text
        return r.json()["urls"][object_id]["url"]

    def download(self, object_id: str) -> Any:
        import requests

        return requests.get(self.url_for(object_id), headers={"Accept-Encoding": "gzip, deflate"})

    def job_files(self, job: dict[str, Any]) -> list[tuple[str, bytes]]:
        """(object id, bytes) of every object of a complete job."""
        out = []
        for obj in job["objects"]:
            r = self.download(obj["id"])
            assert r.status_code == 200, r.text
            assert "Content-Encoding" not in r.headers
            out.append((obj["id"], r.content))
        return out
