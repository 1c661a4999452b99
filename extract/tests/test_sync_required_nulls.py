"""End to end: rows whose "required" columns are NULL land whole, through CD2's nullability bump.

Before 2026-04-27 CD2's export silently dropped every row with a NULL in a column its schema calls
required (``value.required``); the fix made 40 such columns optional, with a schema version bump
of each of the 25 tables that changed nothing else. Here the fake API serves such rows, in every
format and NULL spelling, and ``cd2 sync`` (the command, in its own process) must land every one
of them with its NULLs; then two tables get the nullability-only bump, more rows with NULLs come
in an incremental, and the sync takes the new versions in place (dap_api.md §10.1: a version bump
forces no new snapshot) and still loses nothing. The current-state and staging models built by
dbt on such a landing hold the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import duckdb
import pytest

from extract.fake_dap import FakeDapServer
from extract.landing.tables import quote, raw_schema_name
from extract.synth import Institution
from extract.synth.evolution import base_required_columns
from extract.synth.store import Store
from extract.tests.dbt_helpers import DbtProject, current_state_mismatches
from extract.tests.sync_helpers import cd2, fresh_institution, replay_mismatches, replay_sql, serving, truth_sql
from extract.tests.test_required_nulls import (
    ASSIGNMENTS,
    ENROLLMENTS,
    RELAXED,
    TABLES,
    VARIANTS,
    WEB_LOGS,
    all_null,
    variant_id,
)

pytestmark = pytest.mark.slow

NULL_ROWS = 12  # rows re-sent with NULLs per table and commit
MODELS = (
    "canvas__assignments",
    "canvas__enrollments",
    "canvas_logs__web_logs",
    "stg_canvas__assignments",
    "stg_canvas__enrollments",
    "stg_canvas_logs__web_logs",
)
BUILD = ("build", "--select", *MODELS, "--indirect-selection", "cautious")


@pytest.fixture(scope="module")
def synth_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synth-cache-nulls")


@pytest.fixture
def institution(synth_cache: Path, tmp_path: Path) -> Institution:
    return fresh_institution(synth_cache, tmp_path / "store")


@pytest.fixture
def required(institution: Institution) -> dict[str, list[str]]:
    """What each table's first schema version calls required: the columns the rows leave NULL."""
    return {qname: base_required_columns(institution.store, qname) for qname in TABLES}


