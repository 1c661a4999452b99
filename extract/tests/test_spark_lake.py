"""Spark over the lake (issue 24): the same institution, synced into DuckDB and into a Parquet lake,
built by the same dbt project on DuckDB and on Spark, gives equal marts.

The fake DAP API serves one synthetic institution (``tiny``, or ``$CD2_SPARK_PROFILE``); three
rounds (``ROUNDS``: a snapshot; 6 hours later with a schema version that adds a column; 30 hours
later with a re-snapshot) are synced by ``cd2 sync`` into a DuckDB file and by ``cd2 sync --lake``
into a lake. After the first and the last round both engines build: DuckDB with ``cd2 run``,
Spark with ``dbt build --target spark`` from ``.venv-spark`` (``scripts/spark_env.sh``; local
session mode, or the standalone cluster at ``$CD2_SPARK_MASTER``), the second time over the
catalog and tables of the first. Every relation of the ``marts`` schema (dims, facts, marts)
must then be equal row for row after the engines' differential test's one
normalisation (``engines_differential.normalised``, ``close_rows``: numerics as floats, equal
within 1e-9; naive UTC timestamps); columns by name (Spark puts a table's partition columns last).
Spark's tables are read from its warehouse folder (Parquet) with DuckDB.

Slow (a Spark build of every model): ``make spark-test`` runs it, the scheduled workflow weekly.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

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

SECRET = "spark-differential-secret"
# Round 0: the snapshot, built on both engines. Round 1: 6 hours later, and a schema version that
# adds a column (Spark's table of it is created again). Round 2: 30 hours later, across a day
# boundary, with a re-snapshot that drops ~1 % of the enrollments; both engines build again
# (Spark finds the new batch folders of the tables it registered in round 0).
ROUNDS: tuple[Callable[[Any], object], ...] = (
    lambda server: None,
    lambda server: (server.advance(6.0), server.bump_schema("canvas.courses")),
    lambda server: (server.advance(30.0), server.reload("canvas.enrollments")),
)
BUILT_AFTER = (0, 2)
SPARK_DBT = ROOT / ".venv-spark" / "bin" / "dbt"
SPARK_TIMEOUT_S = 3 * 3600
pytestmark = [pytest.mark.slow, pytest.mark.spark, pytest.mark.timeout(SPARK_TIMEOUT_S)]


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
        institution = ensure_generated(profile, 1, cache).copy_to(tmp_path / "store")
    db, lake = tmp_path / "cd2.duckdb", tmp_path / "lake"
    spark = spark_env(tmp_path, lake)
    steps: list[Step] = []

    def step(done: Step) -> None:
        steps.append(done)
        assert done.returncode == 0, done.describe()

    with serving(institution, rate_limits=False, job_completion="immediate") as server:
        api_env = {**cli_env(server.url), "CD2_PSEUDONYM_SECRET": SECRET}
        duck_env = {**api_env, "DBT_TARGET_PATH": str(tmp_path / "duckdb" / "target")}
        common = ["--no-rate-limit", "--namespace", "canvas,canvas_logs"]
        for round_number, change in enumerate(ROUNDS):
            change(server)
            step(run_cd2(["sync", "--lake", str(lake), *common], api_env, f"round {round_number}: lake"))
            built = round_number in BUILT_AFTER
            args = ["run", "--no-docs", "--no-publish"] if built else ["sync"]
            step(run_cd2([*args, "--db", str(db), *common], duck_env, f"round {round_number}: DuckDB {args[0]}"))
            if not built:
                continue
            if round_number == 0:
                step(run_spark_dbt(["seed"], spark, "dbt seed (spark)"))
            step(run_spark_dbt(["build", "--threads", "4"], spark, f"round {round_number}: dbt build (spark)"))
            print("\n".join(f"{s.name}: {s.seconds:.1f}s" for s in steps))

            duck = duckdb_relations(db, "marts")
            spark_marts = spark_relations(tmp_path / "spark" / "warehouse", "marts", duck)
            print(f"round {round_number}: rows per relation (DuckDB):", row_counts(duck))
            assert len(duck) >= 30 and sum(row_counts(duck).values()) > 1000  # a comparison of something
            assert differences(duck, spark_marts) == [], f"after round {round_number}"

    # The docs site of the spark target: every model the build made, read back from Spark's catalog.
    step(run_spark_dbt(["docs", "generate", "--static"], spark, "dbt docs generate (spark)"))
    target = tmp_path / "spark-dbt" / "target"
    catalog = json.loads((target / "catalog.json").read_text(encoding="utf-8"))["nodes"]
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["nodes"]
    models = {key for key, node in manifest.items() if node["resource_type"] == "model"}
    # ephemeral models are compiled into the models that use them: no relation, in no catalog
    ephemeral = {key for key in models if manifest[key]["config"]["materialized"] == "ephemeral"}
    assert len(models) > 300 and 0 < len(ephemeral) < 5
    assert sorted(models - ephemeral - set(catalog)) == []
    assert (target / "static_index.html").stat().st_size > 1_000_000

    # The pseudonym secret reached Spark's executors through their environment (the keys equal
    # DuckDB's above) and nowhere else: not dbt's logs or compiled SQL, Spark's catalog and
    # tables, nor the standalone cluster's logs and work folders.
    places = [tmp_path / "spark-dbt", tmp_path / "spark"]
    if spark.get("CD2_SPARK_MASTER", "").startswith("spark://"):
        places.append(Path(os.environ.get("CD2_SPARK_CLUSTER_DIR", ROOT / ".cache" / "spark-cluster")))
    holding = [f for place in places for f in place.rglob("*") if f.is_file() and SECRET.encode() in f.read_bytes()]
    assert holding == []
