"""``cd2 run`` and its configuration: one process for sync, dbt build and docs; credentials never from files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from extract import config as cfg
from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from extract.run import PARTIAL_PARSE_FILE, UNCHANGED_TAG, excluding, manifest_is_current
from extract.synth import Institution
from extract.tests.sync_helpers import fresh_institution, replay_mismatches, serving

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_file_and_environment_layer_in_order(tmp_path: Path) -> None:
    (tmp_path / "cd2.yml").write_text(
        "db: from_file.duckdb\ntables: [courses, users]\nformat: parquet\ndbt: {threads: 1}\n"
    )
    config = cfg.load(tmp_path, {})
    assert config.db == Path("from_file.duckdb") and config.format == "parquet" and config.dbt.threads == 1
    assert config.table_list == ["courses", "users"]
    config = cfg.load(tmp_path, {"CD2_DB": "env.duckdb", "CD2_TABLES": "all", "CD2_FORMAT": "tsv"})
    assert config.db == Path("env.duckdb") and config.table_list is None and config.format == "tsv"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("client_secret: abc\n", "credentials"),
        ("formatt: jsonl\n", "unknown keys"),
        ("format: xml\n", "format must be"),
        ("dbt: {threads: 0}\n", "dbt.threads"),
        ("- a list\n", "mapping"),
    ],
)
def test_bad_configuration_is_refused(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "cd2.yml").write_text(content)
    with pytest.raises(cfg.ConfigError, match=message):
        cfg.load(tmp_path, {})


def test_repository_config_file_is_valid() -> None:
    config = cfg.load(ROOT, {})
    assert config.source.endswith("cd2.yml") and config.table_list is None


@pytest.mark.slow
def test_cd2_run_syncs_builds_and_summarises(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    institution: Institution = fresh_institution(tmp_path_factory.mktemp("synth-cache-run"), tmp_path / "store")
    db = tmp_path / "cd2.duckdb"
    config = tmp_path / "run.yml"
    config.write_text(
        f"db: {db}\ntables: [accounts, courses, enrollments, users]\nnamespaces: [canvas]\n"
        "dbt: {select: 'canvas__accounts canvas__courses stg_canvas__courses', docs: false}\n"
    )
    with serving(institution) as server:
        env = dict(
            os.environ,
            DAP_API_URL=server.url,
            DAP_CLIENT_ID=DEFAULT_CLIENT_ID,
            DAP_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
            CD2_PSEUDONYM_SECRET="run-test-pseudonym-key",
            DBT_TARGET_PATH=str(tmp_path / "target"),
        )
        env.pop("CD2_DB", None)
        command = [sys.executable, "-m", "extract.cli", "run", "--config", str(config), "--progress", "never"]
        run = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
        first_results = (tmp_path / "target" / "run_results.json").read_text(encoding="utf-8")
        manifest = tmp_path / "target" / "manifest.json"
        first_manifest = manifest.stat().st_mtime_ns if manifest.exists() else None
        # nothing new on the server: the second run leaves both current-state models out
        again = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert "sync: 4 tables ok, 0 failed" in output
    assert "dbt parse: ok in" in output
    assert "dbt build" in output and "ok in" in output and "model:success 3" in output
    # parsed once; the build's results are written by cd2 run (dbt's own writing is off)
    results = json.loads(first_results)
    built = {r["unique_id"] for r in results["results"] if r["unique_id"].startswith("model.")}
    assert built == {"model.cd2.canvas__accounts", "model.cd2.canvas__courses", "model.cd2.stg_canvas__courses"}
    assert first_manifest is not None  # written by cd2 run: the first parse of this target folder
    assert "freshness canvas: 4 tables" in output
    assert DEFAULT_CLIENT_SECRET not in output
    assert "run-test-pseudonym-key" not in output
    assert replay_mismatches(db, institution.store, ["canvas.accounts", "canvas.courses"]) == {}
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    assert "current state: 2 tables had nothing new to merge and were left out" in again.stdout + again.stderr
    # the project did not change: the manifest written by the first run is still current, not rewritten
    assert manifest.stat().st_mtime_ns == first_manifest
    results = json.loads((tmp_path / "target" / "run_results.json").read_text(encoding="utf-8"))
    assert {r["unique_id"] for r in results["results"] if r["unique_id"].startswith("model.")} == {
        "model.cd2.stg_canvas__courses"
    }


def test_excluding_tags_the_named_models_for_one_command_only() -> None:
    nodes = {
        name: SimpleNamespace(name=name, resource_type=kind, tags=["cd2_current_state"])
        for name, kind in (("canvas__a", "model"), ("canvas__b", "model"), ("canvas__a_test", "test"))
    }
    manifest = SimpleNamespace(nodes=nodes)
    with excluding(manifest, ["canvas__a", "canvas__a_test", "missing"]) as args:
        assert args == ["--exclude", f"tag:{UNCHANGED_TAG}"]
        assert [n for n, node in nodes.items() if UNCHANGED_TAG in node.tags] == ["canvas__a"]  # models only
    assert all(node.tags == ["cd2_current_state"] for node in nodes.values())
    with excluding(manifest, []) as args:
        assert args == []


def test_manifest_is_current_only_when_written_after_the_last_reparse(tmp_path: Path) -> None:
    manifest, saved = tmp_path / "manifest.json", tmp_path / PARTIAL_PARSE_FILE
    assert not manifest_is_current(tmp_path)
    saved.write_bytes(b"parsed")
    assert not manifest_is_current(tmp_path)  # never written
    manifest.write_text("{}")
    os.utime(saved, ns=(1_000, 1_000))
    os.utime(manifest, ns=(2_000, 2_000))
    assert manifest_is_current(tmp_path)
    os.utime(saved, ns=(3_000, 3_000))  # a later parse found the project changed
    assert not manifest_is_current(tmp_path)


def test_run_refuses_to_start_without_the_pseudonym_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CD2_PSEUDONYM_SECRET"}
    run = subprocess.run(
        [sys.executable, "-m", "extract.cli", "run", "--db", str(tmp_path / "x.duckdb"), "--skip-sync"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "CD2_PSEUDONYM_SECRET is not set" in run.stderr
    assert not (tmp_path / "x.duckdb").exists()
