"""``cd2 run --target <postgres target>``: target lookup, connection settings, the secret's way in,
and the clear failures that come before dbt starts (the round itself: test_engines_differential)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from extract.failures import EXIT_CANNOT_START, EXIT_USAGE, UsageError
from extract.postgres import connection_settings, describe_connection, secret_options, target_type
from extract.tests.sync_helpers import cli_env

ROOT = Path(__file__).resolve().parents[2]


def test_targets_are_read_from_the_projects_profiles() -> None:
    assert target_type(ROOT, None) == "duckdb"
    assert target_type(ROOT, "postgres") == "postgres"
    with pytest.raises(UsageError) as caught:
        target_type(ROOT, "warehouse")
    assert "no target 'warehouse'" in caught.value.line() and "postgres" in caught.value.line()


def test_connection_settings_prefer_cd2_variables_then_libpq_then_defaults() -> None:
    env = {"CD2_PG_HOST": "db.example.edu", "PGHOST": "ignored", "PGUSER": "analytics", "PGPASSWORD": "pw"}
    settings = connection_settings(env)
    assert settings == {
        "host": "db.example.edu",
        "port": "5432",
        "user": "analytics",
        "password": "pw",
        "dbname": "postgres",
    }
    assert "pw" not in describe_connection(settings)


def test_the_secret_becomes_one_escaped_session_setting() -> None:
    assert secret_options("plain") == "-c cd2.pseudonym_secret=plain"
    assert secret_options("a b\\c") == "-c cd2.pseudonym_secret=a\\ b\\\\c"
    assert secret_options("s", "-c statement_timeout=0") == "-c statement_timeout=0 -c cd2.pseudonym_secret=s"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cd2_run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "extract.cli", "run", *args],
        env=cli_env(**env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    port = str(_free_port())
    done = _cd2_run("--target", "postgres", CD2_PG_HOST="127.0.0.1", CD2_PG_PORT=port, CD2_PG_PASSWORD="hunter2-secret")
    assert done.returncode == EXIT_CANNOT_START, done.stderr
    assert f"cannot connect to PostgreSQL postgres@127.0.0.1:{port}/postgres" in done.stderr
    assert "CD2_PG_HOST" in done.stderr  # the fix names the settings
    assert "hunter2-secret" not in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_an_unknown_target_is_a_usage_error() -> None:
    done = _cd2_run("--target", "warehouse")
    assert done.returncode == EXIT_USAGE, done.stderr
    assert "no target 'warehouse'" in done.stderr
