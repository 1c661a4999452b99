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

A run also outlives its process (a `large` run can take longer than a machine stays up): its
finished steps are kept in ``.cache/vs-dap-runs/<profile>-seed<n>/progress.json``, and the next
invocation goes on from the step that was cut off, after undoing what that step had done (a
namespace's tables for ``dap initdb``, the DuckDB file for ``cd2 run``; for the round, both
databases and the institution are restored from copies saved before it). Each timed step records
when it started, in which invocation, and how long a fixed Python loop took just before it, so a
run timed across machines' moods says so. Delete that folder to drop a run in progress.

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
import uuid
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
from extract.timeutil import iso_z, parse_iso, to_utc_naive  # noqa: E402
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
# The run in progress per profile (its steps, both sides' files, dap's downloads), kept across
# invocations so a run can outlive its process.
RUNS_DIR = ROOT / ".cache" / "vs-dap-runs"
PG_CHECKPOINT = "before_round"  # a copy of dapdb before the round (scripts/postgres_service.sh)
DUCKDB_FILES = ("cd2.duckdb", "cd2.duckdb.wal")
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
        "DROP SCHEMA IF EXISTS instructure_dap CASCADE; DROP SCHEMA IF EXISTS cd2_bench CASCADE;",
    )


def pg_run_id(dsn: str) -> str | None:
    """Which run's state dapdb holds (every profile's runs share the one database)."""
    rows = psql(dsn, "SELECT CASE WHEN to_regclass('cd2_bench.run') IS NOT NULL THEN 1 ELSE 0 END")
    return psql(dsn, "SELECT id FROM cd2_bench.run")[0][0] if rows[0][0] == "1" else None


def pg_mark_run(dsn: str, run_id: str) -> None:
    psql(dsn, f"CREATE SCHEMA cd2_bench; CREATE TABLE cd2_bench.run AS SELECT '{run_id}'::text AS id;")


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

    def dap_run(self, command: str, namespaces: dict[str, list[str]] = TABLES) -> Timed:
        """One ``dap`` call per namespace, as a user runs it; the times add up."""
        total = Timed(0.0, 0.0, "")
        for namespace, tables in namespaces.items():
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


def compared(dsn: str, checks_duck: dict[str, list[str]]) -> dict[str, Any]:
    """PostgreSQL's checks against DuckDB's (already taken: the caller also reports its rows)."""
    checks_pg = pg_checks(dsn)
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


def utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def cpu_calibration_s() -> float:
    """Seconds of a fixed single-threaded Python loop, taken before each timed step: how fast the
    machine runs a Python client at that moment (``dap``'s speed differed 2x between sessions)."""
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i * i
    return round(time.perf_counter() - started, 3)


class Progress:
    """The finished steps of the run in progress, kept in ``progress.json`` so that a run outlives
    its process: a large run takes longer than some machines allow one process to live, and a
    step that was cut off is redone from the state saved before it. Each finished step is written
    at once (atomically); a run of another code version, round size or run number starts afresh."""

    def __init__(self, run_dir: Path, identity: dict[str, Any]) -> None:
        self.path = run_dir / "progress.json"
        saved = json.loads(self.path.read_text(encoding="utf-8")) if self.path.exists() else None
        self.resumed = saved is not None and saved.get("identity") == identity
        self.data: dict[str, Any] = saved if self.resumed else {"identity": identity, "steps": {}, "invocations": 0}
        self.data["invocations"] += 1
        self.save()

    def done(self, step: str) -> bool:
        return step in self.data["steps"]

    def __getitem__(self, step: str) -> Any:
        return self.data["steps"][step]

    def record(self, step: str, value: Any) -> None:
        self.data["steps"][step] = value
        self.save()

    def forget(self, step: str) -> None:
        self.data["steps"].pop(step, None)
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".json.partial")
        partial.write_text(json.dumps(self.data, indent=1, default=str) + "\n", encoding="utf-8")
        partial.replace(self.path)


def pg_reset_namespace(dsn: str, namespace: str) -> None:
    """Undo a cut-off ``dap initdb`` of one namespace: its tables and its rows in dap's own state."""
    psql(
        dsn,
        f"DROP SCHEMA IF EXISTS {namespace} CASCADE; "
        "DO $$ BEGIN IF to_regclass('instructure_dap.table_sync') IS NOT NULL THEN "
        f"DELETE FROM instructure_dap.table_sync WHERE source_namespace = '{namespace}'; END IF; END $$;",
    )


def remove_duckdb(cd2_dir: Path) -> None:
    for name in DUCKDB_FILES:
        (cd2_dir / name).unlink(missing_ok=True)
    shutil.rmtree(cd2_dir / ".cd2_work_cd2", ignore_errors=True)


