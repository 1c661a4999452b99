"""NULLs in columns the CD2 schema calls required, and the version bump that makes them nullable.

Before 2026-04-27 CD2 held NULLs in 40 "required" columns of 25 tables and its export silently
dropped those rows; the fix made the columns optional, with a schema version bump of each table
that changed nothing else. The synthetic store can now write such rows (``null_required``) and
such a bump (``relax_schema``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from extract.schema import Column
from extract.synth import Institution, ensure_generated
from extract.synth.evolution import base_required_columns
from extract.synth.store import Store, StoreError
from extract.tests.fake_dap_fixtures import canonical

ASSIGNMENTS = "canvas.assignments"  # required: an array (JSON), enums, booleans, integers
ENROLLMENTS = "canvas.enrollments"  # required: timestamps, enums, foreign keys
WEB_LOGS = "canvas_logs.web_logs"  # required: a timestamp, an integer enum, an ip address
TABLES = (ASSIGNMENTS, ENROLLMENTS, WEB_LOGS)
RELAXED = ("workflow_state", "submission_types")  # the assignments columns the bump relaxes


def pristine(tmp_path_factory: pytest.TempPathFactory) -> Institution:
    return ensure_generated("tiny", 1, base_dir=tmp_path_factory.getbasetemp() / "synth-cache")


@pytest.fixture
def institution(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Institution:
    return pristine(tmp_path_factory).copy_to(tmp_path / "store")


def all_null(columns: Sequence[str]) -> str:
    return " AND ".join(f'"{c}" IS NULL' for c in columns)


def keys_with_nulls(store: Store, qname: str, columns: Sequence[str], at: datetime | None = None) -> set[tuple]:
    """Keys of the live rows (at ``at``) whose ``columns`` are all NULL, as the parsers key records."""
    key_columns = store.schema(qname).key_columns
    keys = ", ".join(f'"{c.name}"' for c in key_columns)
    sql = f"SELECT {keys} FROM ({store.truth_sql(qname, at)}) WHERE {all_null(columns)}"
    rows = duckdb.connect().execute(sql).fetchall()
    return {tuple(canonical(v, c) for v, c in zip(row, key_columns, strict=True)) for row in rows}


# ---- the store: rows with NULLs in required columns ------------------------------------------------
def test_null_required_resends_rows_with_the_required_columns_null(institution: Institution) -> None:
    store = institution.store
    required = base_required_columns(store, ENROLLMENTS)
    assert {"created_at", "workflow_state", "type", "course_id"} <= set(required)
    before = store.now
    assert keys_with_nulls(store, ENROLLMENTS, required) == set()  # the generator never writes them

    at = institution.null_required(ENROLLMENTS, rows=9)

    assert at > before and store.now == at and Store(institution.root).now == at  # committed
    nulled = keys_with_nulls(store, ENROLLMENTS, required)
    assert len(nulled) == 9
    con = duckdb.connect()
    changed = con.execute(
        f"SELECT count(*) FROM ({store.changes_sql(ENROLLMENTS)}) WHERE meta_ts = ? AND {all_null(required)}", [at]
    ).fetchone()
    assert changed == (9,)
    # The other columns are the row as it was: only the named columns became NULL.
    kept = [c.name for c in store.schema(ENROLLMENTS).columns if c.name not in required]
    cols = ", ".join(f'"{c}"' for c in kept)
    now_rows = f"SELECT {cols} FROM ({store.truth_sql(ENROLLMENTS)}) WHERE {all_null(required)}"
    old_rows = f"SELECT {cols} FROM ({store.truth_sql(ENROLLMENTS, before)})"
    assert con.execute(f"SELECT count(*) FROM (({now_rows}) EXCEPT ALL ({old_rows}))").fetchone() == (0,)
    # The schema is unchanged: the columns are still required (as they were before 2026-04-27).
    assert store.schema(ENROLLMENTS).version == 1
    assert [c.name for c in store.schema(ENROLLMENTS).required_value_columns] == required


def test_null_required_takes_chosen_columns_and_is_deterministic(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    first, second = (pristine(tmp_path_factory).copy_to(tmp_path / name) for name in ("a", "b"))
    for inst in (first, second):
        inst.null_required(ASSIGNMENTS, ["submission_types", "workflow_state"], rows=4)
    picked = keys_with_nulls(first.store, ASSIGNMENTS, ["submission_types", "workflow_state"])
    assert len(picked) == 4
    assert picked == keys_with_nulls(second.store, ASSIGNMENTS, ["submission_types", "workflow_state"])
    assert keys_with_nulls(first.store, ASSIGNMENTS, ["context_type"]) == set()  # not named: untouched


def test_null_required_refuses_keys_unknown_columns_and_no_rows(institution: Institution) -> None:
    with pytest.raises(ValueError, match="key column"):
        institution.null_required(ASSIGNMENTS, ["id"])
    with pytest.raises(KeyError, match="no column"):
        institution.null_required(ASSIGNMENTS, ["no_such_column"])
    with pytest.raises(ValueError, match="at least one column"):
        institution.null_required(ASSIGNMENTS, [])
    with pytest.raises(ValueError, match="rows"):
        institution.null_required(ASSIGNMENTS, rows=0)
    assert institution.store.commits == []  # nothing was written


# ---- the store: a version bump that only relaxes nullability -----------------------------------------
def test_relax_schema_is_a_version_that_only_changes_nullability(institution: Institution) -> None:
    store = institution.store
    old = store.schema(ASSIGNMENTS)
    before = store.now

    version = institution.relax_schema(ASSIGNMENTS, list(RELAXED))

    assert version == old.version + 1 == store.schema(ASSIGNMENTS).version
    assert store.now == before  # the clock does not move
    ((_, bumped_at),) = store.schema_versions(ASSIGNMENTS)[1:]
    assert bumped_at is not None and bumped_at > before
    new = store.schema(ASSIGNMENTS)
    assert [c.name for c in new.columns] == [c.name for c in old.columns]  # no column added
    for was, now in zip(old.columns, new.columns, strict=True):
        assert now.nullable == (was.nullable or was.name in RELAXED), was.name
        assert now.to_bundled() | {"nullable": was.nullable} == was.to_bundled()  # nothing else changed
    # Served documents: the relaxed columns leave value.required, all else is identical.
    old_doc, new_doc = old.to_dap_schema(), new.to_dap_schema()
    old_required = old_doc["properties"]["value"]["required"]
    assert set(RELAXED) <= set(old_required)
    assert new_doc["properties"]["value"]["required"] == [n for n in old_required if n not in RELAXED]
    new_doc["properties"]["value"]["required"] = old_required
    assert new_doc == old_doc
    # The version in force depends on the time; the manifest keeps it.
    assert store.schema(ASSIGNMENTS, before).version == old.version
    assert store.schema(ASSIGNMENTS, bumped_at) == new
    assert Store(institution.root).schema(ASSIGNMENTS) == new


def test_relax_schema_defaults_to_every_required_column(institution: Institution) -> None:
    store = institution.store
    assert store.schema(ENROLLMENTS).required_value_columns
    institution.relax_schema(ENROLLMENTS)
    assert store.schema(ENROLLMENTS).required_value_columns == ()
    assert "required" not in store.schema(ENROLLMENTS).to_dap_schema()["properties"]["value"]
    assert store.schema(ENROLLMENTS).primary_key == ("id",)  # keys stay required
    assert store.schema(ENROLLMENTS).to_dap_schema()["properties"]["key"]["required"] == ["id"]


def test_relax_schema_refuses_keys_unknown_already_nullable_and_past_times(institution: Institution) -> None:
    store = institution.store
    with pytest.raises(ValueError, match="key column"):
        institution.relax_schema(ASSIGNMENTS, ["id"])
    with pytest.raises(KeyError, match="no column"):
        institution.relax_schema(ASSIGNMENTS, ["no_such_column"])
    with pytest.raises(ValueError, match="already nullable"):
        institution.relax_schema(ASSIGNMENTS, ["description"])
    with pytest.raises(ValueError, match="at least one column"):
        institution.relax_schema(ASSIGNMENTS, [])
    with pytest.raises(StoreError, match="after now"):
        store.relax_schema(ASSIGNMENTS, ["workflow_state"], store.now)
    assert store.schema_versions(ASSIGNMENTS) == [(1, None)]
    institution.relax_schema(ASSIGNMENTS, ["workflow_state"])
    with pytest.raises(ValueError, match="already nullable"):  # a second bump cannot relax it again
        institution.relax_schema(ASSIGNMENTS, ["workflow_state"])


def test_added_and_relaxed_versions_stack_in_time(institution: Institution) -> None:
    store = institution.store
    added = Column(name="cd2_test_note", type="string")
    assert institution.bump_schema(ASSIGNMENTS, added) == 2
    first = institution.advance(1)
    assert institution.relax_schema(ASSIGNMENTS, ["workflow_state"]) == 3
    second = institution.advance(1)
    versions = store.schema_versions(ASSIGNMENTS)
    assert [v for v, _ in versions] == [1, 2, 3]
    at_2, at_3 = versions[1][1], versions[2][1]
    assert at_2 is not None and at_3 is not None and at_2 < first < at_3 < second
    assert store.schema(ASSIGNMENTS, first).column("workflow_state").nullable is False
    assert store.schema(ASSIGNMENTS, first).column("cd2_test_note") == added
    latest = store.schema(ASSIGNMENTS)
    assert latest.column("workflow_state").nullable and latest.columns[-1] == added
    reopened = Store(institution.root)
    assert [reopened.schema(ASSIGNMENTS, t).version for t in (first, second)] == [2, 3]


def test_a_manifest_written_before_relaxed_bumps_reads_unchanged(institution: Institution) -> None:
    """Format 1 manifests hold only added-column bumps; they read as before."""
    store = institution.store
    institution.bump_schema(ENROLLMENTS, Column(name="cd2_test_flag", type="boolean"))
    reopened = Store(institution.root)
    assert reopened.schema(ENROLLMENTS).columns[-1].name == "cd2_test_flag"
    assert reopened.schema_versions(ENROLLMENTS) == store.schema_versions(ENROLLMENTS)
    assert [set(b) for b in reopened._manifest["tables"][ENROLLMENTS]["bumps"]] == [{"at", "column"}]
