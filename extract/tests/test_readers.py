"""Readers beside the single writer, with real processes: readers of the published copy never
block a round nor see half of one; a second writer stops at once naming the holder; the writer
lock covers the whole round (the gap between sync and build too) and dies with its holder.

Rounds here run ``run_all`` with a real sync from the fake API and the real lock and publish;
the dbt steps are stand-ins, except in the one slow test that runs a real ``cd2 run``. Child
processes are this module run as a script (``_child_main``).
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import duckdb
import pytest

from extract import config as cfg
from extract import run as run_module
from extract.database import default_published_path
from extract.failures import EXIT_CANNOT_START, CannotStartError
from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from extract.publish import publish
from extract.run import DbtStepResult, RunSummary, format_summary
from extract.sync.progress import LogReporter
from extract.sync.results import SyncReport
from extract.synth import Institution
from extract.tests.sync_helpers import fast_client, fresh_institution, run_sync, serving
from extract.writer_lock import hold_writer, lock_path, writer_busy

ROOT = Path(__file__).resolve().parents[2]
TABLES = ["accounts", "courses", "enrollments", "users"]
# Holds only at round boundaries: the stand-in build records how many batches it saw.
INVARIANT = "SELECT (SELECT count(*) FROM cd2_meta.batches), (SELECT batches FROM main.round_marker)"
# A bound on waits for a child to reach a point, so that a broken test fails instead of hanging.
WAIT_S = 120


# ---------------------------------------------------------------- child processes


def _child_main(argv: list[str]) -> None:
    role, *args = argv
    if role == "read":
        _read_rounds(Path(args[0]), Path(args[1]), Path(args[2]), hold=args[3] == "hold")
    elif role == "blocked-round":
        _blocked_round(Path(args[0]), Path(args[1]), Path(args[2]))
    elif role == "take-lock":
        _take_lock(Path(args[0]), args[1])
    elif role == "flock-only":
        _flock_only(Path(args[0]), Path(args[1]))
    else:
        raise SystemExit(f"unknown role {role}")


def _read_rounds(published: Path, stop: Path, out: Path, hold: bool) -> None:
    """Read the invariant from the published copy until ``stop`` appears: with ``hold``, through one
    connection opened once; otherwise opening the copy afresh for every read."""
    states: list[list[int]] = []
    errors: list[str] = []
    reads = 0
    while not published.exists() and not stop.exists():
        time.sleep(0.01)
    held = duckdb.connect(str(published), read_only=True) if hold else None
    while not stop.exists():
        try:
            con = held or duckdb.connect(str(published), read_only=True)
            try:
                row = con.execute(INVARIANT).fetchone()
            finally:
                if held is None:
                    con.close()
            assert row is not None
            state = [int(row[0]), int(row[1])]
            if state not in states:
                states.append(state)
            reads += 1
        except Exception as exc:  # every error is the test's finding, not the child's end
            errors.append(f"{type(exc).__name__}: {exc}")
        time.sleep(0.01)
    out.write_text(json.dumps({"states": states, "errors": errors[:20], "reads": reads}), encoding="utf-8")


def _blocked_round(db: Path, ready: Path, release: Path) -> None:
    """A ``cd2 run`` round (the real ``run_all``, its lock and publish) whose sync waits for ``release``."""

    def sync(client: object, config: cfg.RunConfig, reporter: object) -> SyncReport:
        ready.touch()
        deadline = time.monotonic() + WAIT_S
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        return SyncReport(results=[], seconds=0.0)

    run_module.run_sync_step = sync
    run_module.parse_project = lambda *a, **k: (DbtStepResult("parse", True, 0.0), SimpleNamespace(nodes={}))
    run_module.run_dbt = lambda *a, **k: DbtStepResult("build", True, 0.0)
    config = cfg.RunConfig(db=db)
    config.dbt.docs = False
    config.dbt.skip_unchanged = False
    summary = run_module.run_all(object(), config, LogReporter(), db.parent)  # type: ignore[arg-type]
    raise SystemExit(0 if summary.ok else 1)


def _take_lock(db: Path, ready: str) -> None:
    """Take the writer lock (as ``cd2 sync`` will); with ``ready`` a path, signal and hold it until
    killed; with ``-``, exit at once. A refusal is one line on stderr and its exit code, as the CLI
    prints it."""
    try:
        with hold_writer(db, "cd2 sync"):
            if ready != "-":
                Path(ready).touch()
                time.sleep(WAIT_S)
    except CannotStartError as exc:
        print(f"cd2 sync: {exc.line()}", file=sys.stderr)
        raise SystemExit(exc.exit_code) from None


def _flock_only(db: Path, ready: Path) -> None:
    """Lock like a holder in the instant before it writes its line: lock, write nothing, wait."""
    fd = os.open(lock_path(db), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    ready.touch()
    time.sleep(WAIT_S)


def _spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    code = "import sys; from extract.tests.test_readers import _child_main; _child_main(sys.argv[1:])"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, child: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not path.exists():
        if child.poll() is not None:
            out, err = child.communicate()
            raise AssertionError(f"child exited {child.returncode} early: {out}{err}")
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def _stop_reader(reader: subprocess.Popen[str], stop: Path, out: Path) -> dict[str, Any]:
    stop.touch()
    _, err = reader.communicate(timeout=WAIT_S)
    assert reader.returncode == 0, err[-3000:]
    return json.loads(out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


# ---------------------------------------------------------------- rounds in this process


class Rounds:
    """``run_all`` rounds on a tiny institution: the real sync, lock and publish; the stand-in
    build records in ``main.round_marker`` how many batches it saw, after checking that the
    working file, mid-round, does not satisfy the invariant (else the readers' check proves nothing)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, institution: Institution, url: str) -> None:
        self.institution = institution
        self.db = tmp_path / "cd2.duckdb"
        self.published = default_published_path(self.db)
        self.project_dir = tmp_path
        self.client = fast_client(url)
        self.mid_round_states: list[tuple[int, int | None]] = []
        self.in_build: list[object] = []  # called at the start of the stand-in build
        self.config = cfg.RunConfig(db=self.db, namespaces=["canvas"], tables=list(TABLES), concurrency=2)
        self.config.dbt.docs = False
        self.config.dbt.skip_unchanged = False
        monkeypatch.setenv("CD2_DB", str(self.db))  # run_all sets it; restored afterwards
        monkeypatch.setattr(
            run_module,
            "parse_project",
            lambda *a, **k: (DbtStepResult("parse", True, 0.0), SimpleNamespace(nodes={})),
        )
        monkeypatch.setattr(run_module, "run_dbt", self._build)

    def _build(self, args: list[str], project_dir: Path, db: Path, *rest: object, **kw: object) -> DbtStepResult:
        for hook in self.in_build:
            hook()  # type: ignore[operator]
        con = duckdb.connect(str(db))
        try:
            batches = int(con.execute("SELECT count(*) FROM cd2_meta.batches").fetchone()[0])  # type: ignore[index]
            marked = None
            if self._has_marker(con):
                marked = int(con.execute("SELECT batches FROM main.round_marker").fetchone()[0])  # type: ignore[index]
            self.mid_round_states.append((batches, marked))
            time.sleep(0.2)  # a build takes a while: a copy published mid-round would be seen by a reader
            con.execute("CREATE OR REPLACE TABLE main.round_marker AS SELECT ? AS batches", [batches])
        finally:
            con.close()
        return DbtStepResult("build", True, 0.0, {"model:success": 1})

    @staticmethod
    def _has_marker(con: duckdb.DuckDBPyConnection) -> bool:
        row = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'round_marker'"
        ).fetchone()
        return bool(row and row[0])

    def run(self) -> RunSummary:
        if self.mid_round_states:
            self.institution.advance(8)  # every round lands new batches
        return run_module.run_all(self.client, self.config, LogReporter(), self.project_dir)