def copy_duckdb(source_dir: Path, target_dir: Path) -> None:
    target_dir.mkdir(parents=True, exist_ok=True)
    for name in DUCKDB_FILES:
        (target_dir / name).unlink(missing_ok=True)
        if (source_dir / name).exists():
            shutil.copy2(source_dir / name, target_dir / name)


def copy_institution(pristine: Institution, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(pristine.store.root, target)


def empty_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)


def pg_checkpoint(action: str) -> None:
    """``checkpoint``, ``rollback`` or ``drop-checkpoint`` of the copy of dapdb taken before the round."""
    shell(["bash", "scripts/postgres_service.sh", action, PG_CHECKPOINT])


def timed_step(progress: Progress, step: str, run: Any) -> dict[str, Any]:
    """Run one timed step unless it is already recorded; record its time, peak RSS, the machine's
    speed just before it, when it started and in which invocation of the script."""
    if not progress.done(step):
        calibration = cpu_calibration_s()
        started_at = utc_stamp()
        done, extra = run()
        progress.record(
            step,
            {
                "seconds": done.seconds,
                "rss_mb": done.peak_rss_mb,
                "cpu_calibration_s": calibration,
                "started_at": started_at,
                "invocation": progress.data["invocations"],
                **extra,
            },
        )
        print(f"  {step}: {done.seconds:,.1f} s", flush=True)
    return progress[step]


def one_run(
    pristine: Institution, run_dir: Path, config: ServerConfig, dsn: str, dap: str, identity: dict[str, Any]
) -> dict[str, Any]:
    """One run of both sides, resumable step by step (``Progress``): the initial load of each
    namespace by ``dap``, the initial ``cd2 run``, then the incremental round as one step, taken
    from a saved copy of both databases and the institution if an earlier invocation started it."""
    progress = Progress(run_dir, identity)
    if progress.done("setup") and not progress.done("round"):
        ours = True
        if progress.done("round_started"):  # PostgreSQL back to its copy from before the round
            try:
                pg_checkpoint("rollback")
            except subprocess.CalledProcessError:  # the copy is gone: another run dropped it
                ours = False
        if not ours or pg_run_id(dsn) != progress["setup"].get("run_id"):
            print("  PostgreSQL no longer holds this run's state (another run used it): starting again", flush=True)
            progress.data["steps"] = {}
            progress.save()
    cd2_dir = run_dir / "cd2"
    institution_dir = run_dir / "institution"
    checkpoint_dir = run_dir / "before_round"
    dap_tmp = run_dir / "dap-tmp"  # dap's downloads; a cut-off run leaves GBs of them
    if not progress.done("setup"):
        copy_institution(pristine, institution_dir)
        pg_reset(dsn)
        pg_checkpoint("drop-checkpoint")
        remove_duckdb(cd2_dir)
        shutil.rmtree(checkpoint_dir, ignore_errors=True)
        run_id = uuid.uuid4().hex
        pg_mark_run(dsn, run_id)
        progress.record("setup", {"at": utc_stamp(), "run_id": run_id})
    if progress.done("round_started") and not progress.done("round"):
        print("  the round was cut off: restoring both databases and the institution from before it", flush=True)
        copy_duckdb(checkpoint_dir, cd2_dir)
        copy_institution(pristine, institution_dir)
        progress.forget("round_started")
    warm_parse(cd2_dir)
    institution = Institution.open(institution_dir)
    with FakeDapServer(institution.store, config, advance=institution.advance) as server:
        side = Side(server.url, cd2_dir, dsn, dap)
        side.env["TMPDIR"] = str(dap_tmp)
        if not progress.done("cd2_initial"):  # rendered jobs are cached: quick after the first time
            render_s = prerender(server.url, {})
            if not progress.done("render_initial"):
                progress.record("render_initial", {"seconds": render_s})
        for namespace, tables in TABLES.items():

            def initdb(namespace: str = namespace, tables: list[str] = tables) -> tuple[Timed, dict[str, Any]]:
                pg_reset_namespace(dsn, namespace)
                empty_dir(dap_tmp)
                return side.dap_run("initdb", {namespace: tables}), {}

            timed_step(progress, f"dap_initdb:{namespace}", initdb)

        def cd2_initial() -> tuple[Timed, dict[str, Any]]:
            remove_duckdb(cd2_dir)
            done, steps = side.cd2_run()
            return done, {"steps": steps}

        timed_step(progress, "cd2_initial", cd2_initial)
        if not progress.done("initial_checks"):
            since = watermarks(dsn, side.db)
            checks = duck_checks(side.db)
            progress.record(
                "initial_checks",
                {
                    "pg_disk_mb": pg_disk_mb(dsn),
                    "duckdb_disk_mb": side.db.stat().st_size / 1e6,
                    "rows": {k: int(v[0]) for k, v in checks.items()},
                    "since": {k: iso_z(v) for k, v in since.items()},
                    **compared(dsn, checks),
                },
            )
        if not progress.done("round_checkpoint"):
            pg_checkpoint("checkpoint")
            copy_duckdb(cd2_dir, checkpoint_dir)
            progress.record("round_checkpoint", {"at": utc_stamp()})
        if not progress.done("round"):
            progress.record("round_started", {"at": utc_stamp()})
            progress.record("round", incremental_round(server, side, progress, dap_tmp))
    pg_checkpoint("drop-checkpoint")
    result = run_result(progress)
    for leftover in (institution_dir, checkpoint_dir, dap_tmp):
        shutil.rmtree(leftover, ignore_errors=True)
    remove_duckdb(cd2_dir)  # keeps cd2/target: dbt's partial parse for the next run
    progress.path.unlink()
    return result


