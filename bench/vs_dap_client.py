"""Benchmark: Instructure's ``dap initdb``/``syncdb`` into PostgreSQL vs ``cd2 sync`` + dbt into DuckDB.

Same fake DAP API, same synthetic institution, same machine, one run. For each size profile
and each of ``--repeat`` runs (medians reported):

1. initial load of the tables: ``dap initdb`` (one call per namespace, tables sequential as the
   client does) vs ``cd2 run`` limited to the same tables (sync, then ``dbt build`` of their
   current-state models and key tests; initdb yields current state, so ours is measured up to
   the same point);
2. an incremental round after the institution advanced (inserts, updates, hard deletes):
   ``dap syncdb`` vs the same ``cd2 run`` again (incremental sync and merge);
3. peak RSS of each client process tree (PostgreSQL's own server processes are not counted,
   nor is the fake server) and disk used (PostgreSQL relation sizes vs the DuckDB file).

Both sides' tables are compared after each step (row count, sum of the key, count of a
nullable column, max of a timestamp) so no speed-up is reported on different data.

The server renders each query once and reuses the job (as the real API does for identical
queries), and both sides' queries are rendered before timing, so the server's rendering is
not what is measured. Rate limits are off: the clients are measured, not the limits.

``cd2 run`` is timed as a whole process (`--no-docs`; imports, sync, dbt's partial parse,
build); its own summary gives the split. dbt's partial-parse file is warmed once before the
runs, as it is on every run after a deployment's first (a first-ever full parse costs ~20 s).

Every finished run is written to ``--out`` at once; ``--resume`` keeps the runs already there
and adds runs until each profile has ``--repeat`` (large runs take over an hour each). Each run
records the version of the cd2 code it timed (``bench/code_version.py``); ``--resume`` keeps only
runs of the current version and round size, so a median never mixes two versions of the code.

Usage:
    .venv/bin/python bench/vs_dap_client.py --profiles demo,large --repeat 3 [--resume]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extract.dap.auth import Credentials  # noqa: E402
from extract.dap.client import DapClient  # noqa: E402
from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer, ServerConfig  # noqa: E402
from extract.synth import Institution, ensure_generated  # noqa: E402
from extract.timeutil import iso_z, to_utc_naive  # noqa: E402
from extract.unchanged import dbt_vars  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from code_version import cd2_code_version  # noqa: E402

TABLES = {
    "canvas": ["submissions", "enrollments", "assignments", "users", "courses", "scores"],
    "canvas_logs": ["web_logs"],
}
# Hours the institution advances before the incremental round: about 1 % of the benchmark's rows
# change (inserts, updates, hard deletes, web_logs), as the issue asks. Each run reports the count.
ADVANCE_HOURS = {"tiny": 6.0, "demo": 6.0, "large": 5.5}
EARLIER_ADVANCE_HOURS = 24.0  # runs recorded before the per-profile hours carry no advance_hours
# cd2 run's summary lines: "sync: ... in 12.3s", "dbt parse: ok in 4.1s (...)"
STEP_LINE = re.compile(r"^(sync|dbt [a-z -]+): .* in ([\d,.]+)s")
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
    """Both clients against one fake API: ``dap`` into PostgreSQL, ``cd2 run`` into DuckDB."""

    def __init__(self, url: str, cd2_dir: Path, dsn: str, dap: str) -> None:
        self.env = dict(
            os.environ,
            DAP_API_URL=url,
            DAP_CLIENT_ID=DEFAULT_CLIENT_ID,
            DAP_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
            DAP_TRACKING="false",
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
            CD2_PSEUDONYM_SECRET=os.environ.get("CD2_PSEUDONYM_SECRET", "bench-only-not-a-secret"),
            COLUMNS="240",  # cd2 run's summary on one line per step
        )
        self.env.update(cd2_env(cd2_dir))
        self.dsn = dsn
        self.dap = dap
        self.db = cd2_dir / "cd2.duckdb"

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

    def cd2_run(self) -> tuple[Timed, dict[str, float]]:
        """``cd2 run`` on the benchmark's tables; the process and the seconds of each step."""
        command = [str(ROOT / ".venv" / "bin" / "cd2"), "run", "--no-rate-limit", "--no-docs", "--progress", "never"]
        done = timed([*command, "--project-dir", str(ROOT)], self.env)
        return done, step_seconds(done.output)


