"""NULLs in columns the CD2 schema calls required, and the version bump that makes them nullable.

Before 2026-04-27 CD2 held NULLs in 40 "required" columns of 25 tables and its export silently
dropped those rows; the fix made the columns optional, with a schema version bump of each table
that changed nothing else. The synthetic store can now write such rows (``null_required``) and
such a bump (``relax_schema``), and the fake serves both: the rows in every format, the schema
with the columns in ``value.required`` before the bump and without them after.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import requests

from extract.fake_dap import FakeDapServer, ServerConfig
from extract.schema import Column
from extract.synth import Institution, ensure_generated
from extract.synth.evolution import base_required_columns
from extract.synth.store import Store, StoreError
from extract.tests.fake_dap_fixtures import (
    DapTestClient,
    canonical,
    expected_records,
    parse_csv,
    parse_records,
)
from extract.timeutil import iso_z

ASSIGNMENTS = "canvas.assignments"  # required: an array (JSON), enums, booleans, integers
ENROLLMENTS = "canvas.enrollments"  # required: timestamps, enums, foreign keys
WEB_LOGS = "canvas_logs.web_logs"  # required: a timestamp, an integer enum, an ip address
TABLES = (ASSIGNMENTS, ENROLLMENTS, WEB_LOGS)
RETENTION = timedelta(days=30)
RELAXED = ("workflow_state", "submission_types")  # the assignments columns the bump relaxes
# (format, server settings): every way the fake writes a NULL
VARIANTS = (
    ("jsonl", {}),
    ("jsonl", {"jsonl_nulls": "explicit"}),
    ("tsv", {}),
    ("csv", {}),
    ("csv", {"csv_null": "NULL"}),
    ("parquet", {}),
)


def variant_id(variant: tuple[str, dict[str, str]]) -> str:
    fmt, settings = variant
    return "-".join([fmt, *settings.values()])


def pristine(tmp_path_factory: pytest.TempPathFactory) -> Institution:
    return ensure_generated("tiny", 1, base_dir=tmp_path_factory.getbasetemp() / "synth-cache")


@pytest.fixture
def institution(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Institution:
    return pristine(tmp_path_factory).copy_to(tmp_path / "store")


def all_null(columns: Sequence[str]) -> str:
    return " AND ".join(f'"{c}" IS NULL' for c in columns)


def keys_with_nulls(store: Store, qname: str, columns: Sequence[str], at: datetime | None = None) -> set[tuple]:
    """Keys of the live rows (at ``at``) whose ``columns`` are all NULL, as the parsers key records."""
    key_columns = store.schema(qname).key_columns
    keys = ", ".join(f'"{c.name}"' for c in key_columns)
    sql = f"SELECT {keys} FROM ({store.truth_sql(qname, at)}) WHERE {all_null(columns)}"
    rows = duckdb.connect().execute(sql).fetchall()
    return {tuple(canonical(v, c) for v, c in zip(row, key_columns, strict=True)) for row in rows}


# ---- the store: rows with NULLs in required columns ------------------------------------------------
def test_null_required_resends_rows_with_the_required_columns_null(institution: Institution) -> None:
    store = institution.store
    required = base_required_columns(store, ENROLLMENTS)
    assert {"created_at", "workflow_state", "type", "course_id"} <= set(required)
    before = store.now
    assert keys_with_nulls(store, ENROLLMENTS, required) == set()  # the generator never writes them

    at = institution.null_required(ENROLLMENTS, rows=9)

    assert at > before and store.now == at and Store(institution.root).now == at  # committed
    nulled = keys_with_nulls(store, ENROLLMENTS, required)
    assert len(nulled) == 9
    con = duckdb.connect()
    changed = con.execute(
        f"SELECT count(*) FROM ({store.changes_sql(ENROLLMENTS)}) WHERE meta_ts = ? AND {all_null(required)}", [at]
    ).fetchone()
    assert changed == (9,)
    # The other columns are the row as it was: only the named columns became NULL.
    kept = [c.name for c in store.schema(ENROLLMENTS).columns if c.name not in required]
    cols = ", ".join(f'"{c}"' for c in kept)
    now_rows = f"SELECT {cols} FROM ({store.truth_sql(ENROLLMENTS)}) WHERE {all_null(required)}"
    old_rows = f"SELECT {cols} FROM ({store.truth_sql(ENROLLMENTS, before)})"
    assert con.execute(f"SELECT count(*) FROM (({now_rows}) EXCEPT ALL ({old_rows}))").fetchone() == (0,)
    # The schema is unchanged: the columns are still required (as they were before 2026-04-27).
    assert store.schema(ENROLLMENTS).version == 1
    assert [c.name for c in store.schema(ENROLLMENTS).required_value_columns] == required


def test_null_required_takes_chosen_columns_and_is_deterministic(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    first, second = (pristine(tmp_path_factory).copy_to(tmp_path / name) for name in ("a", "b"))
    for inst in (first, second):
        inst.null_required(ASSIGNMENTS, ["submission_types", "workflow_state"], rows=4)
    picked = keys_with_nulls(first.store, ASSIGNMENTS, ["submission_types", "workflow_state"])
    assert len(picked) == 4
    assert picked == keys_with_nulls(second.store, ASSIGNMENTS, ["submission_types", "workflow_state"])
    assert keys_with_nulls(first.store, ASSIGNMENTS, ["context_type"]) == set()  # not named: untouched


def test_null_required_refuses_keys_unknown_columns_and_no_rows(institution: Institution) -> None:
    with pytest.raises(ValueError, match="key column"):
        institution.null_required(ASSIGNMENTS, ["id"])
    with pytest.raises(KeyError, match="no column"):
        institution.null_required(ASSIGNMENTS, ["no_such_column"])
    with pytest.raises(ValueError, match="at least one column"):
        institution.null_required(ASSIGNMENTS, [])
    with pytest.raises(ValueError, match="rows"):
        institution.null_required(ASSIGNMENTS, rows=0)
    assert institution.store.commits == []  # nothing was written


# ---- the store: a version bump that only relaxes nullability -----------------------------------------
def test_relax_schema_is_a_version_that_only_changes_nullability(institution: Institution) -> None:
    store = institution.store
    old = store.schema(ASSIGNMENTS)
    before = store.now

    version = institution.relax_schema(ASSIGNMENTS, list(RELAXED))

    assert version == old.version + 1 == store.schema(ASSIGNMENTS).version
    assert store.now == before  # the clock does not move
    ((_, bumped_at),) = store.schema_versions(ASSIGNMENTS)[1:]
    assert bumped_at is not None and bumped_at > before
    new = store.schema(ASSIGNMENTS)
    assert [c.name for c in new.columns] == [c.name for c in old.columns]  # no column added
    for was, now in zip(old.columns, new.columns, strict=True):
        assert now.nullable == (was.nullable or was.name in RELAXED), was.name
        assert now.to_bundled() | {"nullable": was.nullable} == was.to_bundled()  # nothing else changed
    # Served documents: the relaxed columns leave value.required, all else is identical.
    old_doc, new_doc = old.to_dap_schema(), new.to_dap_schema()
    old_required = old_doc["properties"]["value"]["required"]
    assert set(RELAXED) <= set(old_required)
    assert new_doc["properties"]["value"]["required"] == [n for n in old_required if n not in RELAXED]
    new_doc["properties"]["value"]["required"] = old_required
    assert new_doc == old_doc
    # The version in force depends on the time; the manifest keeps it.
    assert store.schema(ASSIGNMENTS, before).version == old.version
    assert store.schema(ASSIGNMENTS, bumped_at) == new
    assert Store(institution.root).schema(ASSIGNMENTS) == new


def test_relax_schema_defaults_to_every_required_column(institution: Institution) -> None:
    store = institution.store
    assert store.schema(ENROLLMENTS).required_value_columns
    institution.relax_schema(ENROLLMENTS)
    assert store.schema(ENROLLMENTS).required_value_columns == ()
    assert "required" not in store.schema(ENROLLMENTS).to_dap_schema()["properties"]["value"]
    assert store.schema(ENROLLMENTS).primary_key == ("id",)  # keys stay required
    assert store.schema(ENROLLMENTS).to_dap_schema()["properties"]["key"]["required"] == ["id"]


def test_relax_schema_refuses_keys_unknown_already_nullable_and_past_times(institution: Institution) -> None:
    store = institution.store
    with pytest.raises(ValueError, match="key column"):
        institution.relax_schema(ASSIGNMENTS, ["id"])
    with pytest.raises(KeyError, match="no column"):
        institution.relax_schema(ASSIGNMENTS, ["no_such_column"])
    with pytest.raises(ValueError, match="already nullable"):
        institution.relax_schema(ASSIGNMENTS, ["description"])
    with pytest.raises(ValueError, match="at least one column"):
        institution.relax_schema(ASSIGNMENTS, [])
    with pytest.raises(StoreError, match="after now"):
        store.relax_schema(ASSIGNMENTS, ["workflow_state"], store.now)
    assert store.schema_versions(ASSIGNMENTS) == [(1, None)]
    institution.relax_schema(ASSIGNMENTS, ["workflow_state"])
    with pytest.raises(ValueError, match="already nullable"):  # a second bump cannot relax it again
        institution.relax_schema(ASSIGNMENTS, ["workflow_state"])


def test_added_and_relaxed_versions_stack_in_time(institution: Institution) -> None:
    store = institution.store
    added = Column(name="cd2_test_note", type="string")
    assert institution.bump_schema(ASSIGNMENTS, added) == 2
    first = institution.advance(1)
    assert institution.relax_schema(ASSIGNMENTS, ["workflow_state"]) == 3
    second = institution.advance(1)
    versions = store.schema_versions(ASSIGNMENTS)
    assert [v for v, _ in versions] == [1, 2, 3]
    at_2, at_3 = versions[1][1], versions[2][1]
    assert at_2 is not None and at_3 is not None and at_2 < first < at_3 < second
    assert store.schema(ASSIGNMENTS, first).column("workflow_state").nullable is False
    assert store.schema(ASSIGNMENTS, first).column("cd2_test_note") == added
    latest = store.schema(ASSIGNMENTS)
    assert latest.column("workflow_state").nullable and latest.columns[-1] == added
    reopened = Store(institution.root)
    assert [reopened.schema(ASSIGNMENTS, t).version for t in (first, second)] == [2, 3]


def test_a_manifest_written_before_relaxed_bumps_reads_unchanged(institution: Institution) -> None:
    """Format 1 manifests hold only added-column bumps; they read as before."""
    store = institution.store
    institution.bump_schema(ENROLLMENTS, Column(name="cd2_test_flag", type="boolean"))
    reopened = Store(institution.root)
    assert reopened.schema(ENROLLMENTS).columns[-1].name == "cd2_test_flag"
    assert reopened.schema_versions(ENROLLMENTS) == store.schema_versions(ENROLLMENTS)
    assert [set(b) for b in reopened._manifest["tables"][ENROLLMENTS]["bumps"]] == [{"at", "column"}]


# ---- the fake API serves both --------------------------------------------------------------------------
@dataclass
class World:
    """An institution whose rows hold NULLs in required columns, before and after a relaxed bump."""

    institution: Institution
    start: datetime  # the store's now before anything changed
    first_nulls: datetime  # the commit of the first null rows (all still under version 1)
    relaxed_at: datetime  # when assignments' version 2 comes into force
    required: dict[str, list[str]]  # what each table's first version calls required

    @property
    def store(self) -> Store:
        return self.institution.store


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    institution = pristine(tmp_path_factory).copy_to(tmp_path_factory.mktemp("nulls") / "store")
    store = institution.store
    start = store.now
    required = {q: base_required_columns(store, q) for q in TABLES}
    first = start
    for qname in TABLES:
        first = institution.null_required(qname, rows=6)
    institution.relax_schema(ASSIGNMENTS, list(RELAXED))
    relaxed_at = store.schema_versions(ASSIGNMENTS)[1][1]
    assert relaxed_at is not None
    for qname in TABLES:
        institution.null_required(qname, rows=4)
    institution.advance(2)
    return World(institution, start, first, relaxed_at, required)


@pytest.fixture(scope="module")
def servers(world: World) -> Iterator[dict[str, tuple[FakeDapServer, DapTestClient]]]:
    """One logged-in server per variant (the settings change the bytes), all on the world's store."""
    running: dict[str, tuple[FakeDapServer, DapTestClient]] = {}
    try:
        for variant in VARIANTS:
            server = FakeDapServer(world.store, ServerConfig(rows_per_file=50, **variant[1])).start()
            client = DapTestClient(server.url, server.config.client_id, server.config.client_secret)
            assert client.login().status_code == 200
            running[variant_id(variant)] = (server, client)
        yield running
    finally:
        for server, _ in running.values():
            server.stop()


