"""Names that come from the DAP API are data, never code or paths (issue 29).

A hostile API (the fake with ``hostile_names``) lists tables named like a path out of the work
folder, a forged log line and an SQL statement, and serves a schema whose column names hold a
quote and Jinja code. The sync must refuse each of them as that table's failure and touch
nothing else; codegen must never write them into a dbt file; the dbt macros must work whatever
the DuckDB file is called (its stem is dbt's database name).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import duckdb
import jinja2
import jinja2.nodes
import pytest
import yaml

from extract import codegen
from extract.dap.errors import DapError
from extract.dbtgen.db_schemas import UnsafeRecordedSchemaError, schemas_with_db
from extract.dbtgen.describe import COMMENT_QUOTE
from extract.dbtgen.render import GeneratedFile, jinja_string, jinja_text
from extract.failures import EXIT_USAGE
from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from extract.fake_dap.hostile import HOSTILE_COLUMNS, HOSTILE_COLUMNS_TABLE, HOSTILE_TABLES, hostile_columns_schema
from extract.landing.tables import ensure_meta, ensure_raw_table, raw_table_name
from extract.names import (
    UnsafeNameError,
    UnsafePathError,
    check_name,
    check_qualified_name,
    inside,
    is_safe_name,
    shown,
    shown_qualified,
)
from extract.schema import Column, TableSchema, bundled_schema, bundled_schemas
from extract.sync.fetch import JobFetcher
from extract.sync.progress import LogReporter
from extract.sync.runner import SyncOptions, SyncRunner, _checked_work_dir
from extract.synth import Institution
from extract.tests.dbt_helpers import DBT, ROOT
from extract.tests.sync_helpers import default_tables, fresh_institution, replay_mismatches, run_sync, serving
from extract.unchanged import dbt_vars

REFERENCE_SCHEMAS = ROOT.parent / "shared" / "cd2_schema"
UNSAFE = [
    *HOSTILE_TABLES,
    *HOSTILE_COLUMNS,
    "",
    "Courses",
    "1st",
    "a-b",
    "a b",
    "a.b",
    "..",
    "café",
    "a\x00b",
    "a\u2028b",
    "a" * 64,
]
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")
DROP = "{{ run_query('drop table raw_canvas.courses') }}"


# ---- extract/names.py ------------------------------------------------------------------------------
def test_every_cd2_name_is_a_safe_name() -> None:
    names = {(kind, n) for s in bundled_schemas().values() for kind, n in _names(s.to_bundled())}
    for path in sorted(REFERENCE_SCHEMAS.glob("*/*.json")):  # the project's reference copy, when present
        names |= set(_names(json.loads(path.read_text(encoding="utf-8"))))
    assert len(names) > 500  # distinct (kind, name) pairs
    assert [(kind, n) for kind, n in names if not is_safe_name(n)] == []


def _names(raw: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield "namespace", raw["namespace"]
    yield "table", raw["table"]
    for column in raw["columns"]:
        yield "column", column["name"]


@pytest.mark.parametrize("name", ["courses", "_x", "a1_b", "web_logs", "a" * 63])
def test_safe_names_pass(name: str) -> None:
    assert check_name("table", name) == name


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_names_are_refused_and_shown_with_repr(name: str) -> None:
    assert not is_safe_name(name)
    with pytest.raises(UnsafeNameError) as raised:
        check_name("column", name, "canvas.courses")
    message = str(raised.value)
    assert repr(name) in message and "canvas.courses" in message
    assert message.isprintable(), "a line break or control character in the message would forge a log line"
    assert isinstance(raised.value, ValueError)


def test_non_text_and_unqualified_names_are_refused() -> None:
    for value in (None, 3, b"courses", ["courses"]):
        with pytest.raises(UnsafeNameError):
            check_name("table", value)
    with pytest.raises(UnsafeNameError, match="not a qualified table name"):
        check_qualified_name("courses")
    assert check_qualified_name("canvas.courses") == ("canvas", "courses")


def test_shown_keeps_a_name_on_one_line() -> None:
    assert shown("courses") == "courses"
    assert shown("a\nINFO forged line") == "a\\nINFO forged line"
    assert shown_qualified("canvas.a\nINFO forged\r") == "canvas.a\\nINFO forged\\r"
    assert shown("a\u2028b\x85c").isprintable()
    assert len(shown("x\n" * 500)) == 200


def test_inside_refuses_paths_out_of_the_root(tmp_path: Path) -> None:
    root = tmp_path / "work"
    root.mkdir()
    (tmp_path / "victim").mkdir()
    assert inside(root, root / "canvas.courses") == root / "canvas.courses"
    for escape in (root / "canvas.x/../../../victim", root / "..", root, tmp_path / "victim"):
        with pytest.raises(UnsafePathError):
            inside(root, escape)
    (root / "link").symlink_to(tmp_path / "victim")
    with pytest.raises(UnsafePathError):
        inside(root, root / "link")


# ---- where names enter: the schema from the API ----------------------------------------------------------
def test_schema_from_the_api_refuses_unsafe_namespace_table_and_column_names() -> None:
    doc = bundled_schema("canvas", "courses").to_dap_schema()
    for table in HOSTILE_TABLES:
        with pytest.raises(UnsafeNameError, match=re.escape(repr(table))):
            TableSchema.from_dap_schema("canvas", table, doc, 1)
    with pytest.raises(UnsafeNameError, match="unsafe namespace name 'Canvas'"):
        TableSchema.from_dap_schema("Canvas", "courses", doc, 1)
    for part in ("key", "value"):
        hostile = json.loads(json.dumps(doc))
        properties = hostile["properties"][part]["properties"]
        properties[HOSTILE_COLUMNS[0]] = {"type": "string"}
        with pytest.raises(UnsafeNameError) as raised:
            TableSchema.from_dap_schema("canvas", "courses", hostile, 2)
        assert f"unsafe column name {HOSTILE_COLUMNS[0]!r} of canvas.courses" in str(raised.value)
    served = hostile_columns_schema().to_dap_schema()
    with pytest.raises(UnsafeNameError, match=f"of canvas.{HOSTILE_COLUMNS_TABLE}"):
        TableSchema.from_dap_schema("canvas", HOSTILE_COLUMNS_TABLE, served, 1)


def test_nested_property_names_are_accepted_and_stay_quoted_data() -> None:
    """Nested names never become paths or identifiers of their own; where they reach SQL
    (STRUCT types, json_transform structures) they are quoted and escaped."""
    nested = ('a"b', DROP, "{%", "x'y")
    column = Column("settings", "object", properties=tuple(Column(n, "integer", "int32") for n in nested))
    schema = TableSchema("canvas", "courses", 2, ("id",), (Column("id", "integer", "int64", nullable=False), column))
    parsed = TableSchema.from_dap_schema("canvas", "courses", schema.to_dap_schema(), 2)
    assert [p.name for p in parsed.column("settings").properties or ()] == list(nested)
    con = duckdb.connect()
    described = con.execute(f"SELECT CAST(NULL AS {column.duckdb_type()}) AS v").description
    assert described is not None
    document = json.dumps(dict.fromkeys(nested, 1))
    literal = jinja_string(column.json_structure(), "    ")
    assert "{{" not in literal and "{%" not in literal
    # as a staging model passes it to cd2_typed_json, which doubles quotes for SQL
    structure = jinja2.Environment().from_string(f"{{{{ {literal} }}}}").render()
    assert json.loads(structure) == column.json_structure()
    sql_literal = "'" + structure.replace("'", "''") + "'"
    row = con.execute(f"SELECT json_transform(?, {sql_literal})", [document]).fetchone()
    assert row is not None and row[0] == dict.fromkeys(nested, 1)


def test_raw_tables_are_written_with_quoted_names() -> None:
    reserved = TableSchema(
        "canvas", "select", 1, ("order",), (Column("order", "integer", "int64"), Column("from", "string"))
    )
    assert raw_table_name(reserved) == '"raw_canvas"."select"'
    con = duckdb.connect()
    ensure_meta(con)
    ensure_raw_table(con, reserved)
    columns = [r[0] for r in con.execute(f"DESCRIBE {raw_table_name(reserved)}").fetchall()]
    assert columns[:2] == ["order", "from"]


# ---- the sync: work-folder paths and per-table refusal --------------------------------------------------
def test_work_paths_stay_in_the_work_folder_even_when_a_check_is_bypassed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("keep", encoding="utf-8")
    work = tmp_path / "db" / "work"
    work.mkdir(parents=True)
    runner = SyncRunner(cast(Any, None), cast(Any, None), SyncOptions(tables=[], work_dir=work), LogReporter())
    key = (Column("id", "integer", "int64"),)
    for table in HOSTILE_TABLES:  # a schema built directly, not through from_dap_schema
        with pytest.raises(UnsafeNameError):
            runner._work_path(TableSchema("canvas", table, 1, ("id",), key))
    assert runner._work_path(TableSchema("canvas", "courses", 1, ("id",), key)) == work / "canvas.courses"
    # The fetcher proves its download folder is inside the work folder before it empties it.
    fetcher = JobFetcher(cast(Any, None), cast(Any, None), root=work)
    (work / "canvas.courses").symlink_to(victim)
    for dest in (work / "canvas.x/../../../victim", victim, work / "canvas.courses"):
        with pytest.raises(UnsafePathError):
            fetcher._download_all(cast(Any, None), dest, "jsonl", None)
    assert (victim / "keep.txt").read_text(encoding="utf-8") == "keep"


def test_a_work_folder_that_holds_more_than_the_sync_is_refused(tmp_path: Path) -> None:
    for folder in (Path("/"), Path.home(), Path.cwd(), Path.cwd().parent, Path()):
        with pytest.raises(UnsafePathError):
            _checked_work_dir(folder)
    assert _checked_work_dir(tmp_path / "work") == tmp_path / "work"


class _SchemaRecorder:
    """A client whose schema endpoint fails for every table, recording what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def get_schema(self, namespace: str, table: str) -> tuple[int, dict[str, Any]]:
        self.asked.append((namespace, table))
        raise DapError(message="no schema here")


