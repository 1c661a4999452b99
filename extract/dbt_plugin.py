"""dbt-duckdb plugin: hands the pseudonym secret to DuckDB without putting it in SQL or logs.

profiles.yml loads it (``plugins: [{module: extract.dbt_plugin}]``). Each connection and cursor gets the
DuckDB variable ``cd2_pseudonym_secret`` from env var ``CD2_PSEUDONYM_SECRET``; the HMAC macro
(``macros/marts/cd2_privacy.sql``) reads it with ``getvariable`` and fails clearly when unset.
"""

from __future__ import annotations

import os

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from extract.pseudonym import SECRET_ENV


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        _set_secret(conn)

    def configure_cursor(self, cursor: DuckDBPyConnection) -> None:
        # DuckDB variables belong to one client context: every cursor dbt opens needs its own.
        _set_secret(cursor)


def _set_secret(conn: DuckDBPyConnection) -> None:
    secret = os.environ.get(SECRET_ENV)
    if secret:
        conn.execute("SET VARIABLE cd2_pseudonym_secret = ?", [secret])
