"""Spark over the lake (issue 24): the same institution, synced into DuckDB and into a Parquet lake,
built by the same dbt project on DuckDB and on Spark, gives equal marts.

The fake DAP API serves one synthetic institution (``tiny``, or ``$CD2_SPARK_PROFILE``); three
rounds (a snapshot, then 6 and 30 hours later, across a day boundary) are synced by ``cd2 sync``
into a DuckDB file and by ``cd2 sync --lake`` into a lake. DuckDB builds with ``cd2 run``; Spark
with ``dbt build --target spark`` from ``.venv-spark`` (``scripts/spark_env.sh``; local session
mode, or the standalone cluster at ``$CD2_SPARK_MASTER``). Every relation of the ``marts`` schema
(dims, facts, marts) must then be equal row for row after the engines' differential test's one
normalisation (``engines_differential.normalised``, ``close_rows``: numerics as floats, equal
within 1e-9; naive UTC timestamps); columns by name (Spark puts a table's partition columns last).
Spark's tables are read from its warehouse folder (Parquet) with DuckDB.

Slow (a Spark build of every model): ``make spark-test`` runs it, the scheduled workflow weekly.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from extract.names import quote_literal
from extract.synth import ensure_generated
from extract.tests.dbt_helpers import ROOT
from extract.tests.engines_differential import (
    Rows,
    Step,
    differences,
    duckdb_relations,
    normalised,
    row_counts,
    run_cd2,
)
from extract.tests.sync_helpers import cli_env, fresh_institution, serving

pytestmark = [pytest.mark.slow, pytest.mark.spark]

SECRET = "spark-differential-secret"
ADVANCE_HOURS = (6.0, 30.0)
SPARK_DBT = ROOT / ".venv-spark" / "bin" / "dbt"
SPARK_TIMEOUT_S = 3 * 3600


def spark_env(work: Path, lake: Path) -> dict[str, str]:
    env = {
        **cli_env(),
        "CD2_TARGET": "spark",
        "CD2_LAKE": str(lake),
        "CD2_SPARK_STATE": str(work / "spark"),
        "CD2_SPARK_LOG4J": str(ROOT / "scripts" / "spark_log4j2.properties"),
        "CD2_PSEUDONYM_SECRET": SECRET,
        "DBT_TARGET_PATH": str(work / "spark-dbt" / "target"),
        "DBT_LOG_PATH": str(work / "spark-dbt" / "logs"),
    }
    return env


def run_spark_dbt(args: list[str], env: dict[str, str], name: str) -> Step:
    began = time.monotonic()
    done = subprocess.run(
        [str(SPARK_DBT), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=SPARK_TIMEOUT_S
    )
    return Step(name, done.returncode, time.monotonic() - began, done.stdout + done.stderr)


def spark_relations(warehouse: Path, schema: str, like: dict[str, tuple[list[str], Rows]]) -> dict:
    """The tables of Spark's ``schema`` (read from its warehouse folder), columns in the order of
    the DuckDB relation of the same name (``like``) when they are the same set."""
    out: dict[str, tuple[list[str], Rows]] = {}
    con = duckdb.connect()
    try:
        for folder in sorted((warehouse / f"{schema}.db").iterdir()):
            if not folder.is_dir() or not any(folder.rglob("*.parquet")):
                continue
            files = quote_literal(str(folder / "**" / "*.parquet"))
            cursor = con.execute(f"select * from read_parquet({files}, hive_partitioning = true)")
            columns = [d[0] for d in cursor.description or ()]
            wanted = like.get(folder.name, ([], Counter()))[0]
            same_set = sorted(wanted) == sorted(columns)
            order = [columns.index(c) for c in wanted] if same_set else list(range(len(columns)))
            rows = Counter(tuple(normalised(row[i]) for i in order) for row in cursor.fetchall())
            out[folder.name] = ([columns[i] for i in order], rows)
    finally:
        con.close()
    return out


def test_spark_over_the_lake_builds_the_marts_duckdb_builds(tmp_path: Path) -> None:
    assert SPARK_DBT.exists(), "no .venv-spark: run scripts/spark_env.sh (make spark-test does)"
    profile = os.environ.get("CD2_SPARK_PROFILE", "tiny")
    cache = tmp_path / "synth"
    if profile == "tiny":
        institution = fresh_institution(cache, tmp_path / "store")
    else:
        institution = ensure_generated(profile, 1, cache)
    db, lake = tmp_path / "cd2.duckdb", tmp_path / "lake"
    steps: list[Step] = []
    with serving(institution, rate_limits=False, job_completion="immediate") as server:
        api_env = {**cli_env(server.url), "CD2_PSEUDONYM_SECRET": SECRET}
        for round_number, hours in enumerate((0.0, *ADVANCE_HOURS)):
            if hours:
                server.advance(hours)
            common = ["--no-rate-limit", "--namespace", "canvas,canvas_logs"]
            steps.append(run_cd2(["sync", "--lake", str(lake), *common], api_env, f"round {round_number}: lake"))
            assert steps[-1].returncode == 0, steps[-1].describe()
            last = round_number == len(ADVANCE_HOURS)
            args = ["run", "--no-docs", "--no-publish"] if last else ["sync"]
            env = {**api_env, "DBT_TARGET_PATH": str(tmp_path / "duckdb" / "target")}
            steps.append(run_cd2([*args, "--db", str(db), *common], env, f"round {round_number}: DuckDB {args[0]}"))
            assert steps[-1].returncode == 0, steps[-1].describe()
    env = spark_env(tmp_path, lake)
    steps.append(run_spark_dbt(["seed"], env, "dbt seed (spark)"))
    assert steps[-1].returncode == 0, steps[-1].describe()
    steps.append(run_spark_dbt(["build", "--threads", "4"], env, "dbt build (spark)"))
    print("\n".join(f"{s.name}: {s.seconds:.1f}s" for s in steps))
    assert steps[-1].returncode == 0, steps[-1].describe()

    duck = duckdb_relations(db, "marts")
    spark = spark_relations(tmp_path / "spark" / "warehouse", "marts", duck)
    print("rows per relation (DuckDB):", row_counts(duck))
    assert len(duck) >= 30 and sum(row_counts(duck).values()) > 1000  # a comparison of something
    assert differences(duck, spark) == []
