"""Benchmark: Instructure's ``dap initdb``/``syncdb`` into PostgreSQL vs ``cd2 sync`` + dbt into DuckDB.

Same fake DAP API, same synthetic institution, same machine, one run. For each size profile
and each of ``--repeat`` runs (medians reported):

1. initial load of the tables: ``dap initdb`` (one call per namespace, tables sequential as the
   client does) vs ``cd2 sync`` + ``dbt build`` of the current-state models (initdb yields
   current state, so ours is measured up to the same point);
2. an incremental round after the institution advanced (inserts, updates, hard deletes):
   ``dap syncdb`` vs ``cd2 sync`` + incremental ``dbt build`` of the current-state models;
3. peak RSS of each client process tree (PostgreSQL's own server processes are not counted,
   nor is the fake server) and disk used (PostgreSQL relation sizes vs the DuckDB file).

Both sides' tables are compared after each step (row count, sum of the key, count of a
nullable column, max of a timestamp) so no speed-up is reported on different data.

The server renders each query once and reuses the job (as the real API does for identical
queries), and both sides' queries are rendered before timing, so the server's rendering is
not what is measured. Rate limits are off: the clients are measured, not the limits.

Usage:
    .venv/bin/python bench/vs_dap_client.py --profiles demo,large --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer, ServerConfig  # noqa: E402
from extract.synth import Institution, ensure_generated  # noqa: E402

TABLES = {
    "canvas": ["submissions", "enrollments", "assignments", "users", "courses", "scores"],
    "canvas_logs": ["web_logs"],
}
CHECK_COLUMNS = {  # a nullable column and a timestamp per table, for the equality check
    "submissions": ("grader_id", "updated_at"),
    "enrollments": ("course_section_id", "updated_at"),
    "assignments": ("due_at", "updated_at"),
    "users": ("sortable_name", "updated_at"),
    "courses": ("sis_source_id", "updated_at"),
    "scores": ("current_score", "updated_at"),
    "web_logs": ("user_id", "timestamp"),
}


@dataclass
class Timed:
    seconds: float
    peak_rss_mb: float
    output: str


def timed(cmd: list[str], env: dict[str, str], cwd: Path = ROOT) -> Timed:
    """Run a command; wall time and the peak RSS of its process tree (via /usr/bin/time)."""
    handle, stats_name = tempfile.mkstemp(suffix=".time")
    os.close(handle)
    stats = Path(stats_name)
    full = ["/usr/bin/time", "-f", "%M", "-o", str(stats), *cmd] if Path("/usr/bin/time").exists() else cmd
    started = time.monotonic()
    result = subprocess.run(full, env=env, cwd=cwd, capture_output=True, text=True)
    elapsed = time.monotonic() - started
    rss_kb = 0.0
    try:
        rss_kb = float(stats.read_text().strip().splitlines()[-1])
    except (ValueError, IndexError):
        rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    stats.unlink(missing_ok=True)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[:3])} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return Timed(elapsed, rss_kb / 1024, result.stdout + result.stderr)


def shell(cmd: list[str]) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout.strip()


def psql(dsn: str, sql: str) -> list[list[str]]:
    out = subprocess.run(["psql", dsn, "-At", "-F", "\t", "-c", sql], check=False, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"psql failed ({out.returncode}): {out.stderr.strip()}\n  SQL: {sql[:200]}")
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def pg_reset(dsn: str) -> None:
    psql(
        dsn,
        "DROP SCHEMA IF EXISTS canvas CASCADE; DROP SCHEMA IF EXISTS canvas_logs CASCADE; "
        "DROP SCHEMA IF EXISTS instructure_dap CASCADE;",
    )


def pg_checks(dsn: str) -> dict[str, list[str]]:
    out = {}
    for namespace, tables in TABLES.items():
        for table in tables:
            nullable, stamp = CHECK_COLUMNS[table]
            key_sum = "count(DISTINCT id)" if table == "web_logs" else "sum(id)"
            rows = psql(
                dsn, f'SELECT count(*), {key_sum}, count("{nullable}"), max("{stamp}") FROM {namespace}."{table}"'
            )
            out[f"{namespace}.{table}"] = [_norm(v) for v in rows[0]]
    return out


def duck_checks(db: Path) -> dict[str, list[str]]:
    con = duckdb.connect(str(db), read_only=True)
    out = {}
    try:
        for namespace, tables in TABLES.items():
            for table in tables:
                nullable, stamp = CHECK_COLUMNS[table]
                key_sum = "count(DISTINCT id)" if table == "web_logs" else "sum(id)"
                row = con.execute(
                    f'SELECT count(*), {key_sum}, count("{nullable}"), max("{stamp}") FROM {namespace}."{table}"'
                ).fetchone()
                out[f"{namespace}.{table}"] = [_norm(v) for v in row]
    finally:
        con.close()
    return out


def _norm(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("T", " ").rstrip("0").rstrip(".") if ":" in text else text


def pg_disk_mb(dsn: str) -> float:
    rows = psql(
        dsn,
        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('canvas', 'canvas_logs') "
        "AND c.relkind = 'r'",
    )
    return float(rows[0][0]) / 1e6


class Side:
    def __init__(self, url: str, work: Path, dsn: str, dap: str) -> None:
        self.env = dict(
            os.environ,
            DAP_API_URL=url,
            DAP_CLIENT_ID=DEFAULT_CLIENT_ID,
            DAP_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
            DAP_TRACKING="false",
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        )
        self.work = work
        self.dsn = dsn
        self.dap = dap
        self.db = work / "cd2.duckdb"
        self.env["CD2_DB"] = str(self.db)

    def dap_run(self, command: str) -> Timed:
        total = Timed(0.0, 0.0, "")
        for namespace, tables in TABLES.items():
            part = timed(
                [
                    self.dap,
                    "--no-tracking",
                    "--non-interactive",
                    command,
                    "--namespace",
                    namespace,
                    "--table",
                    ",".join(tables),
                    "--connection-string",
                    self.dsn,
                ],
                self.env,
            )
            total = Timed(
                total.seconds + part.seconds, max(total.peak_rss_mb, part.peak_rss_mb), total.output + part.output
            )
        return total

    def cd2_run(self, full_refresh: bool) -> tuple[Timed, Timed]:
        python = str(ROOT / ".venv" / "bin" / "python")
        sync = timed(
            [
                python,
                "-m",
                "extract.cli",
                "sync",
                "--db",
                str(self.db),
                "--no-rate-limit",
                "--progress",
                "never",
                "--namespace",
                "canvas,canvas_logs",
                "--table",
                ",".join(t for ts in TABLES.values() for t in ts),
            ],
            self.env,
        )
        models = " ".join(f"{ns}__{t}" for ns, ts in TABLES.items() for t in ts)
        dbt = [
            str(ROOT / ".venv" / "bin" / "dbt"),
            "build",
            "--select",
            models,
            "--threads",
            "2",
            "--project-dir",
            str(ROOT),
            "--profiles-dir",
            str(ROOT),
        ]
        if full_refresh:
            dbt.append("--full-refresh")
        build = timed(dbt, self.env)
        return sync, build


def one_run(pristine: Institution, work: Path, dsn: str, dap: str, hours: float) -> dict[str, Any]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copytree(pristine.store.root, work / "institution")
    institution = Institution.open(work / "institution")
    config = ServerConfig(port=0, cache_dir=work / "render-cache", rows_per_file=250_000)
    result: dict[str, Any] = {}
    with FakeDapServer(institution.store, config, advance=institution.advance) as server:
        side = Side(server.url, work, dsn, dap)
        pg_reset(dsn)
        dap_init = side.dap_run("initdb")
        sync, build = side.cd2_run(full_refresh=True)
        checks_pg, checks_duck = pg_checks(dsn), duck_checks(side.db)
        result["initial"] = {
            "dap_initdb_s": dap_init.seconds,
            "dap_rss_mb": dap_init.peak_rss_mb,
            "cd2_sync_s": sync.seconds,
            "dbt_build_s": build.seconds,
            "cd2_total_s": sync.seconds + build.seconds,
            "cd2_rss_mb": max(sync.peak_rss_mb, build.peak_rss_mb),
            "pg_disk_mb": pg_disk_mb(dsn),
            "duckdb_disk_mb": side.db.stat().st_size / 1e6,
            "equal": checks_pg == checks_duck,
            "rows": {k: int(v[0]) for k, v in checks_duck.items()},
        }
        if checks_pg != checks_duck:
            result["initial"]["diff"] = {
                k: (checks_pg[k], checks_duck[k]) for k in checks_pg if checks_pg[k] != checks_duck[k]
            }
        server.advance(hours)
        dap_sync = side.dap_run("syncdb")
        sync, build = side.cd2_run(full_refresh=False)
        checks_pg, checks_duck = pg_checks(dsn), duck_checks(side.db)
        con = duckdb.connect(str(side.db), read_only=True)
        changed = con.execute("SELECT sum(rows) FROM cd2_meta.batches WHERE kind = 'incremental'").fetchone()[0]
        con.close()
        result["incremental"] = {
            "changed_rows": int(changed or 0),
            "dap_syncdb_s": dap_sync.seconds,
            "dap_rss_mb": dap_sync.peak_rss_mb,
            "cd2_sync_s": sync.seconds,
            "dbt_build_s": build.seconds,
            "cd2_total_s": sync.seconds + build.seconds,
            "cd2_rss_mb": max(sync.peak_rss_mb, build.peak_rss_mb),
            "equal": checks_pg == checks_duck,
        }
        if checks_pg != checks_duck:
            result["incremental"]["diff"] = {
                k: (checks_pg[k], checks_duck[k]) for k in checks_pg if checks_pg[k] != checks_duck[k]
            }
    return result


def median_of(runs: list[dict[str, Any]], phase: str, key: str) -> float:
    return statistics.median(float(r[phase][key]) for r in runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", default="demo,large")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--advance-hours", type=float, default=24.0, help="size of the incremental round")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "vs_dap_client.json")
    args = parser.parse_args()

    dap = shell(["bash", "scripts/dap_client_env.sh"]).splitlines()[-1]
    shell(["bash", "scripts/postgres_service.sh", "install"])
    dsn = shell(["bash", "scripts/postgres_service.sh", "start"]).splitlines()[-1]
    report: dict[str, Any] = {"command": " ".join(sys.argv), "profiles": {}}
    with tempfile.TemporaryDirectory(prefix="cd2-vs-dap-") as tmp:
        for profile in args.profiles.split(","):
            pristine = ensure_generated(profile, args.seed, progress=lambda m: print(f"  {m}", flush=True))
            runs = []
            for i in range(args.repeat):
                run = one_run(pristine, Path(tmp) / f"{profile}-{i}", dsn, dap, args.advance_hours)
                print(json.dumps({"profile": profile, "run": i, **run}, default=str), flush=True)
                runs.append(run)
            summary = {
                "initial": {
                    k: round(median_of(runs, "initial", k), 2)
                    for k in (
                        "dap_initdb_s",
                        "cd2_sync_s",
                        "dbt_build_s",
                        "cd2_total_s",
                        "dap_rss_mb",
                        "cd2_rss_mb",
                        "pg_disk_mb",
                        "duckdb_disk_mb",
                    )
                },
                "incremental": {
                    k: round(median_of(runs, "incremental", k), 2)
                    for k in (
                        "changed_rows",
                        "dap_syncdb_s",
                        "cd2_sync_s",
                        "dbt_build_s",
                        "cd2_total_s",
                        "dap_rss_mb",
                        "cd2_rss_mb",
                    )
                },
                "rows": runs[0]["initial"]["rows"],
                "equal": all(r["initial"]["equal"] and r["incremental"]["equal"] for r in runs),
            }
            summary["initial"]["speedup"] = round(
                summary["initial"]["dap_initdb_s"] / summary["initial"]["cd2_total_s"], 1
            )
            summary["incremental"]["speedup"] = round(
                summary["incremental"]["dap_syncdb_s"] / summary["incremental"]["cd2_total_s"], 1
            )
            report["profiles"][profile] = {"summary": summary, "runs": runs}
            print(json.dumps({"profile": profile, "summary": summary}), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
