"""Collection order: the longest test files first.

``make test`` runs pytest on two workers with ``--dist loadfile --no-loadscope-reorder``: each
file goes whole to one worker, in collection order (xdist would otherwise order files by their
number of tests). Starting the longest files (the differential mart tests, then the dbt and
sync end-to-end tests) first keeps the short files for the rest of the time, instead of leaving
one worker alone with a long file at the end."""

from __future__ import annotations

import pytest

# by their time in the clean-clone run of 2026-12-07 (seconds of one worker; a busy machine
# doubles them all)
LONGEST_FIRST = (
    "test_round_equality.py",  # ~490 (seven rounds, each with a full rebuild)
    "test_dbt_e2e.py",  # 243
    "test_marts_differential_demo.py",  # 219
    "test_engines_differential.py",  # ~200
    "test_sync_e2e.py",  # ~165
    "test_crash_suite.py",  # ~160
    "test_marts_differential_tiny.py",  # ~150 (two seeds)
    "test_no_secret_leak.py",  # 114
    "test_lake.py",  # ~100
    "test_dbt_key_tests.py",  # 68
    "test_conformance_dap_cli.py",
    "test_sync_required_nulls.py",
)


def _rank(item: pytest.Item) -> int:
    name = item.path.name
    return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: the order inside a file is kept
