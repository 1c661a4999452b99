"""Run Instructure's official ``dap`` CLI (instructure-dap-client 2.3.1) from its private venv.

The client pins dependency versions that conflict with the project's, so it lives in its own
virtualenv made by ``scripts/dap_client_env.sh``. Every run is
``dap --no-tracking --non-interactive --logformat json …`` with the API URL and credentials in
``DAP_API_URL`` / ``DAP_CLIENT_ID`` / ``DAP_CLIENT_SECRET``; the JSON log lines on stderr tell
which job directory and which error belong to which table of a multi-table run.

``CD2_DAP_BIN`` may name an existing ``dap`` executable instead (its venv's ``python`` must have
asyncpg for the PostgreSQL helpers).
"""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[3]
DAP_ENV_SCRIPT = REPO_ROOT / "scripts" / "dap_client_env.sh"
VENV_BUILD_TIMEOUT_S = 900
DEFAULT_RUN_TIMEOUT_S = 300
SKIP_ENV = "CD2_SKIP_CONFORMANCE"

_STARTING = re.compile(r"Starting (\w+) of table '([^']+)'")
_FINISHED = re.compile(r"Finished (\w+) of table '([^']+)'")
_DOWNLOADED = re.compile(r"Files from server downloaded to folder: (.+)")
_RETRIEVED = re.compile(  # snapshot/incremental commands, and initdb/syncdb ("Data has been …")
    r"(?:(?:Snapshot|Incremental) query results have|Data has) been successfully retrieved:\n(.*)", re.S
)
_FAILED_REASON = re.compile(r"Operation (\w+) failed\. Reason: (.*)", re.S)


class DapClientUnavailableError(RuntimeError):
    """The official client's venv could not be made (typically: no access to PyPI)."""


@cache
def dap_executable() -> Path:
    """Path of the ``dap`` executable, building the private venv on first use (cached on disk)."""
    override = os.environ.get("CD2_DAP_BIN")
    if override:
        if not os.access(override, os.X_OK):
            raise DapClientUnavailableError(f"CD2_DAP_BIN={override} is not an executable")
        return Path(override)
    try:
        proc = subprocess.run(
            ["bash", str(DAP_ENV_SCRIPT)],
            capture_output=True,
            text=True,
            timeout=VENV_BUILD_TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired:
        message = f"{DAP_ENV_SCRIPT} did not finish in {VENV_BUILD_TIMEOUT_S} s"
        raise DapClientUnavailableError(message) from None
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines or not Path(lines[-1]).is_file():
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise DapClientUnavailableError(
            f"could not prepare the official dap client with {DAP_ENV_SCRIPT} "
            f"(exit {proc.returncode}); it needs PyPI access to install "
            f"instructure-dap-client==2.3.1. Set {SKIP_ENV}=1 to skip the conformance tests.\n{tail}"
        )
    return Path(lines[-1])


def require_dap_client() -> Path:
    """``dap_executable()`` for a test: fail loudly when it is missing, skip only on request."""
    try:
        return dap_executable()
    except DapClientUnavailableError as exc:
        if os.environ.get(SKIP_ENV) == "1":
            pytest.skip(f"{SKIP_ENV}=1 and the dap client is unavailable: {exc}")
        pytest.fail(str(exc), pytrace=False)


def dap_python() -> Path:
    """The interpreter of the dap venv (it has asyncpg, used to read PostgreSQL)."""
    return dap_executable().parent / "python"


# Runs in the dap venv: one query through asyncpg, the result pickled to stdout (column names and
# rows of stdlib values: datetime, date, Decimal, UUID, str, int, float, bool; json/jsonb as text).
_PG_QUERY_SCRIPT = """
import asyncio, ipaddress, pickle, sys, uuid
import asyncpg

def plain(value):  # asyncpg's own UUID class would not unpickle outside its venv; inet as text
    if isinstance(value, uuid.UUID):
        return uuid.UUID(str(value))
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return str(value)
    return value

async def main(dsn, mode, sql):
    conn = await asyncpg.connect(dsn)
    try:
        if mode == "execute":  # any number of statements, no result
            await conn.execute(sql)
            names, rows = [], []
        else:
            statement = await conn.prepare(sql)
            names = [a.name for a in statement.get_attributes()]
            rows = [tuple(plain(v) for v in r) for r in await statement.fetch()]
    finally:
        await conn.close()
    sys.stdout.buffer.write(pickle.dumps((names, rows)))

asyncio.run(main(*sys.argv[1:4]))
"""


def _run_pg_script(dsn: str, mode: str, sql: str, timeout: float) -> tuple[list[str], list[tuple[Any, ...]]]:
    proc = subprocess.run(
        [str(dap_python()), "-c", _PG_QUERY_SCRIPT, dsn, mode, sql],
        capture_output=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"query failed: {sql}\n{proc.stderr.decode(errors='replace')[-2000:]}")
    names, rows = pickle.loads(proc.stdout)  # produced by our own script above
    return names, rows


def pg_query(dsn: str, sql: str, timeout: float = 120) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of one SQL query, read with the dap venv's asyncpg."""
    return _run_pg_script(dsn, "fetch", sql, timeout)


def pg_execute(dsn: str, sql: str, timeout: float = 120) -> None:
    """Run SQL statements (no result) with the dap venv's asyncpg."""
    _run_pg_script(dsn, "execute", sql, timeout)


@dataclass(frozen=True)
class DapTarget:
    """Where the CLI talks to and with which credentials."""

    api_url: str
    client_id: str
    client_secret: str

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("DAP_")}
        env.update(
            DAP_API_URL=self.api_url,
            DAP_CLIENT_ID=self.client_id,
            DAP_CLIENT_SECRET=self.client_secret,
            DAP_TRACKING="false",
        )
        return env