def served(
    client: DapTestClient, world: World, qname: str, fmt: str, settings: dict[str, str], incremental: bool
) -> tuple[dict, dict[tuple, dict]]:
    """The job and its records, parsed by the fixtures' independent parsers."""
    body: dict[str, str] = {"format": fmt, "mode": "condensed"}
    if incremental:
        body["since"] = iso_z(world.start)
    job = client.create_job(qname, **body).json()
    assert job["status"] == "complete", job
    schema = world.store.schema(qname)
    records: dict[tuple, dict] = {}
    for _, data in client.job_files(job):
        records.update(parse_records(fmt, "condensed", data, schema, incremental, **settings))
    return job, records


@pytest.mark.parametrize("qname", TABLES)
@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
@pytest.mark.parametrize("incremental", [False, True], ids=["snapshot", "incremental"])
def test_rows_with_required_nulls_are_served_in_every_format(
    world: World,
    servers: dict[str, tuple[FakeDapServer, DapTestClient]],
    qname: str,
    variant: tuple[str, dict[str, str]],
    incremental: bool,
) -> None:
    fmt, settings = variant
    _, client = servers[variant_id(variant)]
    _, got = served(client, world, qname, fmt, settings, incremental)
    store = world.store
    if incremental:
        sql = store.window_sql(qname, world.start, store.now)
    else:  # a web_logs snapshot holds the last 30 days
        sql = store.truth_sql(qname, store.now, store.now - RETENTION if qname == WEB_LOGS else None)
    assert got == expected_records(store, sql, store.schema(qname), incremental)
    nulled = keys_with_nulls(store, qname, world.required[qname])
    assert len(nulled) >= 8, "null rows of both commits survive the advance"
    for key in nulled:
        value = got[key]["value"]
        assert value is not None and not set(world.required[qname]) & set(value), (key, value)