def test_sync_refuses_each_unsafe_table_before_asking_the_api(tmp_path: Path) -> None:
    client = _SchemaRecorder()
    con = duckdb.connect(str(tmp_path / "cd2.duckdb"))
    tables = ["canvas.courses", *(f"canvas.{t}" for t in HOSTILE_TABLES)]
    options = SyncOptions(tables=tables, work_dir=tmp_path / "work")
    report = SyncRunner(cast(Any, client), con, options, LogReporter()).run()
    assert client.asked == [("canvas", "courses")]  # no request was built from a hostile name
    results = {r.qualified_name: r for r in report.results}
    assert results["canvas.courses"].error_type != "UnsafeNameError"
    for table in HOSTILE_TABLES:
        result = results[f"canvas.{shown(table)}"]
        assert result.status == "failed" and result.error_type == "UnsafeNameError"
        assert result.error is not None and f"unsafe table name {table!r}" in result.error
        assert result.error.isprintable()
    failed = con.execute("SELECT table_name FROM cd2_meta.batches WHERE status = 'failed'").fetchall()
    assert sorted(r[0] for r in failed) == sorted(["courses", *(shown(t) for t in HOSTILE_TABLES)])
    assert con.execute("SELECT count(*) FROM information_schema.schemata WHERE schema_name LIKE 'raw%'").fetchone() == (
        0,
    )
    con.close()
    assert not (tmp_path / "work").exists()


