"""The engines' differential test (issue 23): one institution, two loaders, two engines, equal marts.

One synthetic institution is served by the fake DAP API and loaded twice, round by round:

* (a) Instructure's ``dap initdb`` and then two rounds of ``dap syncdb`` into PostgreSQL, then
  ``cd2 run --target postgres`` (dbt build and docs in ``dap_syncdb`` mode over dap's tables);
* (b) ``cd2 sync`` into DuckDB for the same rounds, the last one a ``cd2 run``.

Every relation of the ``marts`` schema (dims, facts, marts) must then be equal row for row
between the engines, after one stated normalisation and nothing else (``normalised``,
``close_rows``): numerics are read as floats, and floating-point values are equal within a
relative (or, near zero, absolute) tolerance of 1e-9 (PostgreSQL's ``avg`` of integers is
``numeric``, DuckDB's a ``double``, and the engines add doubles in different orders, so the last
bits differ); timestamps are naive UTC. Rows are compared as multisets, columns by name and order.

dap loads the tables the marts read (``dbt ls`` of the sources upstream of ``models/marts``); the
DuckDB side syncs every table, as ``cd2 run`` does by default. Both builds select the marts and
what they need (``+path:models/marts``), so neither builds what the other does not compare.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import duckdb

from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from extract.synth import Institution
from extract.tests.conformance.dapcli import DapRun, DapTarget, run_dap
from extract.tests.dbt_helpers import ROOT
from extract.tests.sync_helpers import cli_env, serving

SECRET = "engines-differential-secret"
SELECTION = "+path:models/marts"
ADVANCE_HOURS = (6.0, 30.0)  # a few hours, then across a day boundary
FLOAT_TOLERANCE = 1e-9  # relative, or absolute near 0 (see ``close_rows``)
DAP_TIMEOUT_S = 1800
CD2_TIMEOUT_S = 1800


def pg_environment(dsn: str) -> dict[str, str]:
    """The CD2_PG_* variables profiles.yml's postgres target reads, from a connection string."""
    url = urlparse(dsn)
    return {
        "CD2_PG_HOST": url.hostname or "localhost",
        "CD2_PG_PORT": str(url.port or 5432),
        "CD2_PG_USER": url.username or "postgres",
        "CD2_PG_PASSWORD": url.password or "",
        "CD2_PG_DATABASE": url.path.lstrip("/"),
    }


@dataclass
class Step:
    """One command of the test, for the failure messages and the timing print."""

    name: str
    returncode: int
    seconds: float
    output: str

    def describe(self) -> str:
        return f"{self.name}: exit {self.returncode} after {self.seconds:.1f}s\n{self.output[-6000:]}"


def run_cd2(args: list[str], env: dict[str, str], name: str) -> Step:
    """``cd2 <args>`` in a new process from the project folder."""
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "extract.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=CD2_TIMEOUT_S,
        check=False,
    )
    return Step(name, done.returncode, time.monotonic() - began, done.stdout + done.stderr)


def _dap_step(run: DapRun, name: str) -> Step:
    return Step(name, run.returncode, run.seconds, run.describe(40))


def dbt_env(work: Path, name: str) -> dict[str, str]:
    """Private dbt target and log folders (the project's own ``target/`` is left alone)."""
    return {"DBT_TARGET_PATH": str(work / name / "target"), "DBT_LOG_PATH": str(work / name / "logs")}


def config_file(work: Path) -> Path:
    """A cd2.yml (``--config``) that selects the marts and what they need."""
    path = work / "cd2.yml"
    path.write_text(f"dbt:\n  select: {json.dumps(SELECTION)}\n", encoding="utf-8")
    return path


