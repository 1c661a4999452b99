"""Marts == independent Python reference, round after round, on the ``demo`` institution (seeds 1).

See ``extract/tests/marts_differential.py`` for what is compared.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from extract.tests.marts_differential import build_rounds, check_privacy, check_rounds
from extract.tests.marts_reference import Truth

Warehouse = tuple[Path, list[Truth], list[str]]

pytestmark = pytest.mark.slow

SEEDS = [
    1,
]


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed{s}" for s in SEEDS])
def warehouse(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    return build_rounds("demo", request.param, tmp_path_factory.mktemp(f"marts-demo-{request.param}"))


def test_marts_equal_the_reference_after_every_round(warehouse: Warehouse) -> None:
    _, truths, failures = warehouse
    check_rounds(truths, failures)


def test_no_personal_column_or_value_reaches_a_mart(warehouse: Warehouse) -> None:
    db, truths, _ = warehouse
    check_privacy(db, truths)


def test_the_institution_exercises_the_activity_score_and_lti_marts(warehouse: Warehouse) -> None:
    """Issue 30: students differ enough that every octile is populated, and tools are launched
    from several placements by students and teachers."""
    db, _, _ = warehouse
    con = duckdb.connect(str(db), read_only=True)
    try:
        octiles = {
            value
            for (value,) in con.execute(
                "SELECT DISTINCT student_activity_score_octile FROM marts.mart_student_activity_score_weekly "
                "WHERE student_activity_score_octile IS NOT NULL"
            ).fetchall()
        }
        launches = con.execute(
            "SELECT count(DISTINCT placement), count(DISTINCT external_tool_id), "
            "sum(n_teacher_launches) FROM marts.mart_lti_tool_use"
        ).fetchone()
    finally:
        con.close()
    assert octiles == {k / 8 for k in range(1, 9)}, octiles
    assert launches is not None
    placements, tools, teacher_launches = launches
    assert placements >= 4 and tools >= 3 and teacher_launches > 0, launches