# ---- codegen ---------------------------------------------------------------------------------------------
def _db_with_versions(db: Path, *rows: tuple[str, str, int, dict[str, Any]]) -> Path:
    con = duckdb.connect(str(db))
    con.execute(
        "create schema if not exists cd2_meta; create table if not exists cd2_meta.schema_versions (namespace varchar, "
        "table_name varchar, schema_version integer, schema_json json, first_seen_at timestamp)"
    )
    for namespace, table, version, doc in rows:
        con.execute(
            "insert into cd2_meta.schema_versions values (?, ?, ?, ?, now())",
            [namespace, table, version, json.dumps(doc)],
        )
    con.close()
    return db


def _bumped_courses(*columns: Column) -> TableSchema:
    courses = bundled_schema("canvas", "courses")
    for column in columns:
        courses = courses.with_added_column(column)
    return courses


def test_generated_files_never_hold_an_unsafe_name() -> None:
    """Schemas built by any means: the generator checks every name before writing a file."""
    schemas = list(bundled_schemas().values())
    courses = bundled_schema("canvas", "courses")
    for column in HOSTILE_COLUMNS:
        with pytest.raises(UnsafeNameError, match=re.escape(repr(column))):
            codegen.generated_files([*schemas, _bumped_courses(Column(column, "string"))])
    renamed = TableSchema("canvas", HOSTILE_TABLES[0], courses.version, courses.primary_key, courses.columns)
    with pytest.raises(UnsafeNameError, match=re.escape(repr(HOSTILE_TABLES[0]))):
        codegen.generated_files([*schemas, renamed])