def cd2_env(cd2_dir: Path) -> dict[str, str]:
    """``cd2 run``'s settings: the benchmark's tables and their current-state models, the DuckDB
    file (the same path in every run: it is part of dbt's profile, so the warm parse stays
    valid) and dbt's target folder."""
    config = cd2_dir / "cd2.yml"
    models = " ".join(f"{namespace}__{table}" for namespace, tables in TABLES.items() for table in tables)
    config.write_text(
        json.dumps(
            {
                "db": str(cd2_dir / "cd2.duckdb"),
                "namespaces": list(TABLES),
                "tables": [table for tables in TABLES.values() for table in tables],
                "dbt": {"select": models, "docs": False},
            }
        ),
        encoding="utf-8",
    )
    return {
        "CD2_CONFIG": str(config),
        "CD2_DB": str((cd2_dir / "cd2.duckdb").resolve()),
        "DBT_TARGET_PATH": str(cd2_dir / "target"),
        "DBT_LOG_PATH": str(cd2_dir / "logs"),
    }


def step_seconds(output: str) -> dict[str, float]:
    """{"sync": s, "dbt parse": s, "dbt build": s} from cd2 run's summary."""
    steps = {}
    for line in output.splitlines():
        if match := STEP_LINE.match(line.strip()):
            steps[match.group(1)] = float(match.group(2).replace(",", ""))
    return steps


def warm_parse(cd2_dir: Path) -> None:
    """One ``dbt parse`` with cd2 run's vars and profile, so every timed run parses partially."""
    cd2_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false", **cd2_env(cd2_dir))
    dbt = str(ROOT / ".venv" / "bin" / "dbt")
    args = ["parse", "--vars", dbt_vars(ROOT), "--project-dir", str(ROOT), "--profiles-dir", str(ROOT)]
    subprocess.run([dbt, *args], env=env, cwd=ROOT, check=True, capture_output=True, text=True)


def prerender(url: str, since: dict[str, datetime | None]) -> float:
    """Render, untimed, the jobs both clients are about to ask for (the official client asks for
    TSV, ``cd2`` for JSONL; both condensed, ``since`` their watermark), so that the timed runs
    reuse them as the real API reuses identical queries. Returns the seconds it took."""
    started = time.monotonic()
    with DapClient(Credentials(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET), limits={}) as client:
        for namespace, tables in TABLES.items():
            for table in tables:
                for fmt in ("tsv", "jsonl"):
                    query: dict[str, Any] = {"format": fmt, "mode": "condensed"}
                    watermark = since.get(f"{namespace}.{table}")
                    if watermark is not None:
                        query["since"] = iso_z(watermark)
                    client.wait_for_job(client.start_job(namespace, table, query))
    return time.monotonic() - started


def watermarks(dsn: str, db: Path) -> dict[str, datetime]:
    """Each side's watermark per table; they must agree (same snapshot), else the rounds differ."""
    pg = {
        f"{ns}.{table}": datetime.fromisoformat(stamp)
        for ns, table, stamp in psql(
            dsn, "SELECT source_namespace, source_table, timestamp FROM instructure_dap.table_sync"
        )
    }
    con = duckdb.connect(str(db), read_only=True)
    try:
        duck = {
            f"{ns}.{t}": w
            for ns, t, w in con.execute("SELECT namespace, table_name, watermark FROM cd2_meta.table_state").fetchall()
        }
    finally:
        con.close()
    wanted = [f"{ns}.{t}" for ns, tables in TABLES.items() for t in tables]
    for qname in wanted:
        if to_utc_naive(pg[qname]) != to_utc_naive(duck[qname]):
            raise SystemExit(f"{qname}: dap's watermark {pg[qname]} differs from cd2's {duck[qname]}")
    return {qname: duck[qname] for qname in wanted}


