"""``cd2 run`` and its configuration: one process for sync, dbt build and docs; credentials never from files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

from extract import config as cfg
from extract import run as run_module
from extract.failures import CannotStartError
from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from extract.publish import Published
from extract.run import (
    PARTIAL_PARSE_FILE,
    UNCHANGED_TAG,
    DbtStepResult,
    RunSummary,
    excluding,
    format_summary,
    manifest_is_current,
)
from extract.sync.progress import LogReporter
from extract.sync.results import SyncReport, TableResult
from extract.synth import Institution
from extract.tests.sync_helpers import fresh_institution, replay_mismatches, serving
from extract.writer_lock import hold_writer, lock_path

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
        ("formatt: jsonl\n", "unknown key"),
        ("format: xml\n", "format must be"),
        ("dbt: {threads: 0}\n", "dbt.threads"),
        ("memory_limit: lots\n", "not a size DuckDB accepts"),
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
        again_results = (tmp_path / "target" / "run_results.json").read_text(encoding="utf-8")
        again_manifest = manifest.stat().st_mtime_ns
        # dbt's unit tests only when asked for (they test the SQL, not the round's data)
        with_unit_tests = subprocess.run(
            [*command, "--build-all", "--unit-tests"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=900
        )
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
    assert f"published for readers: {tmp_path / 'cd2.read.duckdb'} (" in output
    assert replay_mismatches(tmp_path / "cd2.read.duckdb", institution.store, ["canvas.accounts"]) == {}
    assert again.returncode == 0, (again.stdout + again.stderr)[-3000:]
    assert "current state: 2 tables had nothing new to merge and were left out" in again.stdout + again.stderr
    # the project did not change: the manifest written by the first run is still current, not rewritten
    assert again_manifest == first_manifest
    # nor the staging view over them (extract/round_plan.py): nothing it reads changed
    results = json.loads(again_results)
    assert not {r["unique_id"] for r in results["results"] if r["unique_id"].startswith("model.")}
    assert "left out (nothing they read changed)" in again.stdout + again.stderr
    assert not [r for r in json.loads(first_results)["results"] if r["unique_id"].startswith("unit_test.")]
    assert with_unit_tests.returncode == 0, (with_unit_tests.stdout + with_unit_tests.stderr)[-3000:]
    results = json.loads((tmp_path / "target" / "run_results.json").read_text(encoding="utf-8"))
    unit_tests = [r["unique_id"] for r in results["results"] if r["unique_id"].startswith("unit_test.")]
    assert any(".canvas__accounts." in unique_id for unique_id in unit_tests), unit_tests


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


def _fake_steps(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, parse: object, sync: object) -> cfg.RunConfig:
    """``run_all`` with its steps replaced: ``parse`` and ``sync`` (unless None) stand in for the dbt
    parse and the sync step; the build succeeds; the DuckDB checks find nothing."""
    monkeypatch.setenv("CD2_DB", str(tmp_path / "cd2.duckdb"))  # run_all sets it; restored afterwards
    monkeypatch.setattr(run_module, "parse_project", parse)
    if sync is not None:
        monkeypatch.setattr(run_module, "run_sync_step", sync)
    monkeypatch.setattr(run_module, "data_freshness", lambda db, readers_copy=None: {})
    monkeypatch.setattr(run_module, "unchanged_models", lambda db, project_dir, fingerprint=None: [])
    monkeypatch.setattr(run_module, "dbt_vars", lambda project_dir, fingerprint=None: "{}")
    monkeypatch.setattr(run_module, "run_dbt", lambda *args, **kw: DbtStepResult("build", True, 0.0))
    config = cfg.RunConfig(db=tmp_path / "cd2.duckdb")
    config.dbt.docs = False
    return config


def test_the_parse_runs_while_the_sync_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Each fake waits for the other to have started: run one after the other, in either order, the
    # first would wait out its timeout and report that it never saw the other.
    parse_started, sync_started = threading.Event(), threading.Event()
    seen_during_parse: list[bool] = []
    seen_during_sync: list[bool] = []

    def parse(project_dir: Path, db: Path, vars_: str | None, write_manifest: bool) -> tuple[DbtStepResult, object]:
        parse_started.set()
        seen_during_parse.append(sync_started.wait(timeout=30))
        return DbtStepResult("parse", True, 0.0), SimpleNamespace(nodes={})

    def sync(client: object, config: cfg.RunConfig, reporter: object) -> SyncReport:
        sync_started.set()
        seen_during_sync.append(parse_started.wait(timeout=30))
        return SyncReport(results=[], seconds=0.0)

    config = _fake_steps(monkeypatch, tmp_path, parse, sync)
    summary = run_module.run_all(object(), config, LogReporter(), tmp_path)  # type: ignore[arg-type]
    assert seen_during_sync == [True] and seen_during_parse == [True]
    assert [step.command for step in summary.dbt] == ["parse", "build"]
    assert summary.ok


def test_a_failing_parse_stops_the_run_after_the_sync(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    synced: list[bool] = []

    def parse(project_dir: Path, db: Path, vars_: str | None, write_manifest: bool) -> tuple[DbtStepResult, object]:
        return DbtStepResult("parse", False, 0.0, {}, ["Compilation Error in model x"]), None

    def sync(client: object, config: cfg.RunConfig, reporter: object) -> SyncReport:
        synced.append(True)
        return SyncReport(results=[], seconds=0.0)

    config = _fake_steps(monkeypatch, tmp_path, parse, sync)
    summary = run_module.run_all(object(), config, LogReporter(), tmp_path)  # type: ignore[arg-type]
    assert synced == [True]  # the sync's data lands whatever the parse found
    assert [(step.command, step.ok) for step in summary.dbt] == [("parse", False)]  # no build
    assert not summary.ok


def test_an_error_raised_in_the_parse_thread_reaches_the_caller(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def parse(project_dir: Path, db: Path, vars_: str | None, write_manifest: bool) -> tuple[DbtStepResult, object]:
        raise RuntimeError("dbt could not be imported")

    config = _fake_steps(monkeypatch, tmp_path, parse, lambda *a: SyncReport(results=[], seconds=0.0))
    with pytest.raises(RuntimeError, match="dbt could not be imported"):
        run_module.run_all(object(), config, LogReporter(), tmp_path)  # type: ignore[arg-type]


def _duckdb_memory_limit(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute("select current_setting('memory_limit')").fetchone()[0]  # type: ignore[index]


def test_memory_limit_comes_from_the_file_or_the_environment(tmp_path: Path) -> None:
    (tmp_path / "cd2.yml").write_text("memory_limit: 2GB\n")
    assert cfg.load(tmp_path, {}).memory_limit == "2GB"
    assert cfg.load(tmp_path, {"CD2_MEMORY_LIMIT": "30%"}).memory_limit == "30%"
    assert cfg.load(tmp_path / "elsewhere", {}).memory_limit is None  # DuckDB's own default


def test_memory_limit_reaches_the_sync_connection_and_dbt(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: list[str] = []

    class RecordingRunner:
        def __init__(self, client: object, con: duckdb.DuckDBPyConnection, options: object, reporter: object) -> None:
            seen.append(_duckdb_memory_limit(con))

        def run(self) -> SyncReport:
            return SyncReport(results=[], seconds=0.0)

    monkeypatch.setattr(run_module, "SyncRunner", RecordingRunner)
    monkeypatch.setattr(run_module, "select_tables", lambda client, config: [])
    # run_all sets it for dbt; setenv (unlike delenv of an absent name) makes monkeypatch restore it
    monkeypatch.setenv("CD2_MEMORY_LIMIT", "80%")
    config = _fake_steps(monkeypatch, tmp_path, lambda *a: (DbtStepResult("parse", True, 0.0), None), None)
    config.memory_limit = "1GB"
    default = _duckdb_memory_limit(duckdb.connect(":memory:"))
    capped = _duckdb_memory_limit(duckdb.connect(":memory:", config={"memory_limit": "1GB"}))
    assert capped != default
    run_module.run_all(object(), config, LogReporter(), tmp_path)  # type: ignore[arg-type]
    assert seen == [capped]
    assert os.environ["CD2_MEMORY_LIMIT"] == "1GB"  # what profiles.yml gives dbt's connection
    profile = (ROOT / "profiles.yml").read_text(encoding="utf-8")
    assert "memory_limit: \"{{ env_var('CD2_MEMORY_LIMIT', '80%') }}\"" in profile


def test_a_bad_memory_limit_in_the_environment_stops_the_cli_with_its_name(tmp_path: Path) -> None:
    env = dict(os.environ, CD2_MEMORY_LIMIT="lots")
    command = [sys.executable, "-m", "extract.cli", "status", "--db", str(tmp_path / "cd2.duckdb")]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "CD2_MEMORY_LIMIT" in done.stderr and "not a size DuckDB accepts" in done.stderr
    assert not (tmp_path / "cd2.duckdb").exists()


def test_the_summary_names_the_copy_published_for_readers(tmp_path: Path) -> None:
    copy = tmp_path / "cd2.read.duckdb"
    summary = RunSummary(published=Published(copy, 1_234_000_000, 0.84, "copy_file_range"))
    assert summary.ok
    assert format_summary(summary) == [f"published for readers: {copy} (1.2 GB in 0.8 s)"]
    failed = RunSummary(publish_error="OSError: [Errno 28] No space left on device")
    assert not failed.ok  # readers are a round behind: the scheduler must hear of it
    assert format_summary(failed) == [
        "published for readers: FAILED, readers keep the previous copy: OSError: [Errno 28] No space left on device"
    ]


def test_the_summary_counts_tables_skipped_by_their_cadence() -> None:
    results = [
        TableResult("canvas.courses", "ok", rows=5, bytes=2_000_000),
        TableResult("canvas.roles", "skipped", reason="not due by its cadence (daily)"),
        TableResult("canvas.users", "failed", error="boom"),
    ]
    lines = format_summary(RunSummary(sync=SyncReport(results=results, seconds=1.25)))
    assert lines[0] == "sync: 1 tables ok, 1 failed, 1 skipped (not due by their cadence), 5 rows, 2.0 MB in 1.2s"
    every_table_ran = format_summary(RunSummary(sync=SyncReport(results=results[:1], seconds=1.0)))
    assert "skipped" not in every_table_ran[0]


def test_a_round_publishes_where_asked_and_only_after_a_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    parse_ok = (DbtStepResult("parse", True, 0.0), SimpleNamespace(nodes={}))
    config = _fake_steps(monkeypatch, tmp_path, lambda *a: parse_ok, lambda *a: SyncReport(results=[], seconds=0.0))
    default = tmp_path / "cd2.read.duckdb"
    summary = run_module.run_all(object(), config, LogReporter(), tmp_path)  # type: ignore[arg-type]
    assert summary.ok and summary.published is not None and summary.published.path == default and default.exists()
    default.unlink()
    elsewhere = tmp_path / "bi" / "cd2.duckdb"
    summary = run_module.run_all(object(), config, LogReporter(), tmp_path, publish_to=elsewhere)  # type: ignore[arg-type]
    assert summary.published is not None and elsewhere.exists() and not default.exists()
    summary = run_module.run_all(object(), config, LogReporter(), tmp_path, publish_to=False)  # type: ignore[arg-type]
    assert summary.published is None and not default.exists()
    parse_failed = (DbtStepResult("parse", False, 0.0, {}, ["Compilation Error"]), None)
    monkeypatch.setattr(run_module, "parse_project", lambda *a: parse_failed)
    summary = run_module.run_all(object(), config, LogReporter(), tmp_path)  # type: ignore[arg-type]
    assert summary.published is None and not default.exists()  # no build: readers keep the last built round


def test_a_failed_publish_fails_the_round_but_keeps_its_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    parse_ok = (DbtStepResult("parse", True, 0.0), SimpleNamespace(nodes={}))
    config = _fake_steps(monkeypatch, tmp_path, lambda *a: parse_ok, lambda *a: SyncReport(results=[], seconds=0.0))

    def disk_full(db: Path, published: Path) -> Published:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(run_module, "publish", disk_full)
    summary = run_module.run_all(object(), config, LogReporter(), tmp_path)  # type: ignore[arg-type]
    assert [step.command for step in summary.dbt] == ["parse", "build"]
    assert summary.publish_error == "OSError: [Errno 28] No space left on device" and not summary.ok
    with hold_writer(config.db, "cd2 sync"):  # the lock was released all the same
        pass


def test_a_round_does_not_start_while_another_writer_holds_the_db(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started: list[str] = []

    def parse(*args: object) -> tuple[DbtStepResult, object]:
        started.append("parse")
        return DbtStepResult("parse", True, 0.0), None

    def sync(*args: object) -> SyncReport:
        started.append("sync")
        return SyncReport(results=[], seconds=0.0)

    config = _fake_steps(monkeypatch, tmp_path, parse, sync)
    with hold_writer(config.db, "cd2 sync"), pytest.raises(CannotStartError) as refused:
        run_module.run_all(object(), config, LogReporter(), tmp_path, before=lambda: started.append("before"))  # type: ignore[arg-type]
    assert started == []  # not even the checks of the DB file
    assert refused.value.line().startswith(f"{config.db} is being written by pid {os.getpid()} (cd2 sync on host ")
    assert not lock_path(config.db).read_text()  # the holder's line is cleared when it ends
