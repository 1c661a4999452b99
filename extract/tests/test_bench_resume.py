"""bench/vs_dap_client.py: a run outlives its process, step by step, and redoes only what was cut off."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import pytest

from extract.tests.bench_modules import load_bench

IDENTITY = {"profile": "tiny", "seed": 1, "run": 0, "cd2_code": "aaaaaaaaaaaa", "advance_hours": 6.0, "out": "x"}


class KilledError(Exception):
    """Stands for the process being killed in the middle of a step."""


class World:
    """Fakes for everything a run touches outside its own bookkeeping; records what was done."""

    def __init__(self, bench: ModuleType, tmp_path: Path) -> None:
        self.bench = bench
        self.calls: list[str] = []
        self.crash_at: str | None = None
        self.pg_run: str | None = None  # the run whose state PostgreSQL holds
        self.pristine = tmp_path / "pristine"
        self.pristine.mkdir()

    def crash_point(self, name: str) -> None:
        self.calls.append(name)
        if self.crash_at == name:
            self.crash_at = None
            raise KilledError(name)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        bench, world = self.bench, self

        class FakeSide:
            def __init__(self, url: str, cd2_dir: Path, dsn: str, dap: str) -> None:
                self.env: dict[str, str] = {}
                self.dsn = dsn
                self.db = cd2_dir / "cd2.duckdb"

            def dap_run(self, command: str, namespaces: dict[str, list[str]] = bench.TABLES) -> Any:
                world.crash_point(f"dap {command} {','.join(namespaces)}")
                return bench.Timed(10.0 if command == "initdb" else 2.0, 100.0, "")

            def cd2_run(self) -> tuple[Any, dict[str, float]]:
                first = not self.db.exists()
                self.db.parent.mkdir(parents=True, exist_ok=True)
                con = duckdb.connect(str(self.db))
                con.execute("CREATE SCHEMA IF NOT EXISTS cd2_meta")
                con.execute("CREATE TABLE IF NOT EXISTS cd2_meta.batches (kind VARCHAR, rows BIGINT)")
                con.execute("INSERT INTO cd2_meta.batches VALUES (?, ?)", ["snapshot" if first else "incremental", 7])
                con.close()
                world.crash_point("cd2 initial" if first else "cd2 round")  # killed after landing its rows
                return bench.Timed(1.0, 50.0, ""), {"sync": 0.5}

        @contextmanager
        def fake_server(store: Any, config: Any, advance: Any) -> Any:
            class Server:
                url = "http://fake"

                def advance(self, hours: float) -> None:
                    world.crash_point("advance")

            yield Server()

        class FakeInstitution:
            store = None
            advance = None

            @staticmethod
            def open(path: Path) -> FakeInstitution:
                return FakeInstitution()

        monkeypatch.setattr(bench, "Side", FakeSide)
        monkeypatch.setattr(bench, "FakeDapServer", fake_server)
        monkeypatch.setattr(bench, "Institution", FakeInstitution)
        monkeypatch.setattr(bench, "copy_institution", lambda pristine, target: world.calls.append("copy institution"))
        monkeypatch.setattr(bench, "shell", lambda cmd: world.calls.append(" ".join(cmd[2:])) or "")
        monkeypatch.setattr(bench, "pg_reset", lambda dsn: world.calls.append("pg reset"))
        monkeypatch.setattr(bench, "pg_reset_namespace", lambda dsn, ns: world.calls.append(f"pg reset {ns}"))
        monkeypatch.setattr(bench, "pg_mark_run", lambda dsn, run_id: setattr(world, "pg_run", run_id))
        monkeypatch.setattr(bench, "pg_run_id", lambda dsn: world.pg_run)
        monkeypatch.setattr(bench, "warm_parse", lambda cd2_dir: None)
        monkeypatch.setattr(bench, "prerender", lambda url, since: 0.1)
        monkeypatch.setattr(bench, "cpu_calibration_s", lambda: 0.25)
        monkeypatch.setattr(bench, "watermarks", lambda dsn, db: {"canvas.users": datetime(2026, 1, 1)})
        monkeypatch.setattr(bench, "pg_disk_mb", lambda dsn: 3.0)
        monkeypatch.setattr(bench, "duck_checks", lambda db: {"canvas.users": ["5"]})
        monkeypatch.setattr(bench, "compared", lambda dsn, checks_duck: {"equal": True})

    def run(self, run_dir: Path, identity: dict[str, Any] = IDENTITY) -> dict[str, Any]:
        self.calls = []
        return self.bench.one_run(self.pristine, run_dir, None, "dsn", "dap", identity)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    created = World(load_bench("vs_dap_client"), tmp_path)
    created.install(monkeypatch)
    return created


def test_a_run_cut_off_in_an_initial_step_redoes_only_that_step(world: World, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    world.crash_at = "dap initdb canvas_logs"
    with pytest.raises(KilledError):
        world.run(run_dir)
    assert "dap initdb canvas" in world.calls

    result = world.run(run_dir)
    # the finished canvas step is kept; the cut-off namespace is reset and loaded again
    assert "dap initdb canvas" not in world.calls and "pg reset" not in world.calls
    assert world.calls[:2] == ["pg reset canvas_logs", "dap initdb canvas_logs"]
    assert result["initial"]["dap_initdb_s"] == 20.0  # both namespaces, from two invocations
    assert result["invocations"] == 2
    assert {step["invocation"] for step in result["steps"].values()} == {1, 2}
    assert result["incremental"]["changed_rows"] == 7 and result["incremental"]["dap_syncdb_s"] == 2.0
    assert not (run_dir / "progress.json").exists()  # a finished run leaves no progress behind


def test_a_round_cut_off_restarts_from_the_saved_databases_and_institution(world: World, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    world.crash_at = "cd2 round"  # after dap syncdb changed PostgreSQL and the institution advanced
    with pytest.raises(KilledError):
        world.run(run_dir)
    assert "checkpoint before_round" in world.calls
    saved = run_dir / "before_round" / "cd2.duckdb"
    assert saved.exists()

    result = world.run(run_dir)
    assert world.calls[:3] == ["rollback before_round", "copy institution", "advance"]
    assert "dap syncdb canvas,canvas_logs" in world.calls and "cd2 round" in world.calls
    assert "cd2 initial" not in world.calls and "checkpoint before_round" not in world.calls
    # the DuckDB file was restored: one snapshot and one round, not two rounds
    assert result["incremental"]["changed_rows"] == 7
    assert result["invocations"] == 2
    assert world.calls[-1] == "drop-checkpoint before_round" and not saved.exists()


def test_progress_of_another_identity_starts_the_run_afresh(world: World, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    world.crash_at = "cd2 initial"
    with pytest.raises(KilledError):
        world.run(run_dir)
    world.run(run_dir, {**IDENTITY, "cd2_code": "bbbbbbbbbbbb"})
    assert world.calls[:3] == ["copy institution", "pg reset", "drop-checkpoint before_round"]
    assert "dap initdb canvas" in world.calls


def test_a_run_whose_postgresql_state_another_run_replaced_starts_again(world: World, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    world.crash_at = "dap initdb canvas_logs"
    with pytest.raises(KilledError):
        world.run(run_dir)
    world.pg_run = "another run's"  # e.g. a tiny run in between reset dapdb

    result = world.run(run_dir)
    assert world.calls[:4] == ["copy institution", "pg reset", "drop-checkpoint before_round", "pg reset canvas"]
    assert "dap initdb canvas" in world.calls  # its recorded time no longer matches the data: redone
    assert result["initial"]["dap_initdb_s"] == 20.0
    assert {step["invocation"] for step in result["steps"].values()} == {2}


def test_progress_is_saved_at_each_step_and_read_back(tmp_path: Path) -> None:
    bench = load_bench("vs_dap_client")
    progress = bench.Progress(tmp_path, IDENTITY)
    assert not progress.resumed and progress.data["invocations"] == 1
    progress.record("setup", {"at": "now"})
    again = bench.Progress(tmp_path, IDENTITY)
    assert again.resumed and again.done("setup") and again["setup"] == {"at": "now"}
    assert again.data["invocations"] == 2
    again.forget("setup")
    assert not bench.Progress(tmp_path, IDENTITY).done("setup")
    assert not bench.Progress(tmp_path, {**IDENTITY, "run": 1}).resumed