def test_codegen_writes_nothing_outside_the_project(tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()
    with pytest.raises(UnsafePathError):
        codegen.write(tmp_path / "project", [GeneratedFile(Path("models/../../escape.sql"), "select 1")])
    assert not (tmp_path / "escape.sql").exists()


def test_codegen_db_refuses_an_unsafe_recorded_column_with_the_fix(tmp_path: Path) -> None:
    bumped = _bumped_courses(Column(HOSTILE_COLUMNS[0], "string"))
    db = _db_with_versions(tmp_path / "cd2.duckdb", ("canvas", "courses", 99, bumped.to_dap_schema()))
    with pytest.raises(UnsafeRecordedSchemaError) as raised:
        schemas_with_db(db)
    assert isinstance(raised.value.__cause__, UnsafeNameError)
    message = raised.value.line()
    assert f"unsafe column name {HOSTILE_COLUMNS[0]!r} of canvas.courses" in message
    assert "nothing was generated" in message and "without --db" in message
    fix = re.search(r"`(delete from cd2_meta\.schema_versions where [^`]+)`", message)
    assert fix is not None
    assert fix.group(1).endswith("namespace = 'canvas' and table_name = 'courses' and schema_version = 99")
    # The CLI: one line on stderr, a failing exit code, and nothing written.
    project = tmp_path / "project"
    project.mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "extract.cli", "codegen", "--db", str(db), "--project-dir", str(project)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == EXIT_USAGE, run.stderr
    assert run.stderr.count("\n") == 1 and message in run.stderr, run.stderr
    assert list(project.iterdir()) == []
    # The fix as given works.
    con = duckdb.connect(str(db))
    con.execute(fix.group(1))
    con.close()
    assert {s.qualified_name: s for s in schemas_with_db(db)}["canvas.courses"].version == 1


def test_codegen_db_refuses_an_unsafe_recorded_table_with_a_fix_that_does_not_echo_it(tmp_path: Path) -> None:
    courses = bundled_schema("canvas", "courses")
    hostile = HOSTILE_TABLES[2]
    db = _db_with_versions(
        tmp_path / "cd2.duckdb",
        ("canvas", hostile, 1, courses.to_dap_schema()),
        ("canvas", "courses", 2, _bumped_courses(Column("new_setting", "string")).to_dap_schema()),
    )
    with pytest.raises(UnsafeRecordedSchemaError) as raised:
        schemas_with_db(db)
    message = raised.value.line()
    assert f"unsafe table name {hostile!r}" in message
    fix = re.search(r"`(delete from cd2_meta\.schema_versions where [^`]+)`", message)
    assert fix is not None and "drop table" not in fix.group(1)
    con = duckdb.connect(str(db))
    con.execute(fix.group(1))
    con.close()
    assert {s.qualified_name: s for s in schemas_with_db(db)}["canvas.courses"].version == 2


def test_api_text_in_generated_files_is_never_jinja_code(tmp_path: Path) -> None:
    """Enum members, nested property names and descriptions from the API reach the generated
    YAML and SQL; dbt renders both with Jinja. Rendered, they must come back as the same text
    and call nothing."""
    members = (DROP, "{% do run_query('drop table raw_canvas.courses') %}", "{# c", 'it\'s "quoted"', "two\nlines")
    nested = (DROP, 'a"b', "{%", "x'y")
    description = f"{DROP} \"q\" 'q'\nline {{% if true %}}"
    bumped = _bumped_courses(
        Column("hostile_state", "string", enum=members, description=description),
        Column("hostile_object", "object", properties=tuple(Column(n, "string") for n in nested)),
    )
    db = _db_with_versions(tmp_path / "cd2.duckdb", ("canvas", "courses", 99, bumped.to_dap_schema()))
    files = {str(f.path): f.content for f in codegen.generated_files(schemas_with_db(db))}
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
    env.globals.update(
        doc=lambda name: f"<doc {name}>",
        var=lambda name, default=None: str(default),
        target=types.SimpleNamespace(type="duckdb"),  # the source mode's engine default reads it
    )
    rendered: dict[str, list[str]] = {}
    for path, content in files.items():
        if path.endswith(".yml"):
            # StrictUndefined: a call of anything but doc() / var() (or a read of target) would raise here.
            rendered[path] = [env.from_string(text).render() for text in _strings(yaml.safe_load(content))]
    staging_strings = rendered["models/staging/canvas/_canvas__models.yml"]
    staging_yaml = "\n".join(staging_strings)
    con = duckdb.connect()
    for member in members:
        assert f"`{member}`" in staging_yaml  # the column's description lists the members
        # an accepted value: dbt's accepted_values writes it between quotes, which must read back as the member
        value = member.replace("'", "''")
        assert value in staging_strings and con.execute(f"SELECT '{value}'").fetchone() == (member,)
    for name in nested:
        assert f'"{name.replace(chr(34), chr(34) * 2)}" varchar' in staging_yaml
    # The staging model (SQL + Jinja) calls only the project's macros and config().
    model = files["models/staging/canvas/stg_canvas__courses.sql"]
    names = {node.name for node in env.parse(model).find_all(jinja2.nodes.Name)}
    assert names and all(name == "config" or name.startswith("cd2_") for name in names), names
    assert jinja_text(DROP) != DROP and env.from_string(jinja_text(DROP)).render() == DROP


def test_enum_members_that_would_break_sql_or_comments_are_not_written() -> None:
    injection = "1) or true; drop table raw_canvas.courses; --"
    bumped = _bumped_courses(
        Column("hostile_level", "integer", "int32", enum=(1, 2, injection)),
        Column("hostile_kind", "string", enum=("a", f"b{COMMENT_QUOTE}")),
    )
    schemas = [bumped if s.qualified_name == "canvas.courses" else s for s in bundled_schemas().values()]
    files = {str(f.path): f.content for f in codegen.generated_files(schemas)}
    models = yaml.safe_load(files["models/staging/canvas/_canvas__models.yml"])["models"]
    columns = {c["name"]: c for m in models if m["name"] == "stg_canvas__courses" for c in m["columns"]}
    assert "data_tests" not in columns["hostile_level"]  # a bare (quote=false) value would be SQL
    assert "One of 2 documented values" in columns["hostile_kind"]["description"]
    assert COMMENT_QUOTE not in columns["hostile_kind"]["description"]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# ---- end to end: the hostile fake API, cd2 sync and dbt ----------------------------------------------
@pytest.fixture(scope="module")
def synth_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synth-cache-hostile")


@pytest.fixture
def institution(synth_cache: Path, tmp_path: Path) -> Institution:
    return fresh_institution(synth_cache, tmp_path / "store")


def _tree(root: Path, db: Path) -> dict[str, str]:
    """Every file and folder under ``root`` with a digest of its content, but the database's own
    files (``cd2.duckdb``, its ``.wal``, its ``.lock``)."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        if path.parent == db.parent and path.name.startswith(db.name):
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        out[str(path.relative_to(root))] = digest
    return out


@pytest.mark.slow
def test_sync_of_a_hostile_api_touches_nothing_but_its_own_tables(institution: Institution, tmp_path: Path) -> None:
    home = tmp_path / "home"
    data = home / "data"
    data.mkdir(parents=True)
    db = data / "cd2.duckdb"
    # Sentinels around the database's folder, and where `x/../../../victim` points from the work folder.
    for sentinel in (home / "victim", home / "sibling", data / "sibling"):
        sentinel.mkdir()
        (sentinel / "keep.txt").write_text(f"keep {sentinel.name}", encoding="utf-8")
    (home / "keep.txt").write_text("keep home", encoding="utf-8")
    (data / "notes.txt").write_text("keep data", encoding="utf-8")
    before = _tree(home, db)
    legit = default_tables(institution.store)  # what `cd2 sync` takes when nothing names namespaces
    with serving(institution, hostile_names=True) as server:
        env = dict(os.environ, DAP_API_URL=server.url, DAP_CLIENT_ID=DEFAULT_CLIENT_ID)
        env["DAP_CLIENT_SECRET"] = DEFAULT_CLIENT_SECRET
        args = ["sync", "--db", str(db), "--table", "all", "--no-rate-limit", "--progress", "never"]
        run = subprocess.run(
            [sys.executable, "-m", "extract.cli", *args],
            env=env,
            cwd=home,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        requested = [r.path for r in server.request_log.records()]
        status = subprocess.run(
            [sys.executable, "-m", "extract.cli", "status", "--db", str(db), "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert run.returncode == 1, run.stderr[-3000:]
    # (a) nothing outside the work folder was touched, and the work folder is gone.
    after = _tree(home, db)
    assert after == before
    # No request was built from a hostile name (the legit-looking table's schema was asked, once).
    for path in requested:
        assert "victim" not in path and "drop" not in path.lower() and "forged" not in path.lower(), path
    assert [p for p in requested if f"/canvas/table/{HOSTILE_COLUMNS_TABLE}/" in p] == [
        f"/dap/query/canvas/table/{HOSTILE_COLUMNS_TABLE}/schema"
    ]
    # (b) the raw tables hold exactly the API's data; no schema or table came from a hostile name.
    assert replay_mismatches(db, institution.store, legit) == {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        relations = set(con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall())
        schemata = {r[0] for r in con.execute("SELECT schema_name FROM information_schema.schemata").fetchall()}
        batches = con.execute(
            "SELECT namespace || '.' || table_name, status, error_type, error_message FROM cd2_meta.batches"
        ).fetchall()
        versions = con.execute(
            "SELECT count(*), count(DISTINCT namespace || '.' || table_name) FROM cd2_meta.schema_versions"
        ).fetchone()
    finally:
        con.close()
    expected = {(f"raw_{q.split('.')[0]}", q.split(".")[1]) for q in legit}
    expected |= {("cd2_meta", t) for t in ("batches", "table_state", "schema_versions")}
    assert relations == expected
    assert schemata - {"main", "information_schema", "pg_catalog"} == {"cd2_meta", "raw_canvas", "raw_canvas_logs"}
    assert versions == (len(legit), len(legit))
    # (c) each hostile table is one failed table with a clear message; every other table is ok.
    committed = sorted(q for q, state, _, _ in batches if state == "committed")
    assert committed == sorted(legit)
    failed = {q: (error_type, message) for q, state, error_type, message in batches if state == "failed"}
    hostile = {f"canvas.{shown(t)}": f"unsafe table name {t!r}" for t in HOSTILE_TABLES}
    hostile[f"canvas.{HOSTILE_COLUMNS_TABLE}"] = f"unsafe column name {HOSTILE_COLUMNS[0]!r}"
    assert set(failed) == set(hostile)
    for qname, expected_text in hostile.items():
        error_type, message = failed[qname]
        assert error_type == "UnsafeNameError" and expected_text in message and message.isprintable(), message
    assert status.returncode == 0, status.stderr
    states = {s["table"]: s for s in json.loads(status.stdout)}
    assert {t for t, s in states.items() if s["last_status"] == "failed"} == set(hostile)
    # (d) no forged log line: until the summary every line of stderr is a log line.
    lines = run.stderr.splitlines()
    summary = next(i for i, line in enumerate(lines) if line.startswith("sync: "))
    assert [line for line in lines[:summary] if not LOG_LINE.match(line)] == []
    assert not any(line.lstrip().startswith("INFO forged line") for line in lines)
    assert "a\\nINFO forged line" in run.stderr


def _dbt(db: Path, work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, CD2_DB=db.name, CD2_TARGET="local", DBT_SEND_ANONYMOUS_USAGE_STATS="false", DO_NOT_TRACK="1")
    env.update(DBT_TARGET_PATH=str(work / "target"), DBT_LOG_PATH=str(work / "logs"))
    env.setdefault("CD2_PSEUDONYM_SECRET", "cd2-tests-only-not-a-secret")
    command = [str(DBT), *args, "--vars", dbt_vars(ROOT), "--project-dir", str(ROOT), "--profiles-dir", str(ROOT)]
    return subprocess.run(command, env=env, cwd=db.parent, capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.slow
@pytest.mark.parametrize("stem", ["cd2-prod", "full"])
def test_current_state_builds_whatever_the_database_file_is_called(
    stem: str, institution: Institution, tmp_path: Path
) -> None:
    """dbt's database name is the file's stem: `cd2-prod` needs quoting, `full` is a keyword."""
    db = tmp_path / "data" / f"{stem}.duckdb"
    db.parent.mkdir()
    tables = ["canvas.courses", "canvas.enrollments"]
    select = ("build", "--select", "canvas__courses", "canvas__enrollments", "cd2__deleted_rows")
    with serving(institution) as server:
        for step in ("snapshot", "incremental"):
            if step == "incremental":
                server.advance(12)
            assert run_sync(server, db, tables).ok
            built = _dbt(db, tmp_path / "dbt", *select)
            assert built.returncode == 0, f"{step}:\n{built.stdout[-4000:]}"
    con = duckdb.connect(str(db), read_only=True)
    try:
        state = con.execute(
            "SELECT namespace || '.' || table_name, batch_id = tested_batch_id FROM cd2_meta.model_state"
        ).fetchall()
        last = con.execute(
            "SELECT max(batch_id) FROM cd2_meta.batches WHERE table_name = 'courses' AND status = 'committed'"
        ).fetchone()
        recorded = con.execute("SELECT batch_id FROM cd2_meta.model_state WHERE table_name = 'courses'").fetchone()
        fingerprint = con.execute("SELECT count(*) FROM cd2_meta.project_state").fetchone()
    finally:
        con.close()
    assert dict(state) == {"canvas.courses": True, "canvas.enrollments": True, "cd2_audit.deleted_rows": None}
    assert recorded == last and fingerprint == (1,)