def needed_dap_tables(work: Path, pg_env: dict[str, str]) -> dict[str, list[str]]:
    """Namespace → tables of the dap sources upstream of the marts (dbt's own lineage)."""
    env = {**cli_env(), **pg_env, **dbt_env(work, "dbt-ls")}
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "ls",
            "--target",
            "postgres",
            "--select",
            SELECTION,
            "--resource-type",
            "source",
            "--output",
            "name",
            "--quiet",
            "--project-dir",
            str(ROOT),
            "--profiles-dir",
            str(ROOT),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    tables: dict[str, list[str]] = {}
    for line in done.stdout.split():
        source, _, table = line.partition(".")
        if source.startswith("dap_") and source != "dap_meta":
            tables.setdefault(source.removeprefix("dap_"), []).append(table)
    return tables


@dataclass
class Loaded:
    """Both warehouses after the same rounds."""

    duckdb_path: Path
    pg_dsn: str
    steps: list[Step]
    dap_tables: dict[str, list[str]]


def load_both(institution: Institution, work: Path, pg_dsn: str) -> Loaded:
    """The rounds of the module docstring; every step must succeed (asserted here)."""
    pg_env = pg_environment(pg_dsn)
    db = work / "cd2.duckdb"
    config = config_file(work)
    dap_tables = needed_dap_tables(work, pg_env)
    steps: list[Step] = []
    with serving(institution, rate_limits=False, job_completion="immediate") as server:
        target = DapTarget(server.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        api_env = {**cli_env(server.url), "CD2_PSEUDONYM_SECRET": SECRET}
        for round_number, hours in enumerate((0.0, *ADVANCE_HOURS)):
            if hours:
                server.advance(hours)
            command = "initdb" if round_number == 0 else "syncdb"
            for namespace, tables in sorted(dap_tables.items()):
                args = [command, "--namespace", namespace, "--table", ",".join(tables), "--connection-string", pg_dsn]
                run = run_dap(target, args, cwd=work / "dap", timeout=DAP_TIMEOUT_S)
                steps.append(_dap_step(run, f"round {round_number}: dap {command} {namespace}"))
                failed = [t for t, o in run.table_outcomes().items() if o.errors or not o.finished]
                assert run.returncode == 0 and not failed, steps[-1].describe()
            last = round_number == len(ADVANCE_HOURS)
            cd2_args = ["--db", str(db), "--no-rate-limit", "--config", str(config)]
            if last:
                args = ["run", *cd2_args, "--no-docs", "--no-publish"]
                env = {**api_env, **dbt_env(work, "duckdb")}
            else:
                args, env = ["sync", *cd2_args], api_env
            steps.append(run_cd2(args, env, f"round {round_number}: cd2 {args[0]} (DuckDB)"))
            assert steps[-1].returncode == 0, steps[-1].describe()
    # the PostgreSQL round: no API (dap did the sync), the docs site too
    env = {**cli_env(), **pg_env, **dbt_env(work, "postgres"), "CD2_PSEUDONYM_SECRET": SECRET}
    steps.append(run_cd2(["run", "--target", "postgres", "--config", str(config)], env, "cd2 run --target postgres"))
    assert steps[-1].returncode == 0, steps[-1].describe()
    return Loaded(db, pg_dsn, steps, dap_tables)


# ---- reading and comparing ----------------------------------------------------------------------------
Rows = Counter[tuple[Any, ...]]


def normalised(value: Any) -> Any:
    """The one normalisation of the comparison (module docstring)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value
    if isinstance(value, list | tuple):
        return tuple(normalised(v) for v in value)
    if isinstance(value, float | date | int | str):
        return value
    return str(value)  # uuid and other scalar types: compared by their text


def duckdb_relations(db: Path, schema: str) -> dict[str, tuple[list[str], Rows]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ? order by 1", [schema]
            ).fetchall()
        ]
        out = {}
        for name in names:
            cursor = con.execute(f'select * from "{schema}"."{name}"')
            columns = [d[0] for d in cursor.description or ()]
            out[name] = (columns, Counter(tuple(normalised(v) for v in row) for row in cursor.fetchall()))
        return out
    finally:
        con.close()


def postgres_relations(dsn: str, schema: str) -> dict[str, tuple[list[str], Rows]]:
    import psycopg2

    con = psycopg2.connect(dsn)
    try:
        with con.cursor() as cursor:
            cursor.execute(
                "select table_name from information_schema.tables where table_schema = %s order by 1", (schema,)
            )
            names = [r[0] for r in cursor.fetchall()]
            out = {}
            for name in names:
                cursor.execute(f'select * from "{schema}"."{name}"')
                columns = [d[0] for d in cursor.description or ()]
                out[name] = (columns, Counter(tuple(normalised(v) for v in row) for row in cursor.fetchall()))
        return out
    finally:
        con.close()


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _close(left: Any, right: Any) -> bool:
    if _is_number(left) and _is_number(right):  # an integer on one engine may be numeric on the other
        return math.isclose(left, right, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE)
    if isinstance(left, tuple) and isinstance(right, tuple):
        return len(left) == len(right) and all(_close(a, b) for a, b in zip(left, right, strict=True))
    return left == right


def _shape(value: Any) -> Any:
    """The value with its numbers blanked: rows that may pair share their shape."""
    if _is_number(value):
        return None
    if isinstance(value, tuple):
        return tuple(_shape(v) for v in value)
    return value


def close_rows(only_left: Rows, only_right: Rows) -> tuple[Rows, Rows]:
    """The rows left unmatched once each DuckDB row that differs from a PostgreSQL row only in
    floating-point values within ``FLOAT_TOLERANCE`` is paired with it (and removed from both)."""
    candidates: dict[Any, list[tuple[Any, ...]]] = {}
    for row in only_right.elements():
        candidates.setdefault(_shape(row), []).append(row)
    unmatched: list[tuple[Any, ...]] = []
    for row in only_left.elements():
        bucket = candidates.get(_shape(row), [])
        match = next((i for i, other in enumerate(bucket) if _close(row, other)), None)
        if match is None:
            unmatched.append(row)
        else:
            bucket.pop(match)
    return Counter(unmatched), Counter(row for bucket in candidates.values() for row in bucket)


def differences(left: dict[str, tuple[list[str], Rows]], right: dict[str, tuple[list[str], Rows]]) -> list[str]:
    """What differs between the DuckDB (left) and PostgreSQL (right) relations, a few rows each."""
    problems: list[str] = []
    if sorted(left) != sorted(right):
        problems.append(
            f"relations differ: only DuckDB {sorted(set(left) - set(right))}, "
            f"only PostgreSQL {sorted(set(right) - set(left))}"
        )
    for name in sorted(set(left) & set(right)):
        (left_columns, left_rows), (right_columns, right_rows) = left[name], right[name]
        if left_columns != right_columns:
            problems.append(f"{name}: columns differ\n  DuckDB     {left_columns}\n  PostgreSQL {right_columns}")
            continue
        only_left, only_right = close_rows(left_rows - right_rows, right_rows - left_rows)
        if only_left or only_right:
            sample = [f"  DuckDB only:     {dict(zip(left_columns, r, strict=True))}" for r in list(only_left)[:3]]
            sample += [f"  PostgreSQL only: {dict(zip(left_columns, r, strict=True))}" for r in list(only_right)[:3]]
            problems.append(
                f"{name}: {sum(only_left.values())} rows only in DuckDB, {sum(only_right.values())} only in "
                f"PostgreSQL (of {sum(left_rows.values())} / {sum(right_rows.values())})\n" + "\n".join(sample)
            )
    return problems


def row_counts(relations: dict[str, tuple[list[str], Rows]]) -> dict[str, int]:
    return {name: sum(rows.values()) for name, (_, rows) in relations.items()}


def pg_query(dsn: str, sql: str) -> list[tuple[Any, ...]]:
    import psycopg2

    con = psycopg2.connect(dsn)
    try:
        with con.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        con.close()


def pg_execute(dsn: str, sql: str) -> None:
    import psycopg2

    con = psycopg2.connect(dsn)
    try:
        with con, con.cursor() as cursor:
            cursor.execute(sql)
    finally:
        con.close()
