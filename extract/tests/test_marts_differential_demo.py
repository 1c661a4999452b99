"""Marts == independent Python reference, round after round, on the ``demo`` institution (seeds 1).

See ``extract/tests/marts_differential.py`` for what is compared.
"""

from __future__ import annotations

from pathlib import Path

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
