"""Helpers for the dbt tests: run dbt on a scratch DuckDB file, compare current state with truth."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from extract.landing.tables import quote
from extract.schema import Column
from extract.synth.store import Store
from extract.tests.sync_helpers import truth_sql

ROOT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")


@dataclass
class DbtRun:
    args: tuple[str, ...]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class DbtProject:
    """dbt on one DuckDB file; the target and log folders are private to the test (partial parsing
    stays valid across invocations because the profile, i.e. CD2_DB, does not change)."""

    def __init__(self, db: Path, work: Path) -> None:
        self.db = db
        self.work = work

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("CD2_PSEUDONYM_SECRET", "cd2-tests-only-not-a-secret")
        env.update(
            {
                "CD2_DB": str(self.db),
                "CD2_TARGET": "local",
                "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
                "DO_NOT_TRACK": "1",
                "DBT_TARGET_PATH": str(self.work / "target"),
                "DBT_LOG_PATH": str(self.work / "logs"),
            }
        )
        return env

    def run(self, *args: str, timeout: float = 600) -> DbtRun:
        command = [str(DBT), *args, "--project-dir", str(ROOT), "--profiles-dir", str(ROOT)]
        done = subprocess.run(
            command, env=self.env(), capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False
        )
        return DbtRun(tuple(args), done.returncode, done.stdout + done.stderr)

    def manifest(self) -> dict:
        return json.loads((self.work / "target" / "manifest.json").read_text(encoding="utf-8"))

    def run_results(self) -> dict:
        return json.loads((self.work / "target" / "run_results.json").read_text(encoding="utf-8"))


def typed(column: Column) -> str:
    """A current-state column in the generator's types (nested JSON parsed as in staging)."""
    name = quote(column.name)
    if column.is_nested:
        structure = json.dumps(column.json_structure()).replace("'", "''")
        return f"json_transform({name}, '{structure}')"
    return f"CAST({name} AS {column.duckdb_type()})"


def current_state_mismatches(db: Path, store: Store, tables: Sequence[str]) -> dict[str, tuple[int, int, int]]:
    """Tables whose dbt current state (`<namespace>.<table>`) differs from the generator's truth.

    Returns ``{table: (current-state rows, truth rows, rows in the symmetric difference)}``.
    """
    con = duckdb.connect(str(db), read_only=True)
    bad: dict[str, tuple[int, int, int]] = {}
    try:
        for qname in tables:
            schema = store.schema(qname)
            namespace, table = qname.split(".", 1)
            columns = ", ".join(f"{typed(c)} AS {quote(c.name)}" for c in schema.columns)
            mine = f"SELECT {columns} FROM {namespace}.{quote(table)}"
            truth = truth_sql(con, store, qname)
            row = con.execute(
                f"""
                SELECT (SELECT count(*) FROM ({mine})), (SELECT count(*) FROM ({truth})),
                       (SELECT count(*) FROM (({mine}) EXCEPT ALL ({truth})))
                       + (SELECT count(*) FROM (({truth}) EXCEPT ALL ({mine})))
                """
            ).fetchone()
            assert row is not None
            if row[0] != row[1] or row[2]:
                bad[qname] = (int(row[0]), int(row[1]), int(row[2]))
    finally:
        con.close()
    return bad


def relation_differences(left: Path, right: Path, schemas: Sequence[str]) -> dict[str, int]:
    """Tables of the given schemas whose rows (all columns, by name) differ between two DuckDB files."""
    con = duckdb.connect(str(left), read_only=True)
    out: dict[str, int] = {}
    try:
        con.execute(f"ATTACH '{right}' AS other (READ_ONLY)")
        catalog = con.execute("SELECT current_database()").fetchone()
        assert catalog is not None
        listed = ", ".join(f"'{s}'" for s in schemas)
        tables = con.execute(
            f"""SELECT table_schema, table_name FROM information_schema.tables
                WHERE table_catalog = '{catalog[0]}' AND table_schema IN ({listed}) AND table_type = 'BASE TABLE'
                ORDER BY 1, 2"""
        ).fetchall()
        for schema, table in tables:
            name = f"{quote(schema)}.{quote(table)}"
            columns = ", ".join(quote(str(r[0])) for r in con.execute(f"DESCRIBE {name}").fetchall())
            here = f"SELECT {columns} FROM {name}"
            there = f"SELECT {columns} FROM other.{name}"
            row = con.execute(
                f"SELECT (SELECT count(*) FROM ({here} EXCEPT ALL {there})) "
                f"+ (SELECT count(*) FROM ({there} EXCEPT ALL {here}))"
            ).fetchone()
            assert row is not None
            if row[0]:
                out[f"{schema}.{table}"] = int(row[0])
    finally:
        con.close()
    return out


def keys_of(db: Path, qname: str, key: str) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        namespace, table = qname.split(".", 1)
        rows = con.execute(f"SELECT CAST({quote(key)} AS VARCHAR) FROM {namespace}.{quote(table)}").fetchall()
    finally:
        con.close()
    return {str(r[0]) for r in rows}