def incremental_round(server: FakeDapServer, side: Side, progress: Progress, dap_tmp: Path) -> dict[str, Any]:
    """Advance the institution, then ``dap syncdb`` and ``cd2 run`` (both timed) and the checks."""
    hours = progress.data["identity"]["advance_hours"]
    since = {k: parse_iso(v) for k, v in progress["initial_checks"]["since"].items()}
    server.advance(hours)
    render_s = prerender(server.url, since)
    empty_dir(dap_tmp)
    dap_calibration = cpu_calibration_s()
    dap_sync = side.dap_run("syncdb")
    cd2_calibration = cpu_calibration_s()
    cd2_sync, steps = side.cd2_run()
    con = duckdb.connect(str(side.db), read_only=True)
    changed = con.execute("SELECT sum(rows) FROM cd2_meta.batches WHERE kind = 'incremental'").fetchone()[0]
    con.close()
    print(f"  round: dap {dap_sync.seconds:,.1f} s, cd2 {cd2_sync.seconds:,.1f} s", flush=True)
    return {
        "render_s": render_s,
        "changed_rows": int(changed or 0),
        "dap_syncdb_s": dap_sync.seconds,
        "dap_rss_mb": dap_sync.peak_rss_mb,
        "dap_cpu_calibration_s": dap_calibration,
        "cd2_total_s": cd2_sync.seconds,
        "cd2_steps_s": steps,
        "cd2_rss_mb": cd2_sync.peak_rss_mb,
        "cd2_cpu_calibration_s": cd2_calibration,
        "pg_disk_mb": pg_disk_mb(side.dsn),
        "duckdb_disk_mb": side.db.stat().st_size / 1e6,
        "invocation": progress.data["invocations"],
        **compared(side.dsn, duck_checks(side.db)),
    }


def run_result(progress: Progress) -> dict[str, Any]:
    """The run's figures from its recorded steps, in the results file's shape."""
    initdb = [progress[f"dap_initdb:{namespace}"] for namespace in TABLES]
    cd2, checks = progress["cd2_initial"], progress["initial_checks"]
    return {
        "initial": {
            "render_s": progress["render_initial"]["seconds"],
            "dap_initdb_s": sum(step["seconds"] for step in initdb),
            "dap_rss_mb": max(step["rss_mb"] for step in initdb),
            "cd2_total_s": cd2["seconds"],
            "cd2_steps_s": cd2["steps"],
            "cd2_rss_mb": cd2["rss_mb"],
            **{k: v for k, v in checks.items() if k != "since"},
        },
        "advance_hours": progress.data["identity"]["advance_hours"],
        "incremental": progress["round"],
        "steps": {name: step for name, step in progress.data["steps"].items() if name.startswith(("dap_", "cd2_"))},
        "invocations": progress.data["invocations"],
    }


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
            identity = {
                "profile": profile,
                "seed": args.seed,
                "run": i,
                "cd2_code": code,
                "advance_hours": hours,
                "out": str(args.out.resolve()),
            }
            run_dir = RUNS_DIR / f"{profile}-seed{args.seed}"
            run = one_run(pristine, run_dir, server_config(profile, args.seed), dsn, dap, identity)
            run["finished_at"] = utc_stamp()
            run["cd2_code"] = code
            print(json.dumps({"profile": profile, "run": i, **run}, default=str), flush=True)
            entry["runs"].append(run)
            entry["summary"] = summarize(entry["runs"])
            args.out.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
        print(json.dumps({"profile": profile, "summary": entry.get("summary")}), flush=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
