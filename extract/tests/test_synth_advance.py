"""Advancing the synthetic institution: change batches, schema bumps and server-side reloads."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from extract.schema import Column
from extract.synth import Institution
from extract.synth.ids import model_name
from extract.synth.store import Store
from extract.tests.test_synth import (
    EXCLUSIVE_STATUSES_BROKEN,
    dangling_references,
    file_bytes,
    one,
    tiny_store,
    truth_connection,
)

DOMAIN_TABLES_WITH_DELETES = ("enrollments", "discussion_entries", "content_tags", "submission_comments", "scores")


def batch(store: Store, qname: str, after: datetime, until: datetime) -> dict[str, int]:
    """Rows per action that ``qname`` committed in (after, until]."""
    rows = (
        duckdb.connect()
        .execute(
            f"""SELECT meta_action, count(*) FROM ({store.changes_sql(qname)})
                WHERE meta_ts > ? AND meta_ts <= ? GROUP BY 1""",
            [after, until],
        )
        .fetchall()
    )
    return {action: int(n) for action, n in rows}


@pytest.fixture(scope="module")
def advanced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Institution, list[datetime]]:
    """A private copy of tiny advanced twice (4 h, then 24 h); returns it and its clock readings."""
    inst = tiny_store(tmp_path_factory).copy_to(tmp_path_factory.mktemp("advanced") / "store")
    clocks = [inst.store.now]
    clocks.append(inst.advance(4))
    clocks.append(inst.advance(24))
    return inst, clocks


def test_advance_moves_the_clock_and_records_commits(advanced: tuple[Institution, list[datetime]]) -> None:
    inst, clocks = advanced
    start, first, second = clocks
    assert first == start + timedelta(hours=4) and second == first + timedelta(hours=24)
    assert inst.store.now == second
    assert inst.store.commits == [first, second]
    assert Store(inst.root).now == second  # persisted


def test_batches_lie_inside_their_window(advanced: tuple[Institution, list[datetime]]) -> None:
    inst, clocks = advanced
    store = inst.store
    for before, after in itertools.pairwise(clocks):
        at_end = 0
        touched = 0
        for qname in store.tables():
            overlapping = [f for f in store.files(qname) if f.min_ts <= after and f.max_ts > before]
            new_files = [f for f in overlapping if f.min_ts > before and f.max_ts <= after]
            assert overlapping == new_files, qname
            assert len(new_files) <= 1, qname  # one batch per table per advance
            touched += len(new_files)
            at_end += sum(1 for f in new_files if f.max_ts == after)
        assert touched >= 10
        assert at_end >= 1  # some row is committed exactly at the new now


def test_advance_writes_updates_inserts_and_hard_deletes(advanced: tuple[Institution, list[datetime]]) -> None:
    inst, clocks = advanced
    store = inst.store
    for before, after in itertools.pairwise(clocks):
        actions = {model_name(q): batch(store, q, before, after) for q in store.tables()}
        with_deletes = {t for t, a in actions.items() if a.get("D")}
        with_updates = {t for t, a in actions.items() if a.get("U")}
        assert len(with_deletes) >= 4, with_deletes
        assert {"enrollments", "discussion_entries", "content_tags", "submission_comments"} <= with_deletes
        assert {"web_logs", "submissions", "enrollments", "scores", "pseudonyms"} <= with_updates
        assert len(with_updates - set(DOMAIN_TABLES_WITH_DELETES)) >= 8
        assert actions["web_logs"].get("D", 0) == 0


def test_deleted_keys_were_live_and_are_gone(advanced: tuple[Institution, list[datetime]]) -> None:
    inst, clocks = advanced
    store = inst.store
    con = duckdb.connect()
    for before, after in itertools.pairwise(clocks):
        for qname in store.tables():
            key = store.schema(qname).primary_key[0]
            deleted = (
                f"SELECT {key} FROM ({store.changes_sql(qname)}) WHERE meta_action = 'D' AND meta_ts > ? AND meta_ts "
                "<= ?"
            )
            live_before = f"SELECT {key} FROM ({store.truth_sql(qname, before)})"
            live_after = f"SELECT {key} FROM ({store.truth_sql(qname, after)})"
            n_deleted = one(con, f"SELECT count(*) FROM ({deleted})", before, after)
            if not n_deleted:
                continue
            assert one(con, f"SELECT count(*) FROM ({deleted}) WHERE {key} NOT IN ({live_before})", before, after) == 0
            assert one(con, f"SELECT count(*) FROM ({deleted}) WHERE {key} IN ({live_after})", before, after) == 0


def test_truth_changes_as_work_is_submitted_and_graded(advanced: tuple[Institution, list[datetime]]) -> None:
    inst, clocks = advanced
    store = inst.store
    con = duckdb.connect()
    start, _, end = clocks
    moved = f"""
        SELECT b.workflow_state AS before, a.workflow_state AS after, count(*) AS n
        FROM ({store.truth_sql("canvas.submissions", start)}) b JOIN ({store.truth_sql("canvas.submissions", end)}) a
            USING (id)
        WHERE a.workflow_state <> b.workflow_state GROUP BY ALL"""
    transitions = {(b, a): n for b, a, n in con.execute(moved).fetchall()}
    assert transitions.get(("unsubmitted", "submitted"), 0) + transitions.get(("unsubmitted", "graded"), 0) >= 1
    assert transitions.get(("submitted", "graded"), 0) >= 1
    new_rows = f"""SELECT count(*) FROM ({store.truth_sql("canvas.submissions", end)})
                   WHERE id NOT IN (SELECT id FROM ({store.truth_sql("canvas.submissions", start)}))"""
    assert one(con, new_rows) >= 1
    graded_later = f"""SELECT count(*) FROM ({store.truth_sql("canvas.submissions", end)})
                       WHERE graded_at > ? AND graded_at <= ? AND grader_id IS NOT NULL"""
    assert one(con, graded_later, start, end) >= 1
    rescored = f"""SELECT count(*) FROM ({store.truth_sql("canvas.scores", end)}) a
                   JOIN ({store.truth_sql("canvas.scores", start)}) b USING (id)
                   WHERE a.current_score IS DISTINCT FROM b.current_score"""
    assert one(con, rescored) >= 1
    for table in ("users", "enrollments", "assignments", "discussion_entries"):
        grown = f"""SELECT count(*) FROM ({store.truth_sql("canvas." + table, end)})
                    WHERE id NOT IN (SELECT id FROM ({store.truth_sql("canvas." + table, start)}))"""
        assert one(con, grown) >= 1, table
    # teachers set statuses as in Canvas: excused, custom status and late policy status stay exclusive
    statuses = duckdb.connect()
    statuses.execute(f"CREATE TABLE submissions AS {store.truth_sql('canvas.submissions', end)}")
    assert one(statuses, EXCLUSIVE_STATUSES_BROKEN) == 0
    custom_later = f"""SELECT count(*) FROM ({store.truth_sql("canvas.submissions", end)}) a
                       JOIN ({store.truth_sql("canvas.submissions", start)}) b USING (id)
                       WHERE a.custom_grade_status_id IS NOT NULL AND b.custom_grade_status_id IS NULL"""
    assert one(con, custom_later) >= 1


def test_event_times_agree_with_commit_times(advanced: tuple[Institution, list[datetime]]) -> None:
    inst, clocks = advanced
    store = inst.store
    con = duckdb.connect()
    start, end = clocks[0], clocks[-1]
    for qname, column in [("canvas.submissions", "updated_at"), ("canvas_logs.web_logs", "timestamp"),
                          ("canvas.enrollments", "updated_at")]:  # fmt: skip
        late = f"""SELECT count(*) FROM ({store.changes_sql(qname)})
                   WHERE meta_ts > ? AND meta_ts <= ? AND meta_action = 'U' AND "{column}" > meta_ts"""
        assert one(con, late, start, end) == 0, qname


def test_web_logs_only_grow(advanced: tuple[Institution, list[datetime]]) -> None:
    inst, clocks = advanced
    store = inst.store
    con = duckdb.connect()
    counts = [one(con, f"SELECT count(*) FROM ({store.truth_sql('canvas_logs.web_logs', at)})") for at in clocks]
    assert counts[0] < counts[1] < counts[2]
    kept = f"""SELECT count(*) FROM ({store.truth_sql("canvas_logs.web_logs", clocks[0])})
               WHERE id NOT IN (SELECT id FROM ({store.truth_sql("canvas_logs.web_logs", clocks[2])}))"""
    assert one(con, kept) == 0
    fresh = f"""SELECT min("timestamp"), max("timestamp") FROM ({store.truth_sql("canvas_logs.web_logs", clocks[2])})
                WHERE id NOT IN (SELECT id FROM ({store.truth_sql("canvas_logs.web_logs", clocks[0])}))"""
    low, high = con.execute(fresh).fetchall()[0]
    assert clocks[0] < low and high <= clocks[2]
    # about the initial rate: 20k rows over 40 days is ~21 rows an hour
    assert 100 <= counts[2] - counts[0] <= 2_000


def test_advanced_store_keeps_its_foreign_keys(advanced: tuple[Institution, list[datetime]]) -> None:
    inst, _ = advanced
    assert dangling_references(inst.store, truth_connection(inst.store)) == []


def test_advance_is_deterministic(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    base = tiny_store(tmp_path_factory)
    one_copy, other_copy = base.copy_to(tmp_path / "a"), base.copy_to(tmp_path / "b")
    assert one_copy.advance(6) == other_copy.advance(6)
    assert file_bytes(one_copy.root) == {
        name.replace(str(tmp_path / "b"), str(tmp_path / "a")): data
        for name, data in file_bytes(other_copy.root).items()
    }


def test_advance_rejects_a_non_positive_window(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    inst = tiny_store(tmp_path_factory).copy_to(tmp_path / "s")
    for hours in (0, -1):
        with pytest.raises(ValueError, match="positive"):
            inst.advance(hours)
    assert inst.store.commits == []


def test_bump_schema_adds_a_column_later_rows_carry(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    inst = tiny_store(tmp_path_factory).copy_to(tmp_path / "s")
    store = inst.store
    before = store.now
    version = inst.bump_schema("canvas.submissions")
    assert version == 2 and store.schema("canvas.submissions").version == 2
    added = store.schema("canvas.submissions").columns[-1]
    assert added.name.startswith("cd2_synth_added_") and added.nullable
    assert store.now == before  # the clock does not move
    assert Store(inst.root).schema("canvas.submissions").version == 2  # persisted
    custom = Column(name="pronunciation", type="string", max_length=100)
    assert inst.bump_schema("canvas.users", custom) == 2

    after = inst.advance(4)
    con = duckdb.connect()
    bumped_at = store.schema_versions("canvas.submissions")[1][1]
    assert before < bumped_at < after
    rows = f"""SELECT count(*), count("{added.name}") FROM ({store.changes_sql("canvas.submissions")})
               WHERE meta_ts > ? AND meta_action = 'U'"""
    written, filled = con.execute(rows, [before]).fetchall()[0]
    assert written >= 10 and filled == written
    restamped = f"""SELECT count(*) FROM ({store.truth_sql("canvas.submissions")})
                    WHERE "{added.name}" IS NOT NULL AND updated_at <= ?"""
    assert one(con, restamped, before) >= 1  # unchanged rows re-sent with the new column
    assert one(con, f"SELECT count(pronunciation) FROM ({store.truth_sql('canvas.users')})") >= 1
    old_view = store.truth_sql("canvas.submissions", before)
    assert added.name not in duckdb.connect().sql(f"SELECT * FROM ({old_view}) LIMIT 0").columns
    with pytest.raises(ValueError, match="already has a column"):
        inst.bump_schema("canvas.users", custom)


def test_reload_restamps_and_silently_drops_keys(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    inst = tiny_store(tmp_path_factory).copy_to(tmp_path / "s")
    store = inst.store
    before = store.now
    live_before = one(duckdb.connect(), f"SELECT count(*) FROM ({store.truth_sql('canvas.enrollments')})")
    reloaded_at = inst.reload("canvas.enrollments", drop_fraction=0.05)
    assert reloaded_at > before and store.now == reloaded_at
    assert store.reloads("canvas.enrollments") == [reloaded_at]
    assert store.last_reload("canvas.enrollments") == reloaded_at
    con = duckdb.connect()
    actions = batch(store, "canvas.enrollments", before, reloaded_at)
    assert set(actions) == {"U", "X"}
    assert actions["U"] + actions["X"] == live_before and actions["X"] >= 1
    live_after = one(con, f"SELECT count(*) FROM ({store.truth_sql('canvas.enrollments')})")
    assert live_after == live_before - actions["X"]
    window = store.window_sql("canvas.enrollments", before, reloaded_at)
    assert one(con, f"SELECT count(*) FROM ({window}) WHERE meta_action = 'D'") == 0
    assert one(con, f"SELECT count(*) FROM ({window})") == actions["U"]
    same_values = f"""SELECT count(*) FROM ({store.truth_sql("canvas.enrollments", before)}) b
                      JOIN ({store.truth_sql("canvas.enrollments")}) a USING (id)
                      WHERE a.workflow_state IS DISTINCT FROM b.workflow_state OR a.updated_at IS DISTINCT FROM
                          b.updated_at"""
    assert one(con, same_values) == 0
    assert inst.advance(1) > reloaded_at  # the institution keeps going after a reload


def test_late_rows_are_new_records_with_old_event_times(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    inst = tiny_store(tmp_path_factory).copy_to(tmp_path / "s")
    store = inst.store
    inst.advance(4)
    before = store.now
    live_before = one(duckdb.connect(), f"SELECT count(*) FROM ({store.truth_sql('canvas_logs.web_logs')})")
    at = inst.late_rows("canvas_logs.web_logs", rows=25, older_than_hours=48)
    assert at > before and store.now == at
    con = duckdb.connect()
    window = store.window_sql("canvas_logs.web_logs", before, at)
    assert one(con, f"SELECT count(*) FROM ({window}) WHERE meta_action = 'U'") == 25
    # every one is older than 48 h by its event time, and none replaces an existing request
    cutoff = (at - timedelta(hours=48)).isoformat(sep=" ")
    assert one(con, f"SELECT count(*) FROM ({window}) WHERE \"timestamp\" >= TIMESTAMP '{cutoff}'") == 0
    live_after = one(con, f"SELECT count(*) FROM ({store.truth_sql('canvas_logs.web_logs')})")
    assert live_after == live_before + 25
    with pytest.raises(ValueError, match="no live rows older than"):
        inst.late_rows("canvas_logs.web_logs", older_than_hours=24 * 365 * 30)
    with pytest.raises(ValueError, match="at least 1"):
        inst.late_rows("canvas_logs.web_logs", rows=0)