def test_schema_endpoint_and_jobs_carry_the_version_in_force(
    world: World, servers: dict[str, tuple[FakeDapServer, DapTestClient]]
) -> None:
    _, client = servers[variant_id(VARIANTS[0])]
    body = client.get("/dap/query/canvas/table/assignments/schema").json()
    relaxed = world.store.schema(ASSIGNMENTS)
    assert body == {"schema": relaxed.to_dap_schema(), "version": 2}
    assert not set(RELAXED) & set(body["schema"]["properties"]["value"]["required"])
    # A window that ends before the bump is served with version 1, one after it with version 2.
    before = client.create_job(
        ASSIGNMENTS, format="jsonl", since=iso_z(world.start), until=iso_z(world.first_nulls)
    ).json()
    after = client.create_job(ASSIGNMENTS, format="jsonl", since=iso_z(world.start)).json()
    assert (before["schema_version"], after["schema_version"]) == (1, 2)
    # Tables without a bump keep version 1 although their rows hold NULLs in required columns.
    enrollments = client.get("/dap/query/canvas/table/enrollments/schema").json()
    assert enrollments["version"] == 1
    assert set(world.required[ENROLLMENTS]) == set(enrollments["schema"]["properties"]["value"]["required"])


@pytest.mark.parametrize("explicit", [False, True], ids=["omitted", "explicit"])
def test_jsonl_spells_a_null_required_value_as_absent_or_null(
    world: World, servers: dict[str, tuple[FakeDapServer, DapTestClient]], explicit: bool
) -> None:
    _, client = servers[variant_id(("jsonl", {"jsonl_nulls": "explicit"} if explicit else {}))]
    job = client.create_job(ENROLLMENTS, format="jsonl").json()
    lines = [line for _, data in client.job_files(job) for line in gzip.decompress(data).decode().splitlines()]
    filled = [line for line in lines if '"created_at":"' in line]
    nulled = [line for line in lines if '"created_at":"' not in line]
    assert len(nulled) >= 8 and len(filled) > len(nulled)  # created_at is required: only the null rows lack it
    if explicit:
        assert all('"created_at":null' in line and '"workflow_state":null' in line for line in nulled)
    else:
        assert not any(":null" in line for line in lines)


