"""``cd2 sync --lake``: the Parquet lake holds, row for row, what the DuckDB file holds, and a batch is
visible whole, with its watermark, or not at all.

* One ``tiny`` institution synced into a DuckDB file and into a lake through a snapshot, an
  incremental, a schema bump (a new column) and a re-snapshot: after every round the lake's raw
  tables (read through ``extract.lake.duckdb_views``) equal the DuckDB file's row for row, and the
  truth; the watermarks, the schema versions and the batch log agree; the folders are what Spark,
  Databricks and Trino expect (``batch_id=<N>`` partitions of Parquet files, everything else
  hidden by a leading ``_`` or ``.``).
* ``kill -9`` of the real CLI at seeded moments (5 trials), then a re-run: equal to a clean run.
* The crash windows one by one: an unfinished batch folder is invisible and removed; lost
  ``cd2_meta`` files are rebuilt from the batch records; a failed attempt is logged and moves
  nothing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from extract.lake.layout import BATCH_RECORD, TEMP_PREFIX, LakeLayout
from extract.lake.state import LakeState, write_meta
from extract.synth import Institution
from extract.tests.sync_helpers import (
    FAULT_CLASSES,
    FAULT_TABLES,
    FAULT_TARGET,
    RAW_SCHEMAS,
    ClassTally,
    SyncKillBench,
    cd2,
    default_tables,
    fresh_institution,
    lake_database,
    landing_damage,
    orphans_in,
    record_reliability,
    row_differences,
    run_lake_sync,
    run_sync,
    serving,
    watermarks,
)

pytestmark = pytest.mark.slow

BUMPED = "canvas.courses"
RELOADED = "canvas.enrollments"
KILL_SEEDS = (4111, 4213, 4327, 4421, 4513)  # even positions: a snapshot, odd: an incremental


@pytest.fixture(scope="module")
def synth_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synth-cache-lake")


@pytest.fixture
def institution(synth_cache: Path, tmp_path: Path) -> Institution:
    return fresh_institution(synth_cache, tmp_path / "store")


def _meta_rows(db: Path, table: str, order: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(f"SELECT * FROM cd2_meta.{table} ORDER BY {order}").fetchall()
    finally:
        con.close()


def _batch_log(db: Path) -> list[tuple]:
    """Per table, its committed batches in order: kind, rows, upserts, deletes, watermark, version."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            """SELECT namespace, table_name, kind, rows, upserts, deletes, watermark, schema_version
               FROM cd2_meta.batches WHERE status = 'committed' ORDER BY namespace, table_name, batch_id"""
        ).fetchall()
    finally:
        con.close()


def _visible_files(lake: Path) -> list[Path]:
    """What a lake engine reads under raw/: names not starting with '_' or '.', in folders likewise."""
    return [
        p
        for p in (lake / "raw").rglob("*")
        if p.is_file() and not any(part.startswith(("_", ".")) for part in p.relative_to(lake).parts)
    ]


def test_the_lake_holds_what_the_duckdb_file_holds_through_incrementals_a_bump_and_a_resnapshot(
    institution: Institution, tmp_path: Path
) -> None:
    store = institution.store
    tables = default_tables(store)
    lake, db = tmp_path / "lake", tmp_path / "cd2.duckdb"
    with serving(institution) as server:
        rounds = [
            ("snapshot", lambda: None),
            ("incremental", lambda: server.advance(6)),
            ("schema bump", lambda: (server.bump_schema(BUMPED), server.advance(3))),
            ("reload", lambda: (server.reload(RELOADED), server.advance(2))),
        ]
        for name, step in rounds:
            step()
            into_lake, into_db = run_lake_sync(server, lake, tables), run_sync(server, db, tables)
            assert into_lake.ok, f"{name}: {[(r.qualified_name, r.error) for r in into_lake.failed]}"
            assert into_db.ok, f"{name}: {[(r.qualified_name, r.error) for r in into_db.failed]}"
            compared = lake_database(lake, tmp_path / f"lake-{name.replace(' ', '-')}.duckdb")
            assert row_differences(compared, db, RAW_SCHEMAS) == {}, f"after {name}"
            damage = landing_damage(compared, server.store, tables)
            assert damage.clean, f"after {name}: the lake differs from the truth: {damage}"
            assert orphans_in(compared) == [], f"after {name}"
            assert watermarks(compared) == watermarks(db), f"after {name}"
            assert _batch_log(compared) == _batch_log(db), f"after {name}"
            kinds = {r.qualified_name: r.kind for r in into_lake.results}
            assert kinds == {r.qualified_name: r.kind for r in into_db.results}, f"after {name}"

    # the bump added a column: in the lake's newest files of that table, null in its older ones
    added = store.schema(BUMPED).columns[-1].name
    con = duckdb.connect(str(compared), read_only=True)
    try:
        nulls_by_version = dict(
            con.execute(
                f'SELECT _schema_version, count("{added}") FROM raw_canvas.courses GROUP BY 1 ORDER BY 1'
            ).fetchall()
        )
    finally:
        con.close()
    assert len(nulls_by_version) == 2 and nulls_by_version[min(nulls_by_version)] == 0, nulls_by_version
    newest = max(LakeLayout(lake).table_dir("canvas", "courses").glob("batch_id=*"), key=lambda p: int(p.name[9:]))
    assert added in pq.read_schema(next(newest.glob("*.parquet"))).names
    versions = _meta_rows(compared, "schema_versions", "namespace, table_name, schema_version")
    assert [(v[0], v[1], v[2], json.loads(v[3])) for v in versions] == [
        (v[0], v[1], v[2], json.loads(v[3]))
        for v in _meta_rows(db, "schema_versions", "namespace, table_name, schema_version")
    ]
    # the reload's re-snapshot is a snapshot batch, as in the DuckDB file
    assert kinds[RELOADED] == "snapshot"

    # the layout lake engines expect: Parquet files in batch_id=<N> partitions; nothing else visible
    visible = _visible_files(lake)
    assert visible and all(p.suffix == ".parquet" and p.parent.name.startswith("batch_id=") for p in visible)
    partitions = [p for p in (lake / "raw").glob("*/*/*") if p.is_dir()]
    assert all(p.name.startswith("batch_id=") and (p / BATCH_RECORD).is_file() for p in partitions)
    assert len(partitions) == 4 * len(tables)  # one batch per table and round
    for name in ("batches", "table_state", "schema_versions"):
        assert (lake / "cd2_meta" / name / f"{name}.parquet").is_file()

    # cd2 status reads a lake as it reads the DuckDB file
    shown = cd2("status", "--lake", str(lake), "--json", url="http://127.0.0.1:9")
    assert shown.returncode == 0, shown.stderr
    from_db = cd2("status", "--db", str(db), "--json", url="http://127.0.0.1:9")
    assert from_db.returncode == 0, from_db.stderr
    keep = ("table", "watermark", "raw_rows", "schema_version", "last_kind", "last_status")
    assert [{k: s[k] for k in keep} for s in json.loads(shown.stdout)] == [
        {k: s[k] for k in keep} for s in json.loads(from_db.stdout)
    ]


def test_kill_9_of_a_lake_sync_then_a_rerun_lands_what_a_clean_run_lands(
    institution: Institution, tmp_path: Path
) -> None:
    tallies: dict[str, ClassTally] = {}
    with serving(institution) as server:
        bench = SyncKillBench(server, tmp_path / "sync", lake=True)
        results = [bench.trial(seed, SyncKillBench.KINDS[i % 2]) for i, seed in enumerate(KILL_SEEDS)]
    for result in results:
        result.tally(tallies)
    record_reliability(Path(".cache/reliability/crash_lake.json"), tallies, suite="fast", institution="tiny")
    assert [f"seed {r.seed}: {r.detail}" for r in results if not r.passed] == []
    killed = sum(r.interrupted for r in results)
    assert killed >= 3, f"only {killed} of {len(results)} kills came while cd2 sync --lake ran"


@pytest.fixture
def synced_lake(institution: Institution, tmp_path: Path) -> Iterator[tuple[Path, object]]:
    lake = tmp_path / "lake"
    with serving(institution) as server:
        report = run_lake_sync(server, lake, FAULT_TABLES)
        assert report.ok
        yield lake, server


def test_an_unfinished_batch_is_invisible_and_removed_by_the_next_sync(
    synced_lake: tuple[Path, object], tmp_path: Path
) -> None:
    lake, server = synced_lake
    before = lake_database(lake, tmp_path / "before.duckdb")
    # what a crash before the commit leaves: a hidden folder with a complete-looking file in it
    table_dir = LakeLayout(lake).table_dir("canvas", "courses")
    unfinished = table_dir / f"{TEMP_PREFIX}batch_id=999-crashed"
    shutil.copytree(next(table_dir.glob("batch_id=*")), unfinished)
    seen = lake_database(lake, tmp_path / "seen.duckdb")
    assert row_differences(seen, before, RAW_SCHEMAS) == {}  # readers never see it
    report = run_lake_sync(server, lake, FAULT_TABLES)  # type: ignore[arg-type]
    assert report.ok and not unfinished.exists()
    assert row_differences(lake_database(lake, tmp_path / "after.duckdb"), before, RAW_SCHEMAS) == {}


def _meta_files(lake: Path) -> dict[str, list[dict]]:
    return {
        name: pq.read_table(lake / "cd2_meta" / name / f"{name}.parquet").to_pylist()
        for name in ("batches", "table_state", "schema_versions")
    }


def test_lost_meta_files_are_rebuilt_from_the_batch_records(synced_lake: tuple[Path, object]) -> None:
    lake, _ = synced_lake
    before = _meta_files(lake)
    assert all(before.values())
    # a crash after a batch's rename and before cd2_meta was rewritten leaves cd2_meta behind
    shutil.rmtree(lake / "cd2_meta")
    state = LakeState.load(LakeLayout(lake))
    assert state.watermark("canvas", "courses") is not None  # from the partition's record
    write_meta(state)
    assert _meta_files(lake) == before


def test_a_failed_attempt_is_logged_and_moves_nothing(synced_lake: tuple[Path, object], tmp_path: Path) -> None:
    lake, server = synced_lake
    before = lake_database(lake, tmp_path / "before.duckdb")
    failing = next(c for c in FAULT_CLASSES if c.name == "failed job")
    server.advance(6)  # type: ignore[attr-defined]
    server.faults.add(*failing.make())  # type: ignore[attr-defined]
    try:
        report = run_lake_sync(server, lake, FAULT_TABLES)  # type: ignore[arg-type]
    finally:
        server.faults.clear()  # type: ignore[attr-defined]
    assert [r.qualified_name for r in report.failed] == [FAULT_TARGET]
    after = lake_database(lake, tmp_path / "after.duckdb")
    namespace, table = FAULT_TARGET.split(".")
    state = dict(((r[0], r[1]), r) for r in _meta_rows(after, "table_state", "namespace, table_name"))[
        (namespace, table)
    ]
    assert state[2] == watermarks(before)[FAULT_TARGET]  # the watermark did not move
    assert state[8] == "failed" and "simulated failure" in state[9]
    failures = list((lake / "cd2_meta" / "failures").glob("batch_id=*.json"))
    assert len(failures) == 1 and json.loads(failures[0].read_text())["table_name"] == table
    again = run_lake_sync(server, lake, FAULT_TABLES)  # type: ignore[arg-type]
    assert again.ok
    recovered = lake_database(lake, tmp_path / "recovered.duckdb")
    assert landing_damage(recovered, server.store, FAULT_TABLES).clean  # type: ignore[attr-defined]
