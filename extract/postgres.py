"""The PostgreSQL database that Instructure's ``dap initdb`` / ``dap syncdb`` keep (issue 23).

``cd2 run --target postgres`` builds the models there instead of in DuckDB. This module holds
what that round needs outside dbt: which targets of ``profiles.yml`` are PostgreSQL ones, the
connection (the same environment variables ``profiles.yml`` reads: ``CD2_PG_*``, else libpq's
``PG*``), the pseudonym secret handed over as a session setting, and the freshness of dap's
tables from its own meta table ``instructure_dap.table_sync``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from extract.failures import CannotStartError, UsageError
from extract.freshness import freshness_by_namespace

PROFILE_NAME = "cd2"
DEFAULT_TARGET = "local"
SECRET_SETTING = "cd2.pseudonym_secret"  # read by macros/marts/cd2_privacy.sql (postgres)
DAP_META_TABLE = "instructure_dap.table_sync"

# (profiles.yml key, cd2 variable, libpq variable, default): the fallbacks profiles.yml spells out
CONNECTION_ENV = (
    ("host", "CD2_PG_HOST", "PGHOST", "localhost"),
    ("port", "CD2_PG_PORT", "PGPORT", "5432"),
    ("user", "CD2_PG_USER", "PGUSER", "postgres"),
    ("password", "CD2_PG_PASSWORD", "PGPASSWORD", ""),
    ("dbname", "CD2_PG_DATABASE", "PGDATABASE", "postgres"),
)


def target_type(project_dir: Path, target: str | None) -> str:
    """The adapter type (``duckdb``, ``postgres`` …) of a target of the project's profiles.yml."""
    name = target or DEFAULT_TARGET
    path = project_dir / "profiles.yml"
    try:
        outputs = (yaml.safe_load(path.read_text(encoding="utf-8")) or {})[PROFILE_NAME]["outputs"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise UsageError(f"cannot read the targets of {path}: {exc}", "run from the project folder") from None
    if name not in outputs:
        raise UsageError(f"no target {name!r} in {path}", f"use one of: {', '.join(sorted(outputs))}")
    return str(outputs[name].get("type", ""))


def connection_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """host, port, user, password, dbname as profiles.yml's postgres target resolves them."""
    env = os.environ if environ is None else environ
    return {key: env.get(ours) or env.get(libpq) or default for key, ours, libpq, default in CONNECTION_ENV}


def describe_connection(settings: Mapping[str, str]) -> str:
    """Where the connection goes, for messages: never the password."""
    return f"{settings['user']}@{settings['host']}:{settings['port']}/{settings['dbname']}"


def secret_options(secret: str, existing: str | None = None) -> str:
    """libpq's PGOPTIONS with ``-c cd2.pseudonym_secret=…`` added: the secret reaches the session as
    a setting, never as SQL text (dbt logs its SQL). libpq splits PGOPTIONS on spaces; a backslash
    escapes a space or a backslash."""
    escaped = secret.replace("\\", "\\\\").replace(" ", "\\ ")
    option = f"-c {SECRET_SETTING}={escaped}"
    return f"{existing} {option}" if existing else option


def connect(settings: Mapping[str, str]) -> Any:
    """A psycopg2 connection (the driver dbt-postgres uses); a clear error when there is none."""
    import psycopg2

    try:
        return psycopg2.connect(connect_timeout=10, application_name="cd2", **settings)
    except psycopg2.Error as exc:
        reason = " ".join(str(exc).split())
        raise CannotStartError(
            f"cannot connect to PostgreSQL {describe_connection(settings)}: {reason}",
            "set CD2_PG_HOST, CD2_PG_PORT, CD2_PG_USER, CD2_PG_PASSWORD and CD2_PG_DATABASE "
            "(or libpq's PGHOST … PGDATABASE) to the database dap syncdb loads",
        ) from None


def dap_freshness(connection: Any) -> dict[str, dict[str, Any]]:
    """Per namespace, from dap's meta table: tables, oldest and newest watermark, hours since the
    oldest (the keys of ``extract.run.data_freshness``; dap records no failed attempts). Empty when
    dap has loaded nothing here."""
    with connection.cursor() as cursor:
        cursor.execute("select to_regclass(%s) is not null", (DAP_META_TABLE,))
        if not cursor.fetchone()[0]:
            return {}
        cursor.execute(
            f"select source_namespace, count(*), min(timestamp), max(timestamp) from {DAP_META_TABLE} "
            "group by 1 order by 1"
        )
        rows = cursor.fetchall()
    return freshness_by_namespace([(*row, 0) for row in rows])
