"""The round's plan (extract/round_plan.py) and the docs site's key (extract/docs_state.py)."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from extract import docs_state
from extract.round_plan import Node, RoundPlan, fresh_nodes, mark_pending, nodes_of, plan_round, standing_views
from extract.run import ROUND_TAG, UNCHANGED_TAG, round_selection
from extract.unchanged import code_fingerprint, same_shape_models


def _node(
    name: str,
    *parents: str,
    current_state: bool = False,
    ephemeral: bool = False,
    kind: str = "model",
    view: bool = False,
) -> Node:
    return Node(
        unique_id=f"{kind}.cd2.{name}",
        kind=kind,
        name=name,
        schema="s",
        relation=name,
        ephemeral=ephemeral,
        current_state=current_state,
        parents=parents,
        view=view,
    )


# canvas__a -> stg_a -> int_ab <- stg_b <- canvas__b; int_ab -> mart; source -> as_of -> mart_now
NODES = {
    n.unique_id: n
    for n in (
        _node("canvas__a", "source.cd2.raw.a", current_state=True),
        _node("canvas__b", "source.cd2.raw.b", current_state=True),
        _node("stg_a", "model.cd2.canvas__a"),
        _node("stg_b", "model.cd2.canvas__b"),
        _node("int_ab", "model.cd2.stg_a", "model.cd2.stg_b"),
        _node("mart", "model.cd2.int_ab"),
        _node("eph_b", "model.cd2.stg_b", ephemeral=True),
        _node("mart_b", "model.cd2.eph_b", "seed.cd2.codes"),
        _node("codes", kind="seed"),
        _node("as_of", "source.cd2.meta.table_state"),
        _node("mart_now", "model.cd2.as_of", "model.cd2.stg_b"),
    )
}
ALL_RELATIONS = {("s", n.relation) for n in NODES.values() if not n.ephemeral}


def _fresh(
    unchanged: list[str], existing: set[tuple[str, str]] = ALL_RELATIONS, pending: AbstractSet[str] = frozenset()
) -> set[str]:
    return {NODES[uid].name for uid in fresh_nodes(NODES, unchanged, existing, set(pending))}


def test_a_change_reaches_every_model_downstream_and_no_other() -> None:
    assert _fresh(["canvas__a", "canvas__b"]) == {
        "canvas__a", "canvas__b", "stg_a", "stg_b", "int_ab", "mart", "eph_b", "mart_b", "codes"
    }  # fmt: skip
    assert _fresh(["canvas__b"]) == {"canvas__b", "stg_b", "eph_b", "mart_b", "codes"}
    assert _fresh(["canvas__a"]) == {"canvas__a", "stg_a", "codes"}


def test_a_model_reading_a_source_is_always_built_with_what_follows() -> None:
    fresh = _fresh(["canvas__a", "canvas__b"])
    assert "as_of" not in fresh and "mart_now" not in fresh


def test_a_missing_relation_or_a_pending_model_is_built_with_what_follows() -> None:
    assert "int_ab" not in _fresh(["canvas__a", "canvas__b"], existing=ALL_RELATIONS - {("s", "int_ab")})
    fresh = _fresh(["canvas__a", "canvas__b"], pending={"stg_a"})
    assert not {"stg_a", "int_ab", "mart"} & fresh and {"stg_b", "mart_b"} <= fresh
    assert "mart_b" not in _fresh(["canvas__a", "canvas__b"], pending={"codes"})  # a seed that did not load


def test_relations_match_whatever_their_case() -> None:
    upper = {(schema.upper(), name.upper()) for schema, name in ALL_RELATIONS}
    assert _fresh(["canvas__a", "canvas__b"], existing={(s.lower(), n.lower()) for s, n in upper}) == _fresh(
        ["canvas__a", "canvas__b"]
    )


def _manifest() -> SimpleNamespace:
    def dbt_node(node: Node) -> SimpleNamespace:
        return SimpleNamespace(
            resource_type=node.kind,
            name=node.name,
            schema=node.schema,
            alias=node.relation,
            tags=["cd2_current_state"] if node.current_state else [],
            config=SimpleNamespace(enabled=True, materialized="ephemeral" if node.ephemeral else "table"),
            depends_on=SimpleNamespace(nodes=list(node.parents)) if node.kind != "seed" else SimpleNamespace(macros=[]),
        )

    nodes = {uid: dbt_node(node) for uid, node in NODES.items()}
    nodes["test.cd2.not_null_mart"] = SimpleNamespace(resource_type="test", name="not_null_mart", tags=[])
    return SimpleNamespace(nodes=nodes)


def test_nodes_of_reads_the_parsed_manifest() -> None:
    assert nodes_of(_manifest()) == NODES


def _database(path: Path, relations: set[tuple[str, str]]) -> Path:
    con = duckdb.connect(str(path))
    for schema, name in relations:
        con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        con.execute(f'CREATE TABLE "{schema}"."{name}" (x INTEGER)')
    con.close()
    return path


def test_a_round_builds_everything_until_it_knows_what_is_due(tmp_path: Path) -> None:
    db = _database(tmp_path / "cd2.duckdb", ALL_RELATIONS)
    manifest = _manifest()
    assert plan_round(db, manifest, ["canvas__a", "canvas__b"], code_matches=False).build is None
    assert plan_round(tmp_path / "none.duckdb", manifest, [], code_matches=True).build is None
    everything = plan_round(db, manifest, ["canvas__a", "canvas__b"], code_matches=True)
    assert everything.build is None and "due" in (everything.why_everything or "")  # no pending table yet
    mark_pending(db, [])
    plan = plan_round(db, manifest, ["canvas__a", "canvas__b"], code_matches=True)
    assert plan.build == ["as_of", "mart_now"]
    assert "mart" in plan.fresh and "eph_b" in plan.fresh


def test_models_of_an_unfinished_round_stay_due(tmp_path: Path) -> None:
    """A round killed after marking its models (or whose build failed) leaves them pending: the next
    round builds them and what follows them, though nothing they read changed again."""
    db = _database(tmp_path / "cd2.duckdb", ALL_RELATIONS)
    mark_pending(db, ["stg_a", "stg_a"])
    plan = plan_round(db, _manifest(), ["canvas__a", "canvas__b"], code_matches=True)
    assert plan.build == ["as_of", "int_ab", "mart", "mart_now", "stg_a"]
    con = duckdb.connect(str(db))
    con.execute("DELETE FROM cd2_meta.round_pending WHERE model = 'stg_a'")  # what the on-run-end hook does
    con.close()
    assert plan_round(db, _manifest(), ["canvas__a", "canvas__b"], code_matches=True).build == ["as_of", "mart_now"]


def test_round_selection_selects_the_plan_or_excludes_the_fresh_under_a_user_selection() -> None:
    manifest = _manifest()
    plan = RoundPlan(["as_of", "codes", "mart_now"], fresh=["canvas__a", "mart"])
    with round_selection(manifest, plan, None) as args:
        assert args == ["--select", f"tag:{ROUND_TAG}"]
        tagged = sorted(n.name for n in manifest.nodes.values() if ROUND_TAG in n.tags)
        assert tagged == ["as_of", "codes", "mart_now"]  # seeds too, tests not
    with round_selection(manifest, plan, "marts") as args:
        assert args == ["--exclude", f"tag:{UNCHANGED_TAG}"]
        assert sorted(n.name for n in manifest.nodes.values() if UNCHANGED_TAG in n.tags) == ["canvas__a", "mart"]
    with round_selection(manifest, RoundPlan(None, why_everything="x"), None) as args:
        assert args == []
    assert all(ROUND_TAG not in n.tags and UNCHANGED_TAG not in n.tags for n in manifest.nodes.values())


# canvas__a -> stg_a (view) -> int_a (view) -> mart_a (table) -> rpt_a (view); canvas__b -> stg_b (view)
VIEWS = {
    n.unique_id: n
    for n in (
        _node("canvas__a", "source.cd2.raw.a", current_state=True),
        _node("canvas__b", "source.cd2.raw.b", current_state=True),
        _node("stg_a", "model.cd2.canvas__a", view=True),
        _node("int_a", "model.cd2.stg_a", view=True),
        _node("mart_a", "model.cd2.int_a"),
        _node("rpt_a", "model.cd2.mart_a", view=True),
        _node("stg_b", "model.cd2.canvas__b", view=True),
        _node("now", "source.cd2.meta.table_state", view=True),
    )
}


def _standing(same_shape: set[str], pending: AbstractSet[str] = frozenset(), missing: str | None = None) -> set[str]:
    existing = {("s", n.relation) for n in VIEWS.values()} - {("s", missing)}
    return {VIEWS[uid].name for uid in standing_views(VIEWS, list(VIEWS), existing, set(pending), same_shape)}


def test_a_changed_view_stands_while_every_current_state_model_above_it_keeps_its_columns() -> None:
    assert _standing({"canvas__a", "canvas__b"}) == {"stg_a", "int_a", "rpt_a", "stg_b"}  # tables are built
    # canvas__a merges a batch of a new schema version: every view below it is created again, even
    # one below a table built in between; stg_b stands
    assert _standing({"canvas__b"}) == {"stg_b"}
    assert _standing(set()) == set()


def test_a_view_over_a_source_a_new_view_or_a_pending_one_is_created_again() -> None:
    assert "now" not in _standing({"canvas__a", "canvas__b"})  # its columns follow a table outside dbt
    assert _standing({"canvas__a", "canvas__b"}, pending={"int_a"}) == {"stg_a", "rpt_a", "stg_b"}
    assert _standing({"canvas__a", "canvas__b"}, missing="stg_b") == {"stg_a", "int_a", "rpt_a"}


def test_same_shape_models_are_those_whose_next_batches_keep_their_schema_version(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "cd2.duckdb"))
    assert same_shape_models(con) is None  # nothing recorded: no column set is known to hold
    con.execute("CREATE SCHEMA cd2_meta")
    con.execute("CREATE SCHEMA canvas")
    for table in ("rows_only", "new_version", "version_uncommitted", "never_merged", "no_relation"):
        if table != "no_relation":
            con.execute(f"CREATE TABLE canvas.{table} (id INTEGER)")
    con.execute(
        "CREATE TABLE cd2_meta.model_state "
        "(namespace VARCHAR, table_name VARCHAR, batch_id INTEGER, schema_version INTEGER)"
    )
    con.execute(
        "INSERT INTO cd2_meta.model_state VALUES ('canvas', 'rows_only', 3, 1), ('canvas', 'new_version', 3, 1), "
        "('canvas', 'version_uncommitted', 3, 1), ('canvas', 'never_merged', NULL, NULL), "
        "('canvas', 'no_relation', 3, 1)"
    )
    con.execute(
        "CREATE TABLE cd2_meta.batches "
        "(namespace VARCHAR, table_name VARCHAR, batch_id INTEGER, status VARCHAR, schema_version INTEGER)"
    )
    con.execute(
        "INSERT INTO cd2_meta.batches VALUES ('canvas', 'rows_only', 4, 'committed', 1), "
        "('canvas', 'new_version', 2, 'committed', 0), ('canvas', 'new_version', 4, 'committed', 2), "
        "('canvas', 'version_uncommitted', 4, 'failed', 2)"
    )
    assert same_shape_models(con) == {"canvas__rows_only", "canvas__version_uncommitted"}
    con.close()


def test_the_tests_of_a_standing_view_run_though_the_view_is_not_built() -> None:
    manifest = _manifest()
    manifest.nodes["test.cd2.not_null_int_ab"] = SimpleNamespace(
        resource_type="test", name="not_null_int_ab", tags=[], depends_on=SimpleNamespace(nodes=["model.cd2.int_ab"])
    )
    plan = RoundPlan(["mart"], standing=["int_ab"])
    with round_selection(manifest, plan, None) as args:
        assert args == ["--select", f"tag:{ROUND_TAG}"]
        assert sorted(n.name for n in manifest.nodes.values() if ROUND_TAG in n.tags) == ["mart", "not_null_int_ab"]
    assert all(ROUND_TAG not in n.tags for n in manifest.nodes.values())


def test_the_code_fingerprint_follows_models_macros_and_the_pseudonym_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in ("models/marts", "macros", "seeds"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "models/marts/mart.sql").write_text("select 1")
    (tmp_path / "dbt_project.yml").write_text("name: x")
    monkeypatch.setenv("CD2_PSEUDONYM_SECRET", "one")
    first = code_fingerprint(tmp_path)
    assert code_fingerprint(tmp_path) == first
    (tmp_path / "models/marts/mart.sql").write_text("select 2")
    second = code_fingerprint(tmp_path)
    assert second != first
    (tmp_path / "macros/m.sql").write_text("{% macro m() %}{% endmacro %}")
    third = code_fingerprint(tmp_path)
    assert third != second
    monkeypatch.setenv("CD2_PSEUDONYM_SECRET", "two")
    assert code_fingerprint(tmp_path) != third
    assert "two" not in code_fingerprint(tmp_path) and "one" not in third


def test_the_docs_site_is_kept_only_under_the_same_code_and_schema_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, target = tmp_path / "project", tmp_path / "target"
    project.mkdir()
    target.mkdir()
    (project / "dbt_project.yml").write_text("name: x")
    db = tmp_path / "cd2.duckdb"
    assert docs_state.docs_key(db, project) is None  # nothing synced
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA cd2_meta")
    con.execute("CREATE TABLE cd2_meta.table_state (namespace VARCHAR, table_name VARCHAR, schema_version INTEGER)")
    con.execute("INSERT INTO cd2_meta.table_state VALUES ('canvas', 'courses', 1)")
    con.close()
    key = docs_state.docs_key(db, project)
    assert key is not None and not docs_state.site_is_current(target, key)  # no site yet
    (target / docs_state.SITE).write_text("<html>")
    docs_state.record_site(target, key)
    assert docs_state.site_is_current(target, key)
    assert not docs_state.site_is_current(target, None)
    con = duckdb.connect(str(db))
    con.execute("UPDATE cd2_meta.table_state SET schema_version = 2")  # new columns to show
    con.close()
    assert docs_state.docs_key(db, project) != key
    con = duckdb.connect(str(db))
    con.execute("UPDATE cd2_meta.table_state SET schema_version = 1")
    con.execute("INSERT INTO cd2_meta.table_state VALUES ('canvas', 'users', 1)")  # a table synced first
    con.close()
    assert docs_state.docs_key(db, project) != key
    (project / "dbt_project.yml").write_text("name: y")
    monkeypatch.setenv("CD2_PSEUDONYM_SECRET", "other")
    docs_state.forget_site(target)  # a docs step that starts and fails leaves no key behind
    assert not docs_state.site_is_current(target, key)
