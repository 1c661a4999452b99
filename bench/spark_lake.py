"""Benchmark: the Parquet lake and Spark beside the DuckDB file, on one synthetic institution.

The fake DAP API serves one institution (``--profile``, default ``tiny``). For each engine:

* **sync**: ``cd2 sync --lake`` into a new lake, and ``cd2 sync`` into a new DuckDB file (every
  table of ``canvas`` and ``canvas_logs``);
* **full build**: ``dbt build --target spark`` (``.venv-spark``: local session mode, or the
  cluster at ``$CD2_SPARK_MASTER``), and ``dbt build --full-refresh`` on DuckDB, every layer and
  data test (unit tests are DuckDB's only and left out of both);
* **one round**: the institution advanced 6 hours, then sync + build again (Spark rebuilds the
  current state whole; DuckDB merges what changed).

Each step is one timed process; ``--repeat`` runs the whole sequence again on fresh folders and
the median is reported. Results go to ``bench/results/spark_lake_<profile>.json`` and the table
for bench/README.md is printed. On two cores Spark is expected to be slower: the point is reach.

Usage:
    .venv/bin/python bench/spark_lake.py [--profile tiny] [--repeat 1]
    CD2_SPARK_MASTER=$(bash scripts/spark_cluster.sh start) .venv/bin/python bench/spark_lake.py --label cluster
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extract.synth import ensure_generated  # noqa: E402
from extract.tests.sync_helpers import cli_env, serving  # noqa: E402
from extract.tests.test_spark_lake import SECRET as SPARK_SECRET  # noqa: E402
from extract.tests.test_spark_lake import SPARK_DBT, spark_env  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from code_version import cd2_code_version  # noqa: E402

BIN = Path(sys.executable).parent
STEPS = ("sync", "full build", "round: sync", "round: build")


def timed(command: list[str], env: dict[str, str]) -> float:
    began = time.monotonic()
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(command[:3])} failed (exit {done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}"
        )
    return seconds


def one_sequence(profile: str, work: Path) -> dict[str, dict[str, float]]:
    institution = ensure_generated(profile, 1, work / "synth-cache")
    store = work / "store"
    shutil.copytree(institution.store.root, store)
    from extract.synth import Institution

    institution = Institution.open(store)
    lake, db = work / "lake", work / "cd2.duckdb"
    cd2 = [str(BIN / "cd2")]
    namespaces = ["--namespace", "canvas,canvas_logs", "--no-rate-limit", "--progress", "never"]
    spark = spark_env(work, lake)
    duck_env = {
        **cli_env(),
        "CD2_DB": str(db),
        "CD2_PSEUDONYM_SECRET": SPARK_SECRET,
        "DBT_TARGET_PATH": str(work / "duckdb-dbt" / "target"),
        "DBT_LOG_PATH": str(work / "duckdb-dbt" / "logs"),
    }
    spark_build = [str(SPARK_DBT), "build", "--threads", "4", "--exclude-resource-type", "unit_test"]
    duck_build = [str(BIN / "dbt"), "build", "--full-refresh", "--exclude-resource-type", "unit_test"]
    times: dict[str, dict[str, float]] = {"spark": {}, "duckdb": {}}
    with serving(institution, rate_limits=False, job_completion="immediate") as server:
        api = {**cli_env(server.url), "CD2_PSEUDONYM_SECRET": SPARK_SECRET}
        times["spark"]["sync"] = timed([*cd2, "sync", "--lake", str(lake), *namespaces], api)
        times["duckdb"]["sync"] = timed([*cd2, "sync", "--db", str(db), *namespaces], api)
        timed([str(SPARK_DBT), "seed"], spark)  # the seed is not the build's (untimed, both)
        timed([str(BIN / "dbt"), "seed"], duck_env)
        times["spark"]["full build"] = timed(spark_build, spark)
        times["duckdb"]["full build"] = timed(duck_build, duck_env)
        server.advance(6)
        times["spark"]["round: sync"] = timed([*cd2, "sync", "--lake", str(lake), *namespaces], api)
        times["duckdb"]["round: sync"] = timed([*cd2, "sync", "--db", str(db), *namespaces], api)
        times["spark"]["round: build"] = timed(spark_build, spark)
        times["duckdb"]["round: build"] = timed(duck_build[:2] + duck_build[3:], duck_env)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="tiny", choices=("tiny", "demo", "large"))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--label", default="local", help="local (session mode) or cluster")
    args = parser.parse_args()
    if not SPARK_DBT.exists():
        raise SystemExit("no .venv-spark: run `make spark-setup` first")
    runs: list[dict[str, dict[str, float]]] = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="cd2-spark-bench-") as folder:
            runs.append(one_sequence(args.profile, Path(folder)))
    medians = {
        engine: {step: round(statistics.median(r[engine][step] for r in runs), 1) for step in STEPS}
        for engine in ("spark", "duckdb")
    }
    result: dict[str, Any] = {
        "profile": args.profile,
        "label": args.label,
        "spark_master": os.environ.get("CD2_SPARK_MASTER", "local[2]"),
        "repeat": args.repeat,
        "runs": runs,
        "median_seconds": medians,
        "code_version": cd2_code_version(),
        "recorded_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    out = ROOT / "bench" / "results" / f"spark_lake_{args.profile}_{args.label}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"| step ({args.profile}, {args.label}) | Spark | DuckDB | Spark / DuckDB |")
    print("|---|---:|---:|---:|")
    for step in STEPS:
        spark, duck = medians["spark"][step], medians["duckdb"][step]
        print(f"| {step} | {spark:.1f} s | {duck:.1f} s | {spark / duck:.1f}x |")
    print(f"written to {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
