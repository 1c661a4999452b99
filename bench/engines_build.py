"""Benchmark: ``dbt build`` of every layer on PostgreSQL (``dap_syncdb`` mode) vs on DuckDB.

One synthetic institution (default ``demo``), served by the fake DAP API, is loaded twice:
Instructure's ``dap initdb`` (every table of ``canvas`` and ``canvas_logs``) into a fresh
PostgreSQL database of ``scripts/postgres_service.sh``, and ``cd2 sync`` (the same namespaces)
into a fresh DuckDB file. Then, ``--repeat`` times, one engine after the other:

* DuckDB: ``dbt build --full-refresh``: the current-state layer from the raw change logs, then
  staging, intermediate, marts and every data test (as a first build after a sync);
* PostgreSQL: ``dbt build --full-refresh --target postgres``: staging, intermediate, marts and
  every data test over dap's tables (there is no current-state layer to build: dap's tables are
  the current state).

Unit tests are left out on both (they run on DuckDB only). Each build is timed as a whole
process, after one untimed build that warms dbt's partial parse for its target; dbt's own time
for the nodes is recorded too. The marts of both engines are compared (the normalisation of
the engines' differential test) so no time is reported for different results. Results go to
``bench/results/engines_build_<profile>.json``; the table for bench/README.md is printed.

Usage:
    .venv/bin/python bench/engines_build.py [--profile demo] [--repeat 3]
    .venv/bin/python bench/engines_build.py --compare-again <kept folder>   # after fixing the comparison
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

from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET  # noqa: E402
from extract.synth import Institution, ensure_generated  # noqa: E402
from extract.tests.conformance.dapcli import DapTarget, require_dap_client, run_dap  # noqa: E402
from extract.tests.engines_differential import (  # noqa: E402
    differences,
    duckdb_relations,
    pg_environment,
    postgres_relations,
)
from extract.tests.postgres_server import fresh_database, postgres_server  # noqa: E402
from extract.tests.sync_helpers import cli_env, serving  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from code_version import cd2_code_version  # noqa: E402

SECRET = "engines-bench-secret"
NAMESPACES = ("canvas", "canvas_logs")
BIN = Path(sys.executable).parent


def dbt_build(target: str, work: Path, env: dict[str, str]) -> dict[str, Any]:
    """One timed ``dbt build --full-refresh`` (unit tests left out) on ``target``."""
    folders = {"DBT_TARGET_PATH": str(work / target / "target"), "DBT_LOG_PATH": str(work / target / "logs")}
    argv = [
        str(BIN / "dbt"),
        "build",
        "--full-refresh",
        "--target",
        target,
        "--exclude-resource-type",
        "unit_test",
        "--project-dir",
        str(ROOT),
        "--profiles-dir",
        str(ROOT),
    ]
    began = time.monotonic()
    done = subprocess.run(argv, env={**env, **folders}, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"dbt build --target {target} failed:\n{done.stdout[-4000:]}")
    results = json.loads((work / target / "target" / "run_results.json").read_text(encoding="utf-8"))
    kinds: dict[str, int] = {}
    for result in results["results"]:
        kind = result["unique_id"].split(".", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return {"seconds": round(seconds, 2), "dbt_elapsed_s": round(results["elapsed_time"], 2), "nodes": kinds}


def compare_again(profile: str, work: Path) -> int:
    """The marts of a kept run compared again (after a fix of the comparison), recorded beside its timings."""
    out = ROOT / "bench" / "results" / f"engines_build_{profile}.json"
    record = json.loads(out.read_text(encoding="utf-8"))
    with postgres_server() as server_dsn:
        dsn = server_dsn.rsplit("/", 1)[0] + "/dapdb_bench_engines"
        problems = differences(duckdb_relations(work / "cd2.duckdb", "marts"), postgres_relations(dsn, "marts"))
    record["marts_equal"] = not problems
    record["marts_compared_again"] = {"at": datetime.now(UTC).isoformat(timespec="seconds"), "code": cd2_code_version()}
    out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    print("\n".join(problems[:10]) or "marts equal")
    return 0 if not problems else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--compare-again",
        type=Path,
        metavar="WORK_DIR",
        help="only compare the marts again, in the folder a run kept and its database, and record the outcome",
    )
    args = parser.parse_args()
    if args.compare_again:
        return compare_again(args.profile, args.compare_again)
    require_dap_client()
    work = Path(tempfile.mkdtemp(prefix="cd2-engines-bench-"))
    template = ensure_generated(args.profile, 1)
    shutil.copytree(template.store.root, work / "store")
    institution = Institution.open(work / "store")
    db = work / "cd2.duckdb"
    record: dict[str, Any] = {
        "profile": args.profile,
        "code_version": cd2_code_version(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "runs": [],
    }
    with postgres_server() as server_dsn:
        dsn = fresh_database(server_dsn, "bench_engines")
        pg_env = {**cli_env(), **pg_environment(dsn), "PGOPTIONS": f"-c cd2.pseudonym_secret={SECRET}"}
        duck_env = {**cli_env(), "CD2_DB": str(db), "CD2_PSEUDONYM_SECRET": SECRET}
        with serving(institution, rate_limits=False, job_completion="immediate") as server:
            target = DapTarget(server.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
            began = time.monotonic()
            for namespace in NAMESPACES:
                run = run_dap(
                    target,
                    ["initdb", "--namespace", namespace, "--table", "all", "--connection-string", dsn],
                    cwd=work / "dap",
                    timeout=7200,
                )
                if run.returncode != 0:
                    raise SystemExit(run.describe(40))
            record["dap_initdb_s"] = round(time.monotonic() - began, 1)
            began = time.monotonic()
            sync = subprocess.run(
                [str(BIN / "cd2"), "sync", "--db", str(db), "--no-rate-limit"],
                env={**cli_env(server.url), "CD2_PSEUDONYM_SECRET": SECRET},
                capture_output=True,
                text=True,
                check=False,
            )
            if sync.returncode != 0:
                raise SystemExit(sync.stdout[-3000:] + sync.stderr[-3000:])
            record["cd2_sync_s"] = round(time.monotonic() - began, 1)
        print(f"loaded: dap initdb {record['dap_initdb_s']} s, cd2 sync {record['cd2_sync_s']} s", flush=True)
        dbt_build("local", work, duck_env)  # warm each target's partial parse, untimed
        dbt_build("postgres", work, pg_env)
        for number in range(1, args.repeat + 1):
            run_record = {"duckdb": dbt_build("local", work, duck_env), "postgres": dbt_build("postgres", work, pg_env)}
            record["runs"].append(run_record)
            print(f"run {number}: {run_record}", flush=True)
        problems = differences(duckdb_relations(db, "marts"), postgres_relations(dsn, "marts"))
        record["marts_equal"] = not problems
        if problems:
            print("\n".join(problems[:10]))
    out = ROOT / "bench" / "results" / f"engines_build_{args.profile}.json"
    out.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    duck = statistics.median(r["duckdb"]["seconds"] for r in record["runs"])
    pg = statistics.median(r["postgres"]["seconds"] for r in record["runs"])
    last = record["runs"][-1]
    print(f"\n| engine | nodes built and tested | dbt build, median of {args.repeat} |")
    print("|---|---|---|")
    print(f"| DuckDB (cd2 mode) | {last['duckdb']['nodes']} | {duck:,.1f} s |")
    print(f"| PostgreSQL (dap_syncdb mode) | {last['postgres']['nodes']} | {pg:,.1f} s ({pg / duck:.1f} x DuckDB) |")
    print(f"marts equal: {record['marts_equal']}; results: {out.relative_to(ROOT)}")
    if record["marts_equal"]:
        shutil.rmtree(work, ignore_errors=True)
        return 0
    print(f"kept for inspection: {work} (DuckDB file) and database dapdb_bench_engines")
    return 1


if __name__ == "__main__":
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    raise SystemExit(main())
