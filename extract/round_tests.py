"""Tests per round on what changed: what ``cd2 run`` hands dbt so a selective round tests only the
rows its models changed (the dbt side: ``macros/round/cd2_round_tests.sql``).

``cd2_meta.round_tests`` holds, per model whose rows carry a batch mark, the mark up to which its
rows passed every data test (written by the on-run-end hook). A round that builds only what
changed hands those records to dbt in ``CD2_ROUND_TESTED_THROUGH``; a round that builds
everything (first build, changed code, ``--build-all``) hands nothing, so every test checks every
row. ``CD2_FULL_TESTS=1`` (the weekly full check) overrides the records inside dbt.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Set
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from extract.database import open_database
from extract.landing.tables import META_SCHEMA

ROUND_TESTS_ENV = "CD2_ROUND_TESTED_THROUGH"
FULL_TESTS_ENV = "CD2_FULL_TESTS"
# The generic tests the dbt side narrows (cd2_round_test_filter in macros/round/cd2_round_tests.sql):
# row by row ones to the newer rows, key ones to the rows sharing a key with a newer row.
NARROWED_TESTS = (
    "not_null",
    "accepted_values",
    "relationships",
    "expression_is_true",
    "unique",
    "unique_combination_of_columns",
)


def recorded_marks(db: Path) -> dict[str, tuple[str, int]]:
    """``schema.relation`` (lower case) -> (mark column, highest mark its rows passed their tests
    on); empty before the first record or without a database."""
    if not db.exists():
        return {}
    con = open_database(db, read_only=True, allow_foreign=True)
    try:
        rows = con.execute(
            f"SELECT relation, mark_column, tested_through FROM {META_SCHEMA}.round_tests "
            "WHERE tested_through IS NOT NULL"
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    finally:
        con.close()
    return {str(relation).lower(): (str(column), int(mark)) for relation, column, mark in rows}


def handed(records: dict[str, tuple[str, int]]) -> str:
    """The value of ``CD2_ROUND_TESTED_THROUGH`` for ``records`` (what the dbt macros read)."""
    return json.dumps({relation: [column, mark] for relation, (column, mark) in sorted(records.items())})


@contextmanager
def narrowed_tests(records: dict[str, tuple[str, int]] | None) -> Iterator[None]:
    """dbt, run inside, narrows the tests of the recorded models to their newer rows; ``None``:
    every test checks every row (the variable is removed for the block). Restored after."""
    before = os.environ.get(ROUND_TESTS_ENV)
    if records:
        os.environ[ROUND_TESTS_ENV] = handed(records)
    else:
        os.environ.pop(ROUND_TESTS_ENV, None)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ROUND_TESTS_ENV, None)
        else:
            os.environ[ROUND_TESTS_ENV] = before


def narrowed_to_no_row(manifest: Any, records: dict[str, tuple[str, int]], built: Set[str]) -> list[str]:
    """The tests a narrowed round would run over no row, to leave out (unique ids): narrowed tests
    of a recorded model the round does not build. dbt's eager selection picks them when another
    of their parents is built (a relationship test from an unchanged child to a rebuilt parent);
    narrowed to the child's newer rows, of which it has none, each would cost a query for nothing.
    A rebuilt parent's removed rows are the weekly full check's (DECISIONLOG)."""
    idle: list[str] = []
    nodes = manifest.nodes
    for unique_id, node in nodes.items():
        test = getattr(node, "test_metadata", None)
        if _kind(node) != "test" or test is None or test.name not in NARROWED_TESTS:
            continue
        model = nodes.get(getattr(node, "attached_node", None) or "")
        if model is None or _kind(model) != "model" or model.name in built:
            continue
        parents = [nodes[p] for p in node.depends_on.nodes if p in nodes]
        picked = any(parent.name in built for parent in parents)  # else not selected anyway
        if picked and f"{model.schema}.{model.alias or model.name}".lower() in records:
            idle.append(unique_id)
    return sorted(idle)


def _kind(node: Any) -> str:
    return str(getattr(node.resource_type, "value", node.resource_type))
