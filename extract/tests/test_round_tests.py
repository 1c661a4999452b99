"""Tests per round on what changed (macros/round/cd2_round_tests.sql, extract/round_tests.py).

On a real build of ``canvas.users``: the on-run-end hook records the batch up to which
``stg_canvas__users``' rows passed every test; handed that record (as ``cd2 run`` hands it in a
selective round), each test checks only newer rows (``unique``: every row sharing a key with a
newer one). Proved both ways: faults planted among rows already tested are out of the round's
scope and found by the full check (``CD2_FULL_TESTS=1``); faults among newer rows fail the round's
tests, and the record advances only once every test passes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from extract.round_plan import RoundPlan
from extract.round_tests import (
    FULL_TESTS_ENV,
    NARROWED_TESTS,
    ROUND_TESTS_ENV,
    handed,
    narrowed_tests,
    narrowed_to_no_row,
    recorded_marks,
)
from extract.run import NO_NEW_ROWS_TAG, ROUND_TAG, UNCHANGED_TAG, round_selection
from extract.tests.dbt_helpers import ROOT, DbtProject
from extract.tests.sync_helpers import fresh_institution, run_sync, serving

STAGING = "staging.stg_canvas__users"
CAUTIOUS = ("--indirect-selection", "cautious")  # not the tests of other models that refer to users
USERS = ("--select", "stg_canvas__users", *CAUTIOUS)
UNIQUE, NOT_NULL = "unique_stg_canvas__users_user_id", "not_null_stg_canvas__users_user_id"
RELATIONSHIP = "relationships_stg_canvas__users_merged_into_user_id__user_id__ref_stg_canvas__users_"


def _execute(db: Path, *statements: str) -> None:
    con = duckdb.connect(str(db))
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()


def _copy_of_a_user(batch: int, key: str = "id", merged_into: str = "merged_into_user_id") -> str:
    """SQL: a copy of the user with the smallest id, with the given id, `_batch_id` and merge target."""
    return (
        f"INSERT INTO canvas.users SELECT * REPLACE ({batch} AS _batch_id, {key} AS id, "
        f"{merged_into} AS merged_into_user_id) FROM canvas.users WHERE id = (SELECT min(id) FROM canvas.users)"
    )


def _statuses(dbt: DbtProject) -> dict[str, str]:
    return {r["unique_id"].split(".")[2]: r["status"] for r in dbt.run_results()["results"]}


def _failed(dbt: DbtProject) -> set[str]:
    return {name for name, status in _statuses(dbt).items() if status in ("fail", "error")}


def _relationship_status(dbt: DbtProject) -> str:
    return next(status for name, status in _statuses(dbt).items() if name.startswith(RELATIONSHIP))


@pytest.mark.slow
def test_a_round_tests_the_rows_it_changed_and_the_full_check_every_row(tmp_path: Path) -> None:
    institution = fresh_institution(tmp_path / "synth", tmp_path / "store")
    db = tmp_path / "cd2.duckdb"
    dbt = DbtProject(db, tmp_path / "dbt")
    with serving(institution) as server:
        assert run_sync(server, db, ["canvas.users"]).ok
    built = dbt.run("build", "--select", "canvas__users", "stg_canvas__users", *CAUTIOUS)
    assert built.ok, built.output[-3000:]
    con = duckdb.connect(str(db), read_only=True)
    batch = con.execute("SELECT max(_batch_id) FROM canvas.users").fetchone()[0]
    con.close()
    assert recorded_marks(db)[STAGING] == ("_batch_id", batch)  # every row tested by the build

    def round_test(*extra: str, full: bool = False) -> bool:
        env = {ROUND_TESTS_ENV: handed(recorded_marks(db))} | ({FULL_TESTS_ENV: "1"} if full else {})
        return dbt.run("test", *USERS, *extra, extra_env=env).ok

    # Faults among rows already tested (written behind dbt's back): out of the round's scope.
    _execute(db, _copy_of_a_user(batch), _copy_of_a_user(batch, key="-7", merged_into="-5"))
    assert round_test(), _statuses(dbt)
    assert _relationship_status(dbt) == "pass"
    compiled = next((tmp_path / "dbt" / "target" / "run").rglob(f"{UNIQUE}.sql")).read_text(encoding="utf-8")
    assert f'"_batch_id" > {batch}' in compiled and "user_id) in (select user_id" in compiled
    # ... and found by the full check (the weekly run), which leaves the record where it was.
    assert not round_test(full=True)
    assert _failed(dbt) == {UNIQUE} and _relationship_status(dbt) == "warn"
    assert recorded_marks(db)[STAGING] == ("_batch_id", batch)
    _execute(
        db,
        "DELETE FROM canvas.users WHERE id = -7",
        "DELETE FROM canvas.users WHERE rowid = "
        "(SELECT max(rowid) FROM canvas.users WHERE id = (SELECT min(id) FROM canvas.users))",
    )
    assert round_test(full=True), _statuses(dbt)

    # Faults among newer rows fail the round: a new row duplicating an old key, a new null key.
    newer = batch + 1000
    _execute(db, _copy_of_a_user(newer), _copy_of_a_user(newer, key="NULL"))
    for _ in range(2):  # and keep failing: a failed run does not advance the record
        assert not round_test()
        assert _failed(dbt) == {UNIQUE, NOT_NULL}
        assert recorded_marks(db)[STAGING] == ("_batch_id", batch)

    # Fixed, with a valid newer row: the tests pass and the record advances to it.
    _execute(
        db,
        f"DELETE FROM canvas.users WHERE _batch_id = {newer}",
        _copy_of_a_user(newer, key="(SELECT max(id) + 1 FROM canvas.users)"),
    )
    assert round_test()
    assert recorded_marks(db)[STAGING] == ("_batch_id", newer)


def test_only_a_selective_round_hands_the_records_to_dbt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ROUND_TESTS_ENV, "left by a caller")
    records = {"staging.stg_canvas__users": ("_batch_id", 41)}
    with narrowed_tests(records):
        assert os.environ[ROUND_TESTS_ENV] == '{"staging.stg_canvas__users": ["_batch_id", 41]}'
    with narrowed_tests({}):  # a round that builds everything tests every row
        assert ROUND_TESTS_ENV not in os.environ
    assert os.environ[ROUND_TESTS_ENV] == "left by a caller"
    assert recorded_marks(Path("/nonexistent/cd2.duckdb")) == {}


def _node(unique_id: str, kind: str, name: str, schema: str = "", **extra: object) -> SimpleNamespace:
    fields = {"unique_id": unique_id, "resource_type": kind, "name": name, "schema": schema, "alias": None}
    return SimpleNamespace(**fields, tags=[], **extra)


def _test(name: str, attached: str, test: str, *others: str) -> SimpleNamespace:
    return _node(
        f"test.cd2.{name}",
        "test",
        name,
        attached_node=attached,
        test_metadata=SimpleNamespace(name=test),
        depends_on=SimpleNamespace(nodes=[attached, *others]),
    )


def test_a_round_leaves_out_the_tests_it_would_narrow_to_no_row() -> None:
    nodes = [
        _node("model.cd2.stg_built", "model", "stg_built", "staging"),
        _node("model.cd2.stg_fresh", "model", "stg_fresh", "staging"),
        _node("model.cd2.mart", "model", "mart", "marts"),  # no mark: its tests check every row
        _test("unique_stg_built_id", "model.cd2.stg_built", "unique"),
        # from an unchanged child to a rebuilt parent: eager selection picks it, it has no new row
        _test("relationships_stg_fresh_parent", "model.cd2.stg_fresh", "relationships", "model.cd2.stg_built"),
        _test("not_null_stg_fresh_id", "model.cd2.stg_fresh", "not_null"),  # not selected anyway
        _test("custom_stg_fresh", "model.cd2.stg_fresh", "some_custom_test", "model.cd2.stg_built"),  # runs
        _test("not_null_mart_id", "model.cd2.mart", "not_null"),
        _node("test.cd2.singular", "test", "singular", attached_node=None, test_metadata=None, depends_on=None),
    ]
    manifest = SimpleNamespace(nodes={n.unique_id: n for n in nodes})
    records = {"staging.stg_built": ("_batch_id", 5), "staging.stg_fresh": ("_batch_id", 5)}
    idle = narrowed_to_no_row(manifest, records, {"stg_built", "mart"})
    assert idle == ["test.cd2.relationships_stg_fresh_parent"]
    assert narrowed_to_no_row(manifest, {}, {"stg_built"}) == []  # nothing narrowed: nothing idle

    plan = RoundPlan(["stg_built", "mart"], fresh=["stg_fresh"])
    with round_selection(manifest, plan, None, idle) as args:
        assert args == ["--select", f"tag:{ROUND_TAG}", "--exclude", f"tag:{NO_NEW_ROWS_TAG}"]
        assert [n.name for n in nodes if NO_NEW_ROWS_TAG in n.tags] == ["relationships_stg_fresh_parent"]
    with round_selection(manifest, plan, "staging", idle) as args:  # the user's own selection
        assert args == ["--exclude", f"tag:{NO_NEW_ROWS_TAG}", f"tag:{UNCHANGED_TAG}"]
    assert all(not n.tags for n in nodes)


def test_python_and_the_macro_narrow_the_same_tests() -> None:
    macro = (ROOT / "macros" / "round" / "cd2_round_tests.sql").read_text(encoding="utf-8")
    named = set(re.findall(r"'([a-z_]+)'", macro.split("macro cd2_round_test_filter", 1)[1].split("endmacro", 1)[0]))
    assert set(NARROWED_TESTS) <= named
    assert {"not_null", "accepted_values", "relationships", "expression_is_true"} <= set(NARROWED_TESTS)