@pytest.fixture
def institution(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Institution:
    return fresh_institution(tmp_path_factory.mktemp("synth-cache-readers"), tmp_path / "store")


@pytest.fixture
def rounds(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, institution: Institution) -> Iterator[Rounds]:
    with serving(institution) as server:
        runner = Rounds(monkeypatch, tmp_path, institution, server.url)
        try:
            yield runner
        finally:
            runner.client.close()


def _assert_round_ok(summary: RunSummary, rounds: Rounds) -> None:
    assert summary.ok, format_summary(summary)
    assert summary.published is not None and summary.published.path == rounds.published


# ---------------------------------------------------------------- (1) and (2): readers


def test_a_reader_holding_the_published_copy_neither_blocks_a_round_nor_errors(rounds: Rounds, tmp_path: Path) -> None:
    _assert_round_ok(rounds.run(), rounds)
    stop, out = tmp_path / "stop", tmp_path / "held.json"
    reader = _spawn("read", str(rounds.published), str(stop), str(out), "hold")
    try:
        # the reader is reading (it holds DuckDB's read lock on the copy) before the next rounds start
        deadline = time.monotonic() + WAIT_S
        while not _holds_a_lock(reader.pid):
            assert reader.poll() is None and time.monotonic() < deadline, "the reader never opened the copy"
            time.sleep(0.01)
        summaries = [rounds.run(), rounds.run()]
    finally:
        result = _stop_reader(reader, stop, out)
    for summary in summaries:
        _assert_round_ok(summary, rounds)
    assert result["errors"] == []
    assert result["reads"] > 0
    # it kept reading the round it opened (the replaced file lives on for it), whole
    first = [rounds.mid_round_states[0][0]] * 2
    assert result["states"] == [first]
    now = duckdb.connect(str(rounds.published), read_only=True)
    try:
        batches, marked = now.execute(INVARIANT).fetchone()  # type: ignore[misc]
    finally:
        now.close()
    assert batches == marked > first[0]  # a new open sees the last round


def _holds_a_lock(pid: int) -> bool:
    """Whether ``pid`` holds a POSIX lock (DuckDB's) on some file (Linux /proc/locks)."""
    locks = Path("/proc/locks")
    if not locks.exists():
        time.sleep(2)  # elsewhere: give the reader time to open the copy
        return True
    return any(line.split()[4] == str(pid) for line in locks.read_text().splitlines() if "POSIX" in line)


def test_readers_never_see_half_a_round(rounds: Rounds, tmp_path: Path) -> None:
    stop, out = tmp_path / "stop", tmp_path / "reopening.json"
    reader = _spawn("read", str(rounds.published), str(stop), str(out), "reopen")
    try:
        summaries = [rounds.run() for _ in range(4)]
    finally:
        result = _stop_reader(reader, stop, out)
    for summary in summaries:
        _assert_round_ok(summary, rounds)
    # mid-round, the working file breaks the invariant every round (new batches, old marker):
    # a reader of anything but whole rounds would have been caught
    assert all(marked is None or batches > marked for batches, marked in rounds.mid_round_states)
    assert len(rounds.mid_round_states) == 4
    assert result["errors"] == []
    assert result["states"], "the reader never read a published copy"
    assert all(batches == marked for batches, marked in result["states"]), result["states"]
    assert len(result["states"]) >= 2, f"the reader saw one round only: {result}"


# ---------------------------------------------------------------- (3), (4), (5): the writer lock


def test_a_second_cd2_run_exits_at_once_naming_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "cd2.duckdb"
    ready, release = tmp_path / "ready", tmp_path / "release"
    first = _spawn("blocked-round", str(db), str(ready), str(release))
    try:
        _wait_for(ready, first)
        env = dict(
            os.environ,
            CD2_PSEUDONYM_SECRET="readers-test-pseudonym-key",
            DAP_API_URL="http://127.0.0.1:9",  # never called: the run stops before the API
            DAP_CLIENT_ID=DEFAULT_CLIENT_ID,
            DAP_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
            DBT_TARGET_PATH=str(tmp_path / "target"),
        )
        command = [sys.executable, "-m", "extract.cli", "run", "--db", str(db), "--progress", "never"]
        second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=WAIT_S)
        first_alive_after_second = first.poll() is None
    finally:
        release.touch()
        first_out, first_err = first.communicate(timeout=WAIT_S)
    assert first_alive_after_second, "the second writer waited for the first"
    assert second.returncode == EXIT_CANNOT_START, second.stdout + second.stderr
    lines = [line for line in second.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, second.stderr
    assert f"is being written by pid {first.pid} (cd2 run on host {socket.gethostname()}, since " in lines[0]
    assert lines[0].endswith("wait for it to finish, or stop it")
    assert first.returncode == 0, first_out + first_err  # the holder's round was not disturbed


def test_the_lock_dies_with_a_killed_holder(tmp_path: Path) -> None:
    db = tmp_path / "cd2.duckdb"
    ready = tmp_path / "ready"
    holder = _spawn("take-lock", str(db), str(ready))
    try:
        _wait_for(ready, holder)
        assert writer_busy(db)
        refused = _spawn("take-lock", str(db), "-")
        _, err = refused.communicate(timeout=WAIT_S)
        assert refused.returncode == EXIT_CANNOT_START and f"pid {holder.pid} (cd2 sync" in err
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.communicate(timeout=WAIT_S)
    assert holder.returncode == -signal.SIGKILL
    assert not writer_busy(db)
    assert f'"pid": {holder.pid}' in lock_path(db).read_text()  # its line stays behind, harmless
    after = _spawn("take-lock", str(db), "-")
    out, err = after.communicate(timeout=WAIT_S)
    assert after.returncode == 0, out + err
    with hold_writer(db, "cd2 run") as me:
        assert json.loads(lock_path(db).read_text())["pid"] == me.pid == os.getpid()


def test_a_dead_holder_is_never_named(tmp_path: Path) -> None:
    db = tmp_path / "cd2.duckdb"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    line = {"pid": dead_pid, "command": "cd2 run", "host": socket.gethostname(), "since": "2026-01-01T00:00:00Z"}
    lock_path(db).write_text(json.dumps(line) + "\n")
    ready = tmp_path / "ready"
    live = _spawn("flock-only", str(db), str(ready))  # locked, its line not written yet
    try:
        _wait_for(ready, live)
        with pytest.raises(CannotStartError) as refused, hold_writer(db, "cd2 sync"):
            pass
    finally:
        live.kill()
        live.communicate(timeout=WAIT_S)
    assert f"pid {dead_pid}" not in refused.value.line()
    assert refused.value.line().startswith(f"{db} is being written by another process")


def test_no_other_writer_gets_in_between_the_sync_and_the_build(rounds: Rounds, tmp_path: Path) -> None:
    seen: list[tuple[int, str, bool]] = []

    def in_the_gap() -> None:
        # DuckDB's own lock is off here (the sync closed its connection, dbt has not opened one) ...
        probe = subprocess.run(
            [sys.executable, "-c", f"import duckdb; duckdb.connect({str(rounds.db)!r}, read_only=True).close()"],
            capture_output=True,
            text=True,
            timeout=WAIT_S,
        )
        # ... but the writer lock is not
        other = _spawn("take-lock", str(rounds.db), "-")
        _, err = other.communicate(timeout=WAIT_S)
        seen.append((other.returncode, err, probe.returncode == 0))

    rounds.in_build.append(in_the_gap)
    summary = rounds.run()
    _assert_round_ok(summary, rounds)
    assert summary.sync is not None and summary.sync.ok and len(summary.sync.results) == len(TABLES)
    [(code, err, duckdb_unlocked)] = seen
    assert duckdb_unlocked  # so the writer lock is what keeps the other writer out
    assert code == EXIT_CANNOT_START, err
    assert f"is being written by pid {os.getpid()} (cd2 run on host" in err


def test_a_program_holding_the_working_file_stops_a_round_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # what the published copy is for: a BI tool on the working file itself locks the round out
    db = tmp_path / "cd2.duckdb"
    duckdb.connect(str(db)).close()
    ready = tmp_path / "ready"
    code = f"import duckdb, pathlib, time; c = duckdb.connect({str(db)!r}, read_only=True); "
    code += f"pathlib.Path({str(ready)!r}).touch(); time.sleep({WAIT_S})"
    tool = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    monkeypatch.setattr(run_module, "select_tables", lambda client, config: [])
    monkeypatch.setattr(
        run_module, "parse_project", lambda *a, **k: (DbtStepResult("parse", True, 0.0), SimpleNamespace(nodes={}))
    )
    monkeypatch.setenv("CD2_DB", str(db))
    config = cfg.RunConfig(db=db)
    config.dbt.skip_unchanged = False
    try:
        _wait_for(ready, tool)
        with pytest.raises(CannotStartError) as refused:
            run_module.run_all(object(), config, LogReporter(), tmp_path)  # type: ignore[arg-type]
    finally:
        tool.kill()
        tool.communicate(timeout=WAIT_S)
    line = refused.value.line()
    assert line.startswith(f"{db} is in use by another process (pid {tool.pid}, python")
    assert f"open the published read copy {default_published_path(db)} instead" in line
    with hold_writer(db, "cd2 sync"):  # and the writer lock was released
        pass


# ---------------------------------------------------------------- publish itself


def test_publish_replaces_the_copy_whole_and_cleans_up(tmp_path: Path) -> None:
    db, published = tmp_path / "cd2.duckdb", tmp_path / "readers" / "copy.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT range AS i FROM range(100000)")
    con.close()
    published.parent.mkdir()
    leftover = published.with_name(f".{published.name}.tmp-99999")
    leftover.write_bytes(b"half a copy from a killed round")
    Path(f"{published}.wal").write_bytes(b"not this file's log")
    db.chmod(0o640)
    first = publish(db, published)
    assert first.path == published and first.bytes == db.stat().st_size and first.method
    assert not leftover.exists() and not Path(f"{published}.wal").exists()
    reader = duckdb.connect(str(published), read_only=True)  # opened, no data read yet
    held = published.open("rb")  # the bytes a reader of the first copy sees must never change
    first_bytes = held.read()
    try:
        con = duckdb.connect(str(db))
        con.execute("CREATE OR REPLACE TABLE t AS SELECT range * 2 AS i FROM range(100001)")  # new blocks
        con.close()
        second = publish(db, published)
        # it reads the data of the copy it opened, not the new file's blocks at the old offsets
        assert reader.execute("SELECT count(*), sum(i) FROM t").fetchone() == (100000, 99999 * 100000 // 2)
        held.seek(0)
        assert held.read() == first_bytes
    finally:
        reader.close()
        held.close()
    assert second.bytes == db.stat().st_size
    fresh = duckdb.connect(str(published), read_only=True)
    try:
        assert fresh.execute("SELECT count(*), sum(i) FROM t").fetchone() == (100001, 100000 * 100001)
    finally:
        fresh.close()
    assert sorted(p.name for p in published.parent.iterdir()) == [published.name]
    assert published.stat().st_mode & 0o777 == 0o640  # readers may be another user: the working file's mode


def test_publish_refuses_a_file_this_process_still_has_open(tmp_path: Path) -> None:
    db, published = tmp_path / "cd2.duckdb", tmp_path / "cd2.read.duckdb"
    con = duckdb.connect(str(db))
    try:
        con.execute("CREATE TABLE t AS SELECT 1 AS i")
        if not Path("/proc/self/fd").is_dir():
            pytest.skip("the check needs /proc/self/fd (Linux)")
        with pytest.raises(RuntimeError, match="still open in this process"):
            publish(db, published)
    finally:
        con.close()
    assert not published.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


# ---------------------------------------------------------------- a real cd2 run


@pytest.mark.slow
def test_a_real_cd2_run_publishes_while_a_reader_holds_the_old_copy(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    institution = fresh_institution(tmp_path_factory.mktemp("synth-cache-readers-run"), tmp_path / "store")
    db = tmp_path / "cd2.duckdb"
    with serving(institution) as server:
        report = run_sync(server, db, [f"canvas.{t}" for t in TABLES])
    assert report.ok
    published = default_published_path(db)
    old = duckdb.connect(str(db))
    old.execute("CREATE TABLE main.round_marker AS SELECT -1 AS batches")
    old.close()
    publish(db, published)  # the previous round's copy, without the models
    config = tmp_path / "run.yml"
    config.write_text(f"db: {db}\ndbt: {{select: 'canvas__accounts stg_canvas__accounts', docs: false}}\n")
    env = dict(
        os.environ,
        CD2_PSEUDONYM_SECRET="readers-test-pseudonym-key",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_TARGET_PATH=str(tmp_path / "target"),
    )
    env.pop("CD2_DB", None)
    stop, out = tmp_path / "stop", tmp_path / "held.json"
    reader = _spawn("read", str(published), str(stop), str(out), "hold")
    try:
        deadline = time.monotonic() + WAIT_S
        while not _holds_a_lock(reader.pid):
            assert reader.poll() is None and time.monotonic() < deadline, "the reader never opened the copy"
            time.sleep(0.01)
        command = [sys.executable, "-m", "extract.cli", "run", "--config", str(config), "--skip-sync"]
        run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    finally:
        result = _stop_reader(reader, stop, out)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert f"published for readers: {published} (" in output
    assert result["errors"] == [] and result["reads"] > 0
    counts = []
    for path in (db, published):  # the new copy has the round's models, as many rows as the working file
        con = duckdb.connect(str(path), read_only=True)
        try:
            counts.append(con.execute("SELECT count(*) FROM canvas.accounts").fetchone())
        finally:
            con.close()
    assert counts[0] == counts[1] and counts[0] != (0,)
    assert not lock_path(db).read_text()  # the round's holder line is cleared when it ends