@pytest.mark.parametrize("csv_null", ["empty", "NULL"])
def test_csv_writes_a_null_required_value_by_its_setting(
    world: World, servers: dict[str, tuple[FakeDapServer, DapTestClient]], csv_null: str
) -> None:
    _, client = servers[variant_id(("csv", {} if csv_null == "empty" else {"csv_null": "NULL"}))]
    job = client.create_job(ENROLLMENTS, format="csv", mode="condensed").json()
    cells = []
    for _, data in client.job_files(job):  # every part starts with the header
        header, *records = parse_csv(gzip.decompress(data).decode("utf-8"))
        column = [name for name, _ in header].index("value.created_at")
        cells += [record[column] for record in records]
    null_cells = {cell for cell in cells if not cell[0][:1].isdigit()}
    assert null_cells == {("" if csv_null == "empty" else "NULL", False)}  # unquoted
    assert sum(1 for cell in cells if cell in null_cells) >= 8


def test_control_endpoints_relax_a_schema_and_write_null_rows(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    institution = pristine(tmp_path_factory).copy_to(tmp_path / "store")
    store = institution.store
    with FakeDapServer(
        store,
        ServerConfig(),
        advance=institution.advance,
        relax_schema=institution.relax_schema,
        null_required=institution.null_required,
    ) as server:
        control = f"{server.url}/__fake__"
        r = requests.post(f"{control}/null_required", json={"table": ENROLLMENTS, "columns": ["type"], "rows": 3})
        assert r.status_code == 200, r.text
        assert r.json() == {"table": ENROLLMENTS, "at": iso_z(store.now)}
        assert len(keys_with_nulls(store, ENROLLMENTS, ["type"])) == 3
        r = requests.post(f"{control}/relax_schema", json={"table": ENROLLMENTS, "columns": ["type"]})
        assert r.json() == {"table": ENROLLMENTS, "version": 2}
        # Like an added column, the new version is served once the clock has passed it.
        assert requests.get(f"{control}/state").json()["tables"][ENROLLMENTS]["version"] == 1
        assert requests.post(f"{control}/advance", json={"hours": 1}).status_code == 200
        assert requests.get(f"{control}/state").json()["tables"][ENROLLMENTS]["version"] == 2
        r = requests.post(f"{control}/relax_schema", json={"table": ASSIGNMENTS})  # every required column
        assert r.json() == {"table": ASSIGNMENTS, "version": 2}
        assert store.schema(ASSIGNMENTS).required_value_columns == ()
        for path, body, fragment in (
            ("relax_schema", {"table": ENROLLMENTS, "columns": ["type"]}, "already nullable"),
            ("relax_schema", {"table": ENROLLMENTS, "columns": ["id"]}, "key column"),
            ("relax_schema", {"table": ENROLLMENTS, "columns": "type"}, "list of column names"),
            ("null_required", {"table": ENROLLMENTS, "columns": ["nope"]}, "no column"),
            ("null_required", {"table": ENROLLMENTS, "rows": 0}, "positive integer"),
        ):
            r = requests.post(f"{control}/{path}", json=body)
            assert r.status_code == 400 and fragment in r.text, (path, body, r.text)
        assert store.schema(ENROLLMENTS).version == 2
