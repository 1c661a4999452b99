"""Collection order: the longest test files first.

``make test`` runs pytest on two workers with ``--dist loadfile --no-loadscope-reorder``: each
file goes whole to one worker, in collection order (xdist would otherwise order files by their
number of tests). Starting the longest files (the differential mart tests, then the dbt and
sync end-to-end tests) first keeps the short files for the rest of the time, instead of leaving
one worker alone with a long file at the end."""

from __future__ import annotations

import pytest

# by their time in the clean-clone runs of 2026-12-06 and 07 (seconds, roughly)
LONGEST_FIRST = (
    "test_dbt_e2e.py",  # ~580
    "test_marts_differential_demo.py",  # ~480
    "test_marts_differential_tiny.py",  # ~350 (two seeds)
    "test_sync_e2e.py",  # ~350
    "test_engines_differential.py",  # ~340
    "test_no_secret_leak.py",  # ~330
    "test_crash_suite.py",  # ~200
    "test_lake.py",  # ~170
    "test_dbt_key_tests.py",  # ~140
    "test_conformance_dap_cli.py",
    "test_sync_required_nulls.py",
)


def _rank(item: pytest.Item) -> int:
    name = item.path.name
    return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: the order inside a file is kept