def compared(dsn: str, db: Path) -> dict[str, Any]:
    checks_pg, checks_duck = pg_checks(dsn), duck_checks(db)
    out: dict[str, Any] = {"equal": checks_pg == checks_duck}
    if checks_pg != checks_duck:
        out["diff"] = {k: (checks_pg[k], checks_duck[k]) for k in checks_pg if checks_pg[k] != checks_duck[k]}
    return out


def server_config(profile: str, seed: int) -> ServerConfig:
    """The fake API's settings for one profile (the other bench scripts use them too). One render
    cache per profile, kept across invocations: every run starts from the same store state, so
    the same keys."""
    cache = ROOT / ".cache" / "vs-dap-render" / f"{profile}-seed{seed}"
    return ServerConfig(port=0, cache_dir=cache, rows_per_file=250_000)


def one_run(
    pristine: Institution, work: Path, cd2_dir: Path, config: ServerConfig, dsn: str, dap: str, hours: float
) -> dict[str, Any]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name in ("cd2.duckdb", "cd2.duckdb.wal"):
        (cd2_dir / name).unlink(missing_ok=True)
    shutil.rmtree(cd2_dir / ".cd2_work_cd2", ignore_errors=True)
    shutil.copytree(pristine.store.root, work / "institution")
    institution = Institution.open(work / "institution")
    result: dict[str, Any] = {}
    with FakeDapServer(institution.store, config, advance=institution.advance) as server:
        side = Side(server.url, cd2_dir, dsn, dap)
        pg_reset(dsn)
        render_s = prerender(server.url, {})
        dap_init = side.dap_run("initdb")
        cd2_init, steps = side.cd2_run()
        result["initial"] = {
            "render_s": render_s,
            "dap_initdb_s": dap_init.seconds,
            "dap_rss_mb": dap_init.peak_rss_mb,
            "cd2_total_s": cd2_init.seconds,
            "cd2_steps_s": steps,
            "cd2_rss_mb": cd2_init.peak_rss_mb,
            "pg_disk_mb": pg_disk_mb(dsn),
            "duckdb_disk_mb": side.db.stat().st_size / 1e6,
            "rows": {k: int(v[0]) for k, v in duck_checks(side.db).items()},
            **compared(dsn, side.db),
        }
        since = watermarks(dsn, side.db)
        result["advance_hours"] = hours
        server.advance(hours)
        render_s = prerender(server.url, since)
        dap_sync = side.dap_run("syncdb")
        cd2_sync, steps = side.cd2_run()
        con = duckdb.connect(str(side.db), read_only=True)
        changed = con.execute("SELECT sum(rows) FROM cd2_meta.batches WHERE kind = 'incremental'").fetchone()[0]
        con.close()
        result["incremental"] = {
            "render_s": render_s,
            "changed_rows": int(changed or 0),
            "dap_syncdb_s": dap_sync.seconds,
            "dap_rss_mb": dap_sync.peak_rss_mb,
            "cd2_total_s": cd2_sync.seconds,
            "cd2_steps_s": steps,
            "cd2_rss_mb": cd2_sync.peak_rss_mb,
            "pg_disk_mb": pg_disk_mb(dsn),
            "duckdb_disk_mb": side.db.stat().st_size / 1e6,
            **compared(dsn, side.db),
        }
    return result


INITIAL_FIGURES = ("dap_initdb_s", "cd2_total_s", "dap_rss_mb", "cd2_rss_mb", "pg_disk_mb", "duckdb_disk_mb")
INCREMENTAL_FIGURES = ("changed_rows", "dap_syncdb_s", "cd2_total_s", "dap_rss_mb", "cd2_rss_mb")


def median_of(runs: list[dict[str, Any]], phase: str, key: str) -> float:
    return statistics.median(float(r[phase][key]) for r in runs)


