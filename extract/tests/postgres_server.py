"""The private PostgreSQL server of the tests (``scripts/postgres_service.sh``), shared safely.

Test modules that need PostgreSQL (the dap conformance test, the engines' differential test) may
run at the same time in different pytest-xdist workers. Each holds the server while it runs:
the first starts it if it is not running, and the last to let go stops it, if a test started it
(a server that was already running is left running). The holders are recorded by process id in a
file under a lock, so a worker that died does not keep the server up for ever. Each module works
in a database of its own (``fresh_database``).

``CD2_PG_DSN`` names an existing server instead: its database is used as it is by the tests that
take the server's database, and the others create theirs beside it.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PG_SERVICE = REPO_ROOT / "scripts" / "postgres_service.sh"
HOLDERS_FILE = REPO_ROOT / ".cache" / "postgres-test-holders.json"
START_TIMEOUT_S = 180


def service(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(PG_SERVICE), *args],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _last_line(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout.strip().splitlines()[-1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def _holders() -> Iterator[dict]:
    """The holders' record, read and written under an exclusive lock."""
    HOLDERS_FILE.parent.mkdir(parents=True, exist_ok=True)
    with HOLDERS_FILE.with_suffix(".lock").open("w", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            state = json.loads(HOLDERS_FILE.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            state = {}
        state["pids"] = [pid for pid in state.get("pids", []) if _alive(pid)]
        state.setdefault("started_by_tests", False)
        yield state
        HOLDERS_FILE.write_text(json.dumps(state), encoding="utf-8")


@contextmanager
def postgres_server() -> Iterator[str]:
    """The connection string of the running server (database ``dapdb``), held while in use; skips
    the test with the reason when no server can be started (e.g. PostgreSQL not installed)."""
    if os.environ.get("CD2_PG_DSN"):
        yield os.environ["CD2_PG_DSN"]
        return
    with _holders() as state:
        status = service("status")
        if status.returncode != 0:
            started = service("start")
            if started.returncode != 0:
                tail = " | ".join(started.stderr.strip().splitlines()[-5:])
                pytest.skip(f"no PostgreSQL: CD2_PG_DSN is unset and `{PG_SERVICE.name} start` failed: {tail}")
            state["started_by_tests"] = True
            dsn = _last_line(started)
        else:
            dsn = _last_line(status)
        state["pids"].append(os.getpid())
    try:
        yield dsn
    finally:
        with _holders() as state:
            if os.getpid() in state["pids"]:
                state["pids"].remove(os.getpid())
            if not state["pids"] and state["started_by_tests"]:
                service("stop")
                state["started_by_tests"] = False


def fresh_database(server_dsn: str, name: str) -> str:
    """An empty database ``dapdb_<name>`` on the tests' server (its connection string). On a
    server named by ``CD2_PG_DSN`` it is made with SQL (the role needs CREATEDB)."""
    if not os.environ.get("CD2_PG_DSN"):
        made = service("fresh-database", name)
        if made.returncode != 0:
            raise RuntimeError(f"could not create database dapdb_{name}: {made.stderr.strip()[-500:]}")
        return _last_line(made)
    import psycopg2

    database = f"dapdb_{name}"
    con = psycopg2.connect(server_dsn)
    try:
        con.autocommit = True
        with con.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{database}"')
            cursor.execute(f'CREATE DATABASE "{database}"')
    finally:
        con.close()
    url = urlsplit(server_dsn)
    return urlunsplit(url._replace(path=f"/{database}"))
