"""Helpers for the dbt tests: run dbt on a scratch DuckDB file, compare current state with truth."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
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
from extract.unchanged import dbt_vars

ROOT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")
# The file name every test database is opened under (dbt runs in the database's folder). dbt
# reparses the whole project (~20 s) when the profile's connection details change, and the
# DuckDB path is one of them: one relative name keeps a shared partial-parse file valid.
DB_NAME = "cd2.duckdb"
PARSE_CACHE = Path(os.environ.get("CD2_DBT_PARSE_CACHE", ROOT / ".cache" / "dbt-parse"))
_parse_cache_fresh = False


@dataclass
class DbtRun:
    args: tuple[str, ...]
    returncode: int
    output: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _dbt_env(target: Path, logs: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("CD2_PSEUDONYM_SECRET", "cd2-tests-only-not-a-secret")
    env.update(
        {
            "CD2_DB": DB_NAME,
            "CD2_TARGET": "local",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
            "DBT_TARGET_PATH": str(target),
            "DBT_LOG_PATH": str(logs),
        }
    )
    return env


def _dbt_command(args: tuple[str, ...], project: Path = ROOT) -> list[str]:
    # The code fingerprint as `cd2 run` passes it: the same vars on every call keep partial parsing valid.
    vars_ = () if "--vars" in args else ("--vars", dbt_vars(project))
    return [str(DBT), *args, *vars_, "--project-dir", str(project), "--profiles-dir", str(project)]


def shared_partial_parse() -> Path | None:
    """dbt's partial-parse file for the project as it is now, parsed once per test process
    (under a lock, the workers share it); dbt itself re-checks every file hash when it loads it."""
    global _parse_cache_fresh
    PARSE_CACHE.mkdir(parents=True, exist_ok=True)
    msgpack = PARSE_CACHE / "target" / "partial_parse.msgpack"
    with (PARSE_CACHE / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _parse_cache_fresh:
            done = subprocess.run(
                _dbt_command(("parse",)),
                env=_dbt_env(PARSE_CACHE / "target", PARSE_CACHE / "logs"),
                cwd=PARSE_CACHE,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            _parse_cache_fresh = done.returncode == 0
    return msgpack if _parse_cache_fresh and msgpack.exists() else None


class DbtProject:
    """dbt on one DuckDB file; the target and log folders are private to the test. The database
    must be named ``cd2.duckdb`` (see ``DB_NAME``); the first call starts from the shared
    partial-parse file instead of parsing the whole project."""

    def __init__(self, db: Path, work: Path, project: Path = ROOT) -> None:
        assert db.name == DB_NAME, f"test databases are named {DB_NAME}"
        self.db = db
        self.work = work
        self.project = project  # another folder: a copy of the project (parsed afresh)

    def env(self) -> dict[str, str]:
        return _dbt_env(self.work / "target", self.work / "logs")

    def run(self, *args: str, timeout: float = 600, extra_env: dict[str, str] | None = None) -> DbtRun:
        own = self.work / "target" / "partial_parse.msgpack"
        if not own.exists() and self.project == ROOT and (shared := shared_partial_parse()) is not None:
            own.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shared, own)
        self.db.parent.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            _dbt_command(args, self.project),
            env={**self.env(), **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.db.parent,
            check=False,
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
