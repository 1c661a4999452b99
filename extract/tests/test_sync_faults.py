"""Faults end in a successful retry or a clear error for that table only; a re-run reaches the truth."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Fault
from extract.synth import Institution
from extract.tests.sync_helpers import fresh_institution, replay_mismatches, run_sync, serving

pytestmark = pytest.mark.slow

TABLES = ["canvas.accounts", "canvas.courses", "canvas.submissions", "canvas_logs.web_logs"]
TARGET = "canvas.submissions"


@pytest.fixture(scope="module")
def synth_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synth-cache-faults")


@pytest.fixture
def institution(synth_cache: Path, tmp_path: Path) -> Institution:
    return fresh_institution(synth_cache, tmp_path / "store")


RECOVERABLE = {
    "429 with Retry-After": Fault(kind="rate_limit", endpoint="create_job", retry_after=1, times=2),
    "503 with a JSON body": Fault(kind="http_status", endpoint="get_job", status=503, times=2),
    "500 on object URLs": Fault(kind="http_status", endpoint="object_url", status=500, times=2),
    "non-JSON 502": Fault(kind="html_502", endpoint="schema", times=2),
    "504 gateway timeout": Fault(kind="gateway_timeout", endpoint="create_job", times=2),
    "dropped connection mid-download": Fault(kind="drop_connection", endpoint="download", after_bytes=64, times=3),
    "truncated gzip": Fault(kind="truncated_gzip", endpoint="download", table=TARGET, times=1),
    "expired URL": Fault(kind="url_expiry", endpoint="object_url", times=1),
    "expired token": Fault(kind="token_expiry", endpoint="login", lifetime_s=0, times=1),
    "revoked token": Fault(kind="token_revoked", endpoint="list_tables", times=1),
    "expired job": Fault(kind="job_expiry", endpoint="create_job", table=TARGET, times=1),
}


@pytest.mark.parametrize("name", sorted(RECOVERABLE))
def test_fault_is_retried_to_the_truth(institution: Institution, tmp_path: Path, name: str) -> None:
    db = tmp_path / "cd2.duckdb"
    # Jobs that need polling, so that faults on GET /dap/job have something to hit.
    with serving(institution, job_completion="polls:1") as server:
        assert run_sync(server, db, TABLES).ok
        server.advance(4)
        fault = RECOVERABLE[name]
        if fault.kind == "token_revoked":
            fault = Fault(kind="token_revoked", endpoint="schema", times=1)
        server.faults.add(fault)
        report = run_sync(server, db, TABLES)
        assert fault.fired >= 1, f"{name}: the fault never fired"
        assert report.ok, [(r.qualified_name, r.error) for r in report.failed]
    assert replay_mismatches(db, institution.store, TABLES) == {}


PERSISTENT = {
    "failed job": (
        Fault(
            kind="job_failure",
            endpoint="create_job",
            table=TARGET,
            error_type="ProcessingError",
            message="simulated processing failure",
            times=None,
        ),
        "simulated processing failure",
    ),
    "500 for ever": (Fault(kind="http_status", endpoint="create_job", table=TARGET, status=500, times=None), "500"),
    "429 for ever": (
        Fault(kind="rate_limit", endpoint="create_job", table=TARGET, retry_after=0, times=None),
        "429",
    ),
    "broken downloads": (
        Fault(kind="drop_connection", endpoint="download", table=TARGET, after_bytes=10, times=None),
        "download",
    ),
}


@pytest.mark.parametrize("name", sorted(PERSISTENT))
def test_persistent_fault_fails_that_table_only_and_a_rerun_recovers(
    institution: Institution, tmp_path: Path, name: str
) -> None:
    db = tmp_path / "cd2.duckdb"
    fault, expected_text = PERSISTENT[name]
    with serving(institution) as server:
        assert run_sync(server, db, TABLES).ok
        server.advance(4)
        server.faults.add(fault)
        report = run_sync(server, db, TABLES)
        failed = {r.qualified_name: r for r in report.failed}
        assert set(failed) == {TARGET}
        assert expected_text.lower() in (failed[TARGET].error or "").lower()
        others = [t for t in TABLES if t != TARGET]
        assert replay_mismatches(db, institution.store, others) == {}
        con = duckdb.connect(str(db), read_only=True)
        try:
            logged = con.execute(
                "SELECT error_message FROM cd2_meta.batches WHERE status = 'failed' AND table_name = 'submissions'"
            ).fetchall()
        finally:
            con.close()
        assert logged and expected_text.lower() in logged[-1][0].lower()
        server.faults.clear()
        assert run_sync(server, db, TABLES).ok
    assert replay_mismatches(db, institution.store, TABLES) == {}


def test_out_of_memory_names_the_setting_and_a_rerun_with_more_memory_completes(
    institution: Institution, tmp_path: Path
) -> None:
    db = tmp_path / "cd2.duckdb"
    with serving(institution) as server:
        # too little for even one reader buffer (DuckDB's JSON reader takes 32 MiB per thread)
        report = run_sync(server, db, [TARGET], duckdb_config={"memory_limit": "16MB", "threads": "2"})
        [failed] = report.failed
        assert failed.error_type == "OutOfMemoryException"
        assert "memory_limit" in (failed.error or "") and "CD2_MEMORY_LIMIT" in (failed.error or "")
        con = duckdb.connect(str(db), read_only=True)
        try:
            assert con.execute("SELECT watermark, last_status FROM cd2_meta.table_state").fetchall() == [
                (None, "failed")
            ]
        finally:
            con.close()
        assert run_sync(server, db, [TARGET]).ok
    assert replay_mismatches(db, institution.store, [TARGET]) == {}


def _sync_command(url: str, db: Path) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ, DAP_API_URL=url, DAP_CLIENT_ID=DEFAULT_CLIENT_ID, DAP_CLIENT_SECRET=DEFAULT_CLIENT_SECRET)
    cmd = [sys.executable, "-m", "extract.cli", "sync", "--db", str(db), "--no-rate-limit", "--progress", "never"]
    return cmd, env


def _raw_counts(db: Path) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema LIKE 'raw_%'"
        ).fetchall()
        return {f"{s}.{t}": con.execute(f'SELECT count(*) FROM {s}."{t}"').fetchone()[0] for s, t in tables}
    finally:
        con.close()


def test_killed_sync_resumes_to_the_same_state(institution: Institution, tmp_path: Path) -> None:
    """SIGKILL ``cd2 sync`` at random moments; each re-run ends where an uninterrupted run does."""
    store = institution.store
    rng = random.Random(20261126)
    with serving(institution) as server:
        reference = tmp_path / "reference.duckdb"
        cmd, env = _sync_command(server.url, reference)
        started = time.monotonic()
        subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
        full_run = time.monotonic() - started
        expected = _raw_counts(reference)
        killed_mid_run = 0
        for trial in range(4):
            db = tmp_path / f"trial{trial}.duckdb"
            cmd, env = _sync_command(server.url, db)
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.5, max(0.6, full_run * 0.9)))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                killed_mid_run += 1
            proc.wait(timeout=60)
            subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=600)
            assert _raw_counts(db) == expected, f"trial {trial}: rows lost or doubled"
            assert replay_mismatches(db, store, store.tables()) == {}
        assert killed_mid_run >= 2, "the kills came too late to test anything"