def sync(server: FakeDapServer, db: Path, fmt: str, csv_null: str) -> None:
    """``cd2 sync`` of the three tables; it must succeed."""
    tables = ",".join(q.split(".", 1)[1] for q in TABLES)
    done = cd2(
        "sync", "--db", str(db), "--no-rate-limit", "--format", fmt, "--csv-null", csv_null,
        "--namespace", "canvas,canvas_logs", "--table", tables, url=server.url,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


def rounds(server: FakeDapServer) -> Iterator[str]:
    """The store's moves, one per round; the caller syncs (and checks) after each.

    1. rows with NULLs in required columns, under the first schema versions (CD2 before 2026-04-27);
    2. the nullability-only bumps (assignments: two columns; enrollments: all; web_logs: none),
       more rows with NULLs after them, and ordinary activity."""
    for qname in TABLES:
        server.null_required(qname, rows=NULL_ROWS)
    yield "required columns hold NULLs"
    server.relax_schema(ASSIGNMENTS, list(RELAXED))
    server.relax_schema(ENROLLMENTS)
    for qname in TABLES:
        server.null_required(qname, rows=NULL_ROWS)
    server.advance(4)
    yield "after the nullability bump"


def null_keys(con: duckdb.DuckDBPyConnection, rows_sql: str, keys: Sequence[str], columns: Sequence[str]) -> set:
    key_list = ", ".join(quote(k) for k in keys)
    return set(con.execute(f"SELECT {key_list} FROM ({rows_sql}) WHERE {all_null(columns)}").fetchall())


def check_landed_whole(db: Path, store: Store, required: dict[str, list[str]], when: str) -> None:
    """The raw change logs replay to the truth exactly, and every row whose required columns are
    all NULL in the truth is there with them NULL (the comparison treats NULL as a value)."""
    assert replay_mismatches(db, store, TABLES) == {}, when
    con = duckdb.connect(str(db), read_only=True)
    try:
        for qname, columns in required.items():
            keys = store.schema(qname).primary_key
            expected = null_keys(con, truth_sql(con, store, qname), keys, columns)
            assert len(expected) >= NULL_ROWS, f"{when}: {qname} has only {len(expected)} rows with NULLs"
            assert null_keys(con, replay_sql(con, store, qname), keys, columns) == expected, f"{when}: {qname}"
    finally:
        con.close()


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def check_bump_taken_in_place(db: Path, store: Store) -> None:
    """Each table: one snapshot, then an incremental under the version in force; the versions seen
    are recorded with their schemas; no column was added to the raw tables."""
    batches = query(
        db,
        """SELECT namespace || '.' || table_name, kind, schema_version FROM cd2_meta.batches
           WHERE status = 'committed' ORDER BY batch_id""",
    )
    by_table = {q: [(kind, version) for t, kind, version in batches if t == q] for q in TABLES}
    assert by_table == {
        ASSIGNMENTS: [("snapshot", 1), ("incremental", 2)],
        ENROLLMENTS: [("snapshot", 1), ("incremental", 2)],
        WEB_LOGS: [("snapshot", 1), ("incremental", 1)],
    }
    seen = query(
        db,
        """SELECT namespace || '.' || table_name, schema_version,
                  CAST(schema_json -> '$.properties.value.required' AS VARCHAR)
           FROM cd2_meta.schema_versions ORDER BY 1, 2""",
    )
    versions = {(q, v): set(json.loads(required or "[]")) for q, v, required in seen}
    assert set(versions) == {(ASSIGNMENTS, 1), (ASSIGNMENTS, 2), (ENROLLMENTS, 1), (ENROLLMENTS, 2), (WEB_LOGS, 1)}
    assert set(RELAXED) <= versions[(ASSIGNMENTS, 1)]
    assert versions[(ASSIGNMENTS, 2)] == versions[(ASSIGNMENTS, 1)] - set(RELAXED)
    assert versions[(ENROLLMENTS, 1)] and versions[(ENROLLMENTS, 2)] == set()
    for qname in TABLES:
        namespace, table = qname.split(".", 1)
        columns = query(
            db,
            f"""SELECT count(*) FROM information_schema.columns
                WHERE table_schema = '{raw_schema_name(namespace)}' AND table_name = '{table}'""",
        )
        assert columns == [(len(store.schema(qname).columns) + 5,)], qname  # CD2 columns + 5 load columns
    state = query(db, "SELECT table_name, schema_version FROM cd2_meta.table_state ORDER BY 1")
    assert state == [("assignments", 2), ("enrollments", 2), ("web_logs", 1)]


@pytest.mark.parametrize("variant", VARIANTS, ids=variant_id)
def test_sync_lands_every_row_with_null_required_columns_through_the_bump(
    institution: Institution, required: dict[str, list[str]], tmp_path: Path, variant: tuple[str, dict[str, str]]
) -> None:
    fmt, settings = variant
    db = tmp_path / "cd2.duckdb"
    with serving(institution, **settings) as server:
        for when in rounds(server):
            sync(server, db, fmt, settings.get("csv_null", "empty"))
            check_landed_whole(db, institution.store, required, f"{variant_id(variant)}, {when}")
    check_bump_taken_in_place(db, institution.store)


def test_current_state_and_staging_keep_every_row_with_null_required_columns(
    institution: Institution, required: dict[str, list[str]], tmp_path: Path
) -> None:
    store = institution.store
    db = tmp_path / "cd2.duckdb"
    dbt = DbtProject(db, tmp_path / "dbt")
    with serving(institution) as server:
        for when in rounds(server):
            sync(server, db, "jsonl", "empty")
            built = dbt.run(*BUILD, "--threads", "2")  # the models and their tests (keys, accepted values)
            assert built.ok, f"dbt build {when}:\n{built.output[-4000:]}"
            assert current_state_mismatches(db, store, TABLES) == {}, when
            con = duckdb.connect(str(db), read_only=True)
            try:
                for qname, columns in required.items():
                    namespace, table = qname.split(".", 1)
                    keys = store.schema(qname).primary_key
                    current = f"SELECT * FROM {namespace}.{quote(table)}"
                    expected = null_keys(con, truth_sql(con, store, qname), keys, columns)
                    assert null_keys(con, current, keys, columns) == expected and expected, f"{when}: {qname}"
                    staged = con.execute(f"SELECT count(*) FROM staging.stg_{namespace}__{table}").fetchone()
                    whole = con.execute(f"SELECT count(*) FROM {namespace}.{quote(table)}").fetchone()
                    assert staged == whole, f"{when}: staging of {qname}"
            finally:
                con.close()
    tests = [r for r in dbt.run_results()["results"] if r["unique_id"].startswith("test.")]
    assert tests and all(r["status"] == "pass" for r in tests)
    assert any("accepted_values" in r["unique_id"] and "workflow_state" in r["unique_id"] for r in tests)
