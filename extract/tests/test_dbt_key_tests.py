"""The incremental key tests of the current-state models (tests/generic/*_incremental.sql).

`unique_incremental` / `not_null_incremental` check only the rows not yet tested: a
`_batch_id` newer than `cd2_meta.model_state.tested_batch_id`, which the on-run-end hook
advances when a model's key tests pass. This proves on a real build that they catch a
duplicate or a null key among new rows, keep failing until it is fixed (a failed run does not
advance the record), check the whole table with `CD2_FULL_KEY_TESTS=1` and after a full refresh,
and advance the record only when both pass.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from extract.tests.dbt_helpers import DbtProject
from extract.tests.sync_helpers import fresh_institution, run_sync, serving

pytestmark = pytest.mark.slow

MODELS = ("--select", "canvas__submissions", "canvas_logs__web_logs")
SUBMISSIONS = ("--select", "canvas__submissions")
FULL = {"CD2_FULL_KEY_TESTS": "1"}  # read at run time: no re-parse


def _state(db: Path, table: str) -> tuple[int | None, int | None]:
    """(batch_id, tested_batch_id) recorded for one current-state table."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            "SELECT batch_id, tested_batch_id FROM cd2_meta.model_state WHERE table_name = ?", [table]
        ).fetchone()
    finally:
        con.close()
    assert row is not None, f"nothing recorded for {table}"
    return row[0], row[1]


def _execute(db: Path, sql: str) -> None:
    con = duckdb.connect(str(db))
    try:
        con.execute(sql)
    finally:
        con.close()


def _copy_of_a_row(batch_id: str, key: str = "id") -> str:
    """SQL: a second copy of the submission with the smallest key, with the given `_batch_id`."""
    return (
        f"INSERT INTO canvas.submissions SELECT * REPLACE ({batch_id} AS _batch_id, {key} AS id) "
        "FROM canvas.submissions WHERE id = (SELECT min(id) FROM canvas.submissions)"
    )


def _failed_tests(dbt: DbtProject) -> set[str]:
    return {r["unique_id"].split(".")[2] for r in dbt.run_results()["results"] if r["status"] in ("fail", "error")}


def test_incremental_key_tests_check_unverified_rows(tmp_path: Path) -> None:
    institution = fresh_institution(tmp_path / "synth", tmp_path / "store")
    db = tmp_path / "cd2.duckdb"
    dbt = DbtProject(db, tmp_path / "dbt")
    tables = ["canvas.submissions", "canvas_logs.web_logs"]

    with serving(institution) as server:
        assert run_sync(server, db, tables).ok
        first = dbt.run("build", *MODELS)
        assert first.ok, first.output[-3000:]
        # a first build checks everything and then records every row as tested
        batch, tested = _state(db, "submissions")
        assert batch is not None and tested == batch
        assert _state(db, "web_logs")[1] == _state(db, "web_logs")[0]

        server.advance(6)
        assert run_sync(server, db, tables).ok
        merged = dbt.run("run", *MODELS)  # no tests: the new rows stay unverified
        assert merged.ok, merged.output[-3000:]
        new_batch, still_tested = _state(db, "submissions")
        assert new_batch is not None and new_batch > batch and still_tested == batch

    # A duplicate key and a null key among the unverified rows fail their tests, and keep failing.
    _execute(db, _copy_of_a_row(str(new_batch)))
    _execute(db, _copy_of_a_row(str(new_batch), key="NULL"))
    for _ in range(2):
        failing = dbt.run("test", *SUBMISSIONS)
        assert not failing.ok
        assert _failed_tests(dbt) == {
            "unique_incremental_canvas__submissions_id",
            "not_null_incremental_canvas__submissions_id",
        }
        assert _state(db, "submissions")[1] == batch  # not advanced by a failed run
    _execute(db, "DELETE FROM canvas.submissions WHERE id IS NULL OR id = (SELECT min(id) FROM canvas.submissions)")

    # One of the two key tests passing alone does not count the rows as tested.
    only_unique = dbt.run("test", "--select", "unique_incremental_canvas__submissions_id")
    assert only_unique.ok, only_unique.output[-3000:]
    assert _state(db, "submissions")[1] == batch

    # Fixed: the tests pass and the record advances to the model's batch.
    passing = dbt.run("test", *SUBMISSIONS)
    assert passing.ok, passing.output[-3000:]
    assert _state(db, "submissions") == (new_batch, new_batch)

    # A duplicate among rows already verified (written behind dbt's back) is out of the
    # incremental scope; the full check finds it.
    _execute(db, _copy_of_a_row(str(batch)))
    assert dbt.run("test", *SUBMISSIONS).ok
    assert not dbt.run("test", *SUBMISSIONS, extra_env=FULL).ok
    assert _failed_tests(dbt) == {"unique_incremental_canvas__submissions_id"}

    # A full refresh forgets what was tested: the whole rebuilt table is checked, then recorded.
    refreshed = dbt.run("build", *SUBMISSIONS, "--full-refresh")
    assert refreshed.ok, refreshed.output[-3000:]
    assert _state(db, "submissions") == (new_batch, new_batch)
    compiled = (tmp_path / "dbt" / "target" / "run").rglob("unique_incremental_canvas__submissions_id.sql")
    assert "_batch_id >" not in next(compiled).read_text(encoding="utf-8")