def median_steps(runs: list[dict[str, Any]], phase: str) -> dict[str, float]:
    names = sorted({name for r in runs for name in r[phase]["cd2_steps_s"]})
    return {name: round(statistics.median(r[phase]["cd2_steps_s"].get(name, 0.0) for r in runs), 2) for name in names}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary: dict[str, Any] = {
        "runs": len(runs),
        "initial": {k: round(median_of(runs, "initial", k), 2) for k in INITIAL_FIGURES},
        "incremental": {k: round(median_of(runs, "incremental", k), 2) for k in INCREMENTAL_FIGURES},
        "rows": runs[0]["initial"]["rows"],
        "equal": all(r["initial"]["equal"] and r["incremental"]["equal"] for r in runs),
        "cd2_code": runs[0].get("cd2_code"),
    }
    summary["incremental"]["changed_pct"] = round(
        100 * summary["incremental"]["changed_rows"] / sum(summary["rows"].values()), 2
    )
    summary["advance_hours"] = runs[0].get("advance_hours", EARLIER_ADVANCE_HOURS)
    summary["initial"]["cd2_steps_s"] = median_steps(runs, "initial")
    summary["incremental"]["cd2_steps_s"] = median_steps(runs, "incremental")
    summary["initial"]["speedup"] = round(summary["initial"]["dap_initdb_s"] / summary["initial"]["cd2_total_s"], 1)
    summary["incremental"]["speedup"] = round(
        summary["incremental"]["dap_syncdb_s"] / summary["incremental"]["cd2_total_s"], 1
    )
    return summary


def comparable_runs(runs: list[dict[str, Any]], hours: float, code: str) -> list[dict[str, Any]]:
    """The recorded runs a new run may share a median with: the same round size, the same
    version of the cd2 code, and that version committed (two dirty trees may differ)."""
    if code.endswith("+dirty"):
        return []
    return [r for r in runs if r.get("advance_hours", EARLIER_ADVANCE_HOURS) == hours and r.get("cd2_code") == code]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", default="demo,large")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--advance-hours",
        type=float,
        default=None,
        help="size of the incremental round (default: per profile, about 1 %% of the rows changed)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "vs_dap_client.json")
    parser.add_argument("--resume", action="store_true", help="keep the runs already in --out and add the missing ones")
    args = parser.parse_args()

    code = cd2_code_version()
    if args.resume and code.endswith("+dirty"):
        raise SystemExit(
            f"the cd2 code has uncommitted changes ({code}): its runs could not share a median with the "
            f"recorded ones and would replace them in {args.out}. Commit first, or run without --resume "
            "and a new --out."
        )

    dap = shell(["bash", "scripts/dap_client_env.sh"]).splitlines()[-1]
    shell(["bash", "scripts/postgres_service.sh", "install"])
    dsn = shell(["bash", "scripts/postgres_service.sh", "start"]).splitlines()[-1]
    report: dict[str, Any] = {"profiles": {}}
    if args.resume and args.out.exists():
        report = json.loads(args.out.read_text(encoding="utf-8"))
    report["command"] = " ".join(sys.argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cd2-vs-dap-") as tmp:
        cd2_dir = Path(tmp) / "cd2"
        warm_parse(cd2_dir)
        for profile in args.profiles.split(","):
            pristine = ensure_generated(profile, args.seed, progress=lambda m: print(f"  {m}", flush=True))
            entry = report["profiles"].setdefault(profile, {"runs": []})
            hours = args.advance_hours or ADVANCE_HOURS[profile]
            kept = comparable_runs(entry["runs"], hours, code)
            if len(kept) < len(entry["runs"]):
                print(
                    f"  {profile}: {len(entry['runs']) - len(kept)} earlier runs had another round size "
                    f"or cd2 code version (now {code}); dropped",
                    flush=True,
                )
                entry["runs"] = kept
            while len(entry["runs"]) < args.repeat:
                i = len(entry["runs"])
                run = one_run(
                    pristine,
                    Path(tmp) / f"{profile}-{i}",
                    cd2_dir,
                    server_config(profile, args.seed),
                    dsn,
                    dap,
                    hours,
                )
                run["finished_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                run["cd2_code"] = code
                print(json.dumps({"profile": profile, "run": i, **run}, default=str), flush=True)
                entry["runs"].append(run)
                entry["summary"] = summarize(entry["runs"])
                args.out.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
            print(json.dumps({"profile": profile, "summary": entry["summary"]}), flush=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
