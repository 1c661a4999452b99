"""End to end: the fake DAP API → ``cd2 sync`` → DuckDB, replayed and compared with the ground truth.

Every one of the 142 tables (canvas, canvas_logs, catalog), in each of the four formats: a snapshot, then
incrementals with inserts, updates and hard deletes and a schema version bump (a new column in the files). JSONL
and Parquet go on through a server-side reload (which forces a new snapshot) and one more
incremental; the reload is the same job-level exchange whatever the format, so CSV and TSV stop
after the bump. After every round the raw change log, replayed (latest row per key by
``meta.ts``, deletes removed), must equal the generator's ground truth exactly.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from extract.synth import Institution
from extract.tests.sync_helpers import fresh_institution, replay_mismatches, run_sync, serving

pytestmark = pytest.mark.slow

BUMPED = "canvas.courses"
RELOADED = "canvas.enrollments"
FULL_SEQUENCE = ("jsonl", "parquet")  # formats that also go through the reload


@pytest.fixture(scope="session")
def synth_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synth-cache")


@pytest.fixture
def institution(synth_cache: Path, tmp_path: Path) -> Institution:
    return fresh_institution(synth_cache, tmp_path / "store")


def _batches(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "csv", "tsv"])
def test_every_table_snapshot_then_incrementals_equals_truth(
    institution: Institution, tmp_path: Path, fmt: str
) -> None:
    store = institution.store
    tables = store.tables()
    assert len(tables) == 142 and len(store.tables("catalog")) == 28
    db = tmp_path / "cd2.duckdb"
    with serving(institution) as server:
        rounds = [
            ("snapshot", lambda: None),
            ("incremental", lambda: server.advance(6)),
            ("schema bump", lambda: (server.bump_schema(BUMPED), server.advance(3))),
            ("reload", lambda: (server.reload(RELOADED), server.advance(2))),
            ("incremental again", lambda: server.advance(8)),
        ]
        for name, step in rounds if fmt in FULL_SEQUENCE else rounds[:3]:
            step()
            report = run_sync(server, db, tables, fmt)
            assert report.ok, f"{name}: {[(r.qualified_name, r.error) for r in report.failed]}"
            assert replay_mismatches(db, store, tables) == {}, f"after {name} ({fmt})"

    kinds = dict(
        _batches(
            db,
            f"""SELECT reason, count(*) FROM cd2_meta.batches
                WHERE status = 'committed' AND namespace || '.' || table_name = '{RELOADED}' GROUP BY 1""",
        )
    )
    assert kinds.get("resnapshot: SnapshotRequired") == (1 if fmt in FULL_SEQUENCE else None), kinds
    versions = _batches(
        db,
        f"""SELECT DISTINCT schema_version FROM cd2_meta.batches
            WHERE status = 'committed' AND namespace || '.' || table_name = '{BUMPED}' ORDER BY 1""",
    )
    assert len(versions) == 2 and versions[1][0] == versions[0][0] + 1
    added = _batches(
        db,
        "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'raw_canvas' AND table_name = 'courses'",
    )
    assert added[0][0] == len(store.schema(BUMPED).columns) + 5  # CD2 columns + 5 load columns


def test_no_auto_resnapshot_fails_that_table_only(institution: Institution, tmp_path: Path) -> None:
    store = institution.store
    tables = ["canvas.accounts", RELOADED, "canvas.users"]
    db = tmp_path / "cd2.duckdb"
    with serving(institution) as server:
        assert run_sync(server, db, tables).ok
        server.reload(RELOADED)
        server.advance(2)
        report = run_sync(server, db, tables, auto_resnapshot=False)
        failed = {r.qualified_name: r for r in report.failed}
        assert set(failed) == {RELOADED}
        assert failed[RELOADED].error_type in ("SnapshotRequired", "SnapshotRequiredError")
        assert replay_mismatches(db, store, ["canvas.accounts", "canvas.users"]) == {}
        # The re-run with auto re-snapshot repairs it.
        assert run_sync(server, db, tables).ok
        assert replay_mismatches(db, store, tables) == {}


def test_closed_open_windows_are_handled_idempotently(institution: Institution, tmp_path: Path) -> None:
    """With ``since <= ts < until`` windows, rows at a boundary arrive twice; the replay is unchanged."""
    store = institution.store
    tables = store.tables()
    db = tmp_path / "cd2.duckdb"
    with serving(institution, window="closed-open") as server:
        assert run_sync(server, db, tables).ok
        server.advance(5)
        assert run_sync(server, db, tables).ok
        server.advance(5)
        assert run_sync(server, db, tables).ok
    # Rows committed exactly at the last `until` are only delivered by the next window.
    con = duckdb.connect(str(db), read_only=True)
    try:
        until = con.execute("SELECT max(until) FROM cd2_meta.batches").fetchone()
    finally:
        con.close()
    assert until is not None and until[0] == store.now
    lagging = replay_mismatches(db, store, tables)
    # Anything that differs must be explained by a change committed exactly at `now`.
    check = duckdb.connect()
    for qname in lagging:
        at_now = check.execute(
            f"SELECT count(*) FROM ({store.changes_sql(qname)}) WHERE meta_ts = TIMESTAMP '{store.now}'"
        ).fetchone()
        assert at_now and at_now[0] > 0, f"{qname} differs without a change at now"
