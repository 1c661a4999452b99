"""The dbt project as dbt sees it (``dbt parse``): every CD2 table modelled, described and tested."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from extract.dbtgen import naming
from extract.dbtgen.sources import SOURCE_MODE, SOURCE_MODE_DEFAULT
from extract.schema import bundled_schemas
from extract.tests.dbt_helpers import DbtProject

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def manifest(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("dbt-parse")
    project = DbtProject(work / "cd2.duckdb", work)
    result = project.run("parse")
    assert result.ok, result.output[-4000:]
    return project.manifest()


def _models(manifest: dict) -> dict[str, dict]:
    return {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}


def test_every_table_has_a_current_state_and_a_staging_model(manifest: dict) -> None:
    models = _models(manifest)
    for schema in bundled_schemas().values():
        current = models[naming.current_state_model(schema)]
        assert (current["schema"], current["alias"]) == (schema.namespace, schema.name)
        assert current["config"]["materialized"] == "incremental"
        staging = models[naming.staging_model(schema)]
        assert staging["config"]["materialized"] == "view"
        assert staging["depends_on"]["nodes"] == [current["unique_id"]]  # staging reads the current state only


def test_only_current_state_models_read_the_landing_tables(manifest: dict) -> None:
    """A round leaves a view standing while the current-state models above it keep their columns
    (extract/round_plan.py); that holds only if no other model reads a landing table, whose columns
    follow the schema version. The other sources are the extractor's own cd2_meta tables."""
    readers = {
        node["name"]: source
        for node in _models(manifest).values()
        if "cd2_current_state" not in node["tags"]
        for source in node["depends_on"]["nodes"]
        if source.startswith("source.") and manifest["sources"][source]["source_name"] != "cd2_meta"
    }
    assert readers == {}


def test_every_model_and_column_has_a_description(manifest: dict) -> None:
    missing: list[str] = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        if not node["description"].strip():
            missing.append(node["name"])
        missing += [f"{node['name']}.{c}" for c, col in node["columns"].items() if not col["description"].strip()]
    for source in manifest["sources"].values():
        if not source["description"].strip():
            missing.append(source["unique_id"])
        missing += [f"{source['unique_id']}.{c}" for c, col in source["columns"].items() if not col["description"]]
    assert missing == []


def test_every_key_is_tested_unique_and_not_null(manifest: dict) -> None:
    tested: dict[tuple[str, str], set[str]] = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or not node.get("test_metadata"):
            continue
        model = node["attached_node"] or ""
        tested.setdefault((model.rsplit(".", 1)[-1], node.get("column_name") or ""), set()).add(
            node["test_metadata"]["name"]
        )
    for schema in bundled_schemas().values():
        # current state: the same checks on the rows not yet tested (tests/generic/*_incremental.sql)
        current = (naming.current_state_model(schema), schema.primary_key[0])
        assert {"unique_incremental", "not_null_incremental"} <= tested.get(current, set()), current
        staging = (naming.staging_model(schema), naming.staging_key(schema))
        assert {"unique", "not_null"} <= tested.get(staging, set()), staging


def test_unit_tests_cover_current_state_and_staging(manifest: dict) -> None:
    models = {u["model"] for u in manifest["unit_tests"].values()}
    assert {"canvas__accounts", "canvas_logs__web_logs", "stg_canvas__comment_bank_items"} <= models


def test_no_model_or_property_file_branches_on_the_engine() -> None:
    """One set of model files for every engine: an engine's SQL lives in dispatched macros
    (`<engine>__…`). The only mention of the engine allowed in models/ is the source mode's
    default in `enabled:` flags (yml cannot call the macro cd2_source_mode())."""
    root = Path(__file__).resolve().parents[2] / "models"
    checked, branching = 0, []
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".sql", ".yml"):
            continue
        checked += 1
        text = " ".join(path.read_text().split())
        if path.suffix == ".yml":
            text = text.replace(SOURCE_MODE, "")
        if re.search(r"\btarget\.(type|name)\b", text):
            branching.append(str(path.relative_to(root.parent)))
    assert checked > 300
    assert branching == []
    # the places outside models/ that spell the default agree with it
    assert SOURCE_MODE in (root.parent / "dbt_project.yml").read_text()
    assert SOURCE_MODE_DEFAULT in (root.parent / "macros" / "sources" / "cd2_source_mode.sql").read_text()
