"""``cd2 sync`` / ``status`` / ``import`` as a user runs them: output, exit codes, rate limits, secrets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from extract.dap.auth import Credentials
from extract.dap.client import DapClient
from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Fault
from extract.synth import Institution
from extract.tests.sync_helpers import cd2, default_tables, fresh_institution, replay_mismatches, serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def synth_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synth-cache-cli")


@pytest.fixture
def institution(synth_cache: Path, tmp_path: Path) -> Institution:
    return fresh_institution(synth_cache, tmp_path / "store")


def test_sync_status_and_no_secrets_in_any_output(institution: Institution, tmp_path: Path) -> None:
    db = tmp_path / "cd2.duckdb"
    with serving(institution) as server:
        # A few faults so that retries and error paths log too.
        server.faults.add(
            Fault(kind="http_status", endpoint="create_job", status=503, times=2),
            Fault(kind="url_expiry", endpoint="object_url", times=1),
            Fault(kind="drop_connection", endpoint="download", after_bytes=32, times=1),
            Fault(kind="job_failure", endpoint="create_job", table="canvas.quizzes", message="boom", times=None),
        )
        outputs = []
        for log_format in ("plain", "json"):
            run = cd2("-v", "sync", "--db", str(db), "--no-rate-limit", "--log-format", log_format, url=server.url)
            outputs.append(run.stdout + run.stderr)
            assert run.returncode == 1, run.stderr[-2000:]  # quizzes failed; everything else synced
            assert "failed canvas.quizzes" in run.stderr and "boom" in run.stderr
        status = cd2("status", "--db", str(db), "--json", url=server.url)
        assert status.returncode == 0
        states = {s["table"]: s for s in json.loads(status.stdout)}
        assert len(states) == 114
        assert states["canvas.quizzes"]["last_status"] == "failed" and "boom" in states["canvas.quizzes"]["last_error"]
        assert states["canvas.submissions"]["last_status"] == "ok" and states["canvas.submissions"]["raw_rows"] > 0
        con = duckdb.connect(str(db), read_only=True)
        try:
            logged = " ".join(str(r) for r in con.execute("SELECT * FROM cd2_meta.batches").fetchall())
        finally:
            con.close()
    everything = "\n".join(outputs) + status.stdout + logged
    assert DEFAULT_CLIENT_SECRET not in everything
    for leak in ("eyJ", "X-Amz-Signature", "/download/", "Bearer "):
        assert leak not in everything, leak
    tables = [t for t in default_tables(institution.store) if t != "canvas.quizzes"]
    assert replay_mismatches(db, institution.store, tables) == {}


def test_real_api_rate_limits_are_respected(institution: Institution, tmp_path: Path) -> None:
    """With the real limits on at the server, job creation never exceeds 5 per minute (and no 429)."""
    tables = ["accounts", "courses", "users", "enrollments", "assignments", "submissions", "scores"]
    with serving(institution, rate_limits=True) as server:
        run = cd2(
            "sync",
            "--db",
            str(tmp_path / "cd2.duckdb"),
            "--namespace",
            "canvas",
            "--table",
            ",".join(tables),
            url=server.url,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        log = server.request_log
        assert log.max_in_window("create_job", 60, accepted_only=False) == 5
        assert log.select(status=429) == []
        assert len(log.select(endpoint="create_job")) == len(tables)


def test_missing_credentials_are_a_clear_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAP_")}
    run = subprocess.run(
        [sys.executable, "-m", "extract.cli", "sync", "--db", str(tmp_path / "x.duckdb")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 3  # could not start
    assert "DAP_CLIENT_ID" in run.stderr and "DAP_CLIENT_SECRET" in run.stderr


def test_bad_credentials_are_reported_without_the_secret(institution: Institution, tmp_path: Path) -> None:
    with serving(institution) as server:
        run = cd2("sync", "--db", str(tmp_path / "x.duckdb"), url=server.url, secret="wrong-secret-123")
    assert run.returncode == 3  # could not start
    assert "wrong-secret-123" not in run.stdout + run.stderr
    assert "401" in run.stderr


def test_import_of_official_client_style_files(institution: Institution, tmp_path: Path) -> None:
    """Files laid out like `dap snapshot` output land as one batch with a watermark."""
    with serving(institution) as server:
        client = DapClient(Credentials(server.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET), limits={})
        for fmt in ("jsonl", "tsv", "csv", "parquet"):
            job = client.wait_for_job(client.start_job("canvas", "courses", {"format": fmt}))
            folder = tmp_path / f"dl-{fmt}" / f"job_{job.id}"
            folder.mkdir(parents=True)
            for object_id, url in client.object_urls(job.objects).items():
                client.download(url, folder / object_id.rsplit("/", 1)[-1])
            db = tmp_path / f"{fmt}.duckdb"
            run = cd2(
                "import",
                str(folder.parent),
                "--table",
                "courses",
                "--kind",
                "snapshot",
                "--db",
                str(db),
                url=server.url,
            )
            assert run.returncode == 0, run.stderr
            assert "imported" in run.stdout
            assert replay_mismatches(db, institution.store, ["canvas.courses"]) == {}
        client.close()
