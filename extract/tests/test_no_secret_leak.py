"""No secret anywhere: known secret values, a live access token and a live signed URL, echoed back by
the API in its error texts, appear in no output stream, log, ``target/`` artifact, docs page or
database file after a sync, a failing sync, a round with the docs site (and the report site, whose
pipeline page shows the failing tables' errors) and ``cd2 status``.

The API's echo is made real: the fake fails two tables with error messages that carry the client
secret, a bearer token it issued and a pre-signed URL it issued. The test also checks that those
failures did reach the outputs (so that zero hits means redaction, not silence).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from extract.dap.auth import Credentials
from extract.dap.client import DapClient
from extract.fake_dap import DEFAULT_CLIENT_ID, Fault
from extract.tests.sync_helpers import fresh_institution, serving

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CLIENT_SECRET = "leak-test-client-secret-7f3a9c21"
PSEUDONYM_SECRET = "leak-test-pseudonym-key-4b1e77d0"
SECRET_FILE_VALUE = "leak-test-secret-from-file-0c9d"
FAILING = ("canvas.quizzes", "canvas.groups")


def _cd2(args: list[str], env: dict[str, str], cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "extract.cli", *args],
        env=env,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _database_text(db: Path) -> str:
    """Every text value of every cd2_meta table (DuckDB compresses strings, so the file's bytes alone
    could hide a value)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema = 'cd2_meta'"
        ).fetchall()
        chunks = []
        for schema, table in tables:
            rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            chunks.append(" ".join(str(value) for row in rows for value in row))
        return "\n".join(chunks)
    finally:
        con.close()


def test_no_secret_in_any_output_log_artifact_or_database(tmp_path: Path) -> None:
    institution = fresh_institution(tmp_path / "synth", tmp_path / "store")
    work = tmp_path / "work"
    work.mkdir()
    db = work / "data" / "cd2.duckdb"
    with serving(institution, client_secret=CLIENT_SECRET) as server:
        # A live token and a live signed URL, as the API would echo them.
        with DapClient(Credentials(server.url, DEFAULT_CLIENT_ID, CLIENT_SECRET), limits={}) as client:
            token = client.tokens.token()
            job = client.wait_for_job(client.start_job("canvas", "accounts", {"format": "jsonl"}))
            signed_url = next(iter(client.object_urls(job.objects).values()))
        echo = f"echo: secret={CLIENT_SECRET} Authorization: Bearer {token} url {signed_url}"
        server.faults.add(
            Fault(kind="job_failure", endpoint="create_job", table=FAILING[0], message=echo, times=None),
            Fault(kind="http_status", endpoint="schema", table=FAILING[1], status=400, message=echo, times=None),
            Fault(kind="http_status", endpoint="get_job", status=503, message=echo, times=2),
        )
        env = dict(
            os.environ,
            DAP_API_URL=server.url,
            DAP_CLIENT_ID=DEFAULT_CLIENT_ID,
            DAP_CLIENT_SECRET=CLIENT_SECRET,
            CD2_PSEUDONYM_SECRET=PSEUDONYM_SECRET,
            CD2_TABLES="all",
            CD2_NAMESPACES="canvas,canvas_logs",
            DBT_TARGET_PATH=str(work / "target"),
            DBT_LOG_PATH=str(work / "logs"),
            COLUMNS="200",
        )
        env.pop("CD2_DB", None)
        env.pop("CD2_CONFIG", None)
        runs = [
            # a failing sync, with debug logs, in both log formats
            _cd2(["-v", "sync", "--db", str(db), "--no-rate-limit"], env, work),
            _cd2(["-v", "sync", "--db", str(db), "--no-rate-limit", "--log-format", "json"], env, work),
        ]
        server.advance(4)
        # a round with the docs site (the same two tables still fail)
        round_run = _cd2(
            ["-v", "run", "--db", str(db), "--no-rate-limit", "--project-dir", str(ROOT), "--progress", "never"],
            env,
            ROOT,
        )
        runs.append(round_run)
        # the secret from standard input instead of the environment
        from_stdin = {k: v for k, v in env.items() if k != "DAP_CLIENT_SECRET"}
        runs.append(_cd2(["list", "--client-secret-file", "-"], from_stdin, work, stdin=f"{CLIENT_SECRET}\n"))
        runs.append(_cd2(["status", "--db", str(db)], env, work))
        runs.append(_cd2(["status", "--db", str(db), "--json"], env, work))
        # a wrong secret from a file: refused, and not printed either
        (work / "secret.txt").write_text(SECRET_FILE_VALUE + "\n")
        runs.append(_cd2(["sync", "--db", str(db), "--client-secret-file", "secret.txt"], from_stdin, work))

    outputs = "\n".join(run.stdout + run.stderr for run in runs)
    assert [run.returncode for run in runs] == [1, 1, 1, 0, 0, 0, 3], outputs[-5000:]
    assert "accounts" in runs[3].stdout  # the secret read from stdin logged in
    # The failures reached every place the test searches (so zero hits below means redaction).
    for qname in FAILING:
        assert f"failed {qname}" in runs[0].stderr
    assert "echo: secret=" in runs[0].stderr and "echo: secret=" in runs[4].stdout + runs[5].stdout
    assert "docs site:" in round_run.stderr, round_run.stderr[-3000:]
    stored = _database_text(db)
    assert "echo: secret=" in stored

    secrets = {
        "client secret": CLIENT_SECRET,
        "pseudonym secret": PSEUDONYM_SECRET,
        "secret from a file": SECRET_FILE_VALUE,
        "access token": token,
        "signed URL": signed_url,
        "signed URL's query": signed_url.split("?", 1)[1],
        "signed URL's path token": signed_url.split("/download/", 1)[1].split("/", 1)[0],
    }
    # every file the commands wrote (the institution's store and the secret file itself aside)
    files = [
        p
        for p in tmp_path.rglob("*")
        if p.is_file() and "store" not in p.parts and "synth" not in p.parts and p.name != "secret.txt"
    ]
    assert any(p.name == "static_index.html" for p in files)
    # the report site's pipeline page shows the failing tables' last errors (redacted)
    pipeline = next((p for p in files if p.name == "pipeline.html"), None)
    assert pipeline is not None and "echo: secret=" in pipeline.read_text(encoding="utf-8")
    assert any(p.suffix == ".log" for p in files)
    found: dict[str, list[str]] = {}
    for name, value in secrets.items():
        needle = value.encode()
        hits = [f"output of run {i}" for i, run in enumerate(runs) if value in run.stdout + run.stderr]
        hits += ["cd2_meta text"] if value in stored else []
        hits += [str(p) for p in files if needle in p.read_bytes()]
        if hits:
            found[name] = hits
    assert found == {}