@dataclass(frozen=True)
class TableOutcome:
    """What one table of a (possibly multi-table) run produced, read from the CLI's log."""

    table: str
    finished: bool = False
    directory: Path | None = None
    job: dict[str, Any] | None = None
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class DapRun:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    logs: list[dict[str, Any]] = field(default_factory=list)

    def describe(self, tail_lines: int = 25) -> str:
        """A compact account for assertion messages."""
        stderr_tail = "\n".join(self.stderr.strip().splitlines()[-tail_lines:])
        return f"$ {' '.join(self.argv)}\nexit {self.returncode} after {self.seconds:.1f} s\n{stderr_tail}"

    def messages(self, level: str | None = None) -> list[str]:
        return [r["message"] for r in self.logs if level is None or r.get("level") == level]

    def table_outcomes(self) -> dict[str, TableOutcome]:
        """Per table: its job directory, its job JSON, its error messages (sequential log walk)."""
        outcomes: dict[str, TableOutcome] = {}
        current: str | None = None
        for message in self.messages():
            if match := _STARTING.match(message):
                current = match.group(2)
                outcomes[current] = TableOutcome(current)
                continue
            if current is None:
                continue
            outcome = outcomes[current]
            if match := _DOWNLOADED.match(message):
                outcome = replace(outcome, directory=Path(match.group(1)))
            elif match := _RETRIEVED.match(message):
                outcome = replace(outcome, job=json.loads(match.group(1)))
            elif match := _FAILED_REASON.match(message):
                outcome = replace(outcome, errors=(*outcome.errors, match.group(2)))
            elif _FINISHED.match(message):
                outcome = replace(outcome, finished=True)
            outcomes[current] = outcome
        return outcomes


def _json_log_records(stderr: str) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for line in stderr.splitlines():
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "message" in record:
            records.append(record)
    return records


def run_dap(
    target: DapTarget,
    args: Sequence[str],
    *,
    cwd: Path,
    timeout: float = DEFAULT_RUN_TIMEOUT_S,
    loglevel: str = "info",
) -> DapRun:
    """Run ``dap <global options> <args>``; never raises for a non-zero exit (callers assert)."""
    argv = (
        str(dap_executable()),
        "--no-tracking",
        "--non-interactive",
        "--logformat",
        "json",
        "--loglevel",
        loglevel,
        *args,
    )
    cwd.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env=target.environment(),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return DapRun(
        argv=argv,
        returncode=proc.returncode,
        stdout=proc.stdout,
        stderr=proc.stderr,
        seconds=time.monotonic() - started,
        logs=_json_log_records(proc.stderr),
    )


class PlainApiClient:
    """The DAP flow done by hand with ``requests``: login → job → object URLs → download."""

    def __init__(self, target: DapTarget, timeout: float = 60) -> None:
        self.target = target
        self.timeout = timeout
        self.session = requests.Session()
        self._token: str | None = None

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            response = self.session.post(
                f"{self.target.api_url}/ids/auth/login",
                auth=(self.target.client_id, self.target.client_secret),
                data={"grant_type": "client_credentials"},
                timeout=self.timeout,
            )
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._token}"}

    def get_json(self, path: str) -> Any:
        url = f"{self.target.api_url}{path}"
        response = self.session.get(url, headers=self._headers(), timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    def post_json(self, path: str, body: Any) -> Any:
        response = self.session.post(
            f"{self.target.api_url}{path}", json=body, headers=self._headers(), timeout=self.timeout
        )
        response.raise_for_status()
        return response.json()

    def schema(self, namespace: str, table: str) -> dict[str, Any]:
        return self.get_json(f"/dap/query/{namespace}/table/{table}/schema")

    def run_job(self, namespace: str, table: str, query: dict[str, Any]) -> dict[str, Any]:
        """POST the query and poll (every 0.2 s) until the job is terminal."""
        job = self.post_json(f"/dap/query/{namespace}/table/{table}/data", query)
        deadline = time.monotonic() + self.timeout
        while job["status"] not in ("complete", "failed"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job['id']} still {job['status']} after {self.timeout} s")
            time.sleep(0.2)
            job = self.get_json(f"/dap/job/{job['id']}")
        return self.get_json(f"/dap/job/{job['id']}")

    def download_objects(self, job: dict[str, Any]) -> dict[str, bytes]:
        """Object id → raw downloaded bytes (one URL request per object, like the CLI)."""
        out: dict[str, bytes] = {}
        for obj in job["objects"]:
            urls = self.post_json("/dap/object/url", [{"id": obj["id"]}])["urls"]
            with self.session.get(urls[obj["id"]]["url"], timeout=self.timeout, stream=True) as response:
                response.raise_for_status()
                encoding = response.headers.get("Content-Encoding")
                if encoding:  # the official client would then gunzip already-decoded text
                    raise AssertionError(f"download of {obj['id']} has Content-Encoding: {encoding}")
                out[obj["id"]] = response.raw.read(decode_content=False)
        return out
