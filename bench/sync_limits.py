"""Benchmark: a ``cd2 sync`` round of every table under the DAP API's real limits, against its floor.

The fake DAP API enforces the documented per-minute limits (job creation 5, job status 500, URLs
200, …) and its jobs take ``realistic`` server-side durations (20 s + 30 s per million result
rows, at most 15 min; ``extract/fake_dap/config.py``). ``--time-scale`` scales the minute and the
durations alike, and cd2's client gets the same window, rate-limit margin (0.25 s a window) and
poll intervals scaled too (0.1: a 25-minute round in 2.5 minutes; what the client does in
between, DuckDB's landing included, is not scaled).

A round = every table of the default namespaces (canvas, canvas_logs: 114 tables), into a fresh
DuckDB file, on a fresh server (no job reused): the initial round (snapshots), then, with
``--incremental``, a round after the institution advanced ``--advance`` hours (incrementals, on
a copy of the initial round's file). An untimed warm-up renders every job first (no limits, jobs
immediate), so the timed rounds' jobs take their planned durations and nothing else.

``--resnapshot`` adds a round of the same snapshots as the initial one on a copy of its file with
the watermarks cleared: the same jobs, but ordered by the initial round's durations (the initial
round knows nothing and goes by name). ``--completion`` replaces the ``realistic`` durations, e.g.
``scaled:20+3000:cap=900`` gives the tiny institution's tables the durations of an institution a
hundred times its size. ``--baseline`` also times the runner of ``BASELINE_COMMIT`` (``concurrency``
= 4 tables in flight, each through job, download and landing), read from git into memory.

The floor of a round of n jobs with the durations the server planned for them: no schedule
creates the last job before ``ceil(n / 5) - 1`` windows, and that job then still takes at least
the shortest duration; nor can the round end before its longest job:
``floor = max((ceil(n / 5) - 1) * window + shortest, longest)``. Reported: wall ÷ floor, when the
last job was created against ``(ceil(n / 5) - 1) * window``, the most creations in any window,
the 429s, and the median over ``--repeat`` runs.

``--dap`` also times Instructure's ``dap initdb --table all`` (and ``syncdb`` with
``--incremental``), one call per namespace, into a fresh PostgreSQL database, against a fresh
server with the same settings: when the official client's venv (``scripts/dap_client_env.sh``)
and a local PostgreSQL (``scripts/postgres_service.sh``) can be had, else skipped with the
reason. Its 5-s polls and its 429 waits are its own and not scaled, so below scale 1 its ratio is
pessimistic.

Usage:
    .venv/bin/python bench/sync_limits.py --profile tiny --time-scale 0.1 --repeat 3 [--incremental] \
        [--resnapshot] [--baseline] [--completion SPEC] [--dap]
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sync_bench import bench_client  # noqa: E402

from extract.dap.ratelimit import RATE_MARGIN_S, RATE_WINDOW_S  # noqa: E402
from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, REAL_RATE_LIMITS, FakeDapServer  # noqa: E402
from extract.fake_dap.config import Completion, ServerConfig  # noqa: E402
from extract.sync.fetch import FetchPolicy  # noqa: E402
from extract.sync.progress import LogReporter  # noqa: E402
from extract.sync.runner import SyncOptions, SyncRunner  # noqa: E402
from extract.synth import Institution, ensure_generated  # noqa: E402

NAMESPACES = ("canvas", "canvas_logs")  # cd2's default: 114 tables
CREATE_LIMIT = REAL_RATE_LIMITS["create_job"]
BASELINE_COMMIT = "d92762b7b2c03ed43cd037980cb1c5f0afc08671"  # the runner before the paced plan


def round_floor(durations: list[float], window: float) -> float:
    """The shortest any schedule of these jobs can take under the creation limit (module docstring)."""
    if not durations:
        return 0.0
    return max((math.ceil(len(durations) / CREATE_LIMIT) - 1) * window + min(durations), max(durations))


def server_config(cache: Path, scale: float, completion: str | None) -> ServerConfig:
    """The fake API: the real limits per scaled minute, ``completion`` scaled (None: the warm-up,
    rendering every job with neither limits nor waiting)."""
    if completion is None:
        return ServerConfig(port=0, cache_dir=cache)
    scaled = Completion.parse(completion).scaled(scale).spec()
    return ServerConfig(
        port=0, cache_dir=cache, rate_limits=True, rate_window_s=RATE_WINDOW_S * scale, job_completion=scaled
    )


def baseline_runner(scale: float) -> types.ModuleType:
    """``extract/sync/runner.py`` of ``BASELINE_COMMIT`` as a module (the working tree is not
    touched), its job polls scaled like the current runner's."""
    source = _shell(["git", "show", f"{BASELINE_COMMIT}:extract/sync/runner.py"])
    module = types.ModuleType("cd2_baseline_runner")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, "baseline/extract/sync/runner.py", "exec"), module.__dict__)
    module.JobFetcher = functools.partial(module.JobFetcher, policy=_polls(scale))
    return module


def _polls(scale: float) -> FetchPolicy:
    return FetchPolicy(first_poll_s=0.5 * scale, max_poll_s=10.0 * scale)


def sync_round(
    url: str, db: Path, tables: list[str], scale: float, limited: bool, baseline: types.ModuleType | None = None
) -> tuple[float, Any]:
    """One cd2 sync of ``tables`` into ``db`` (by the ``baseline`` runner if given): (seconds to the
    final checkpoint, report)."""
    options: dict[str, Any] = {}
    if limited:
        options = {"limits": None, "rate_window_s": RATE_WINDOW_S * scale, "rate_margin_s": RATE_MARGIN_S * scale}
    client = bench_client(url, **options)
    con = duckdb.connect(str(db))
    try:
        work = db.parent / f"work-{db.stem}"
        if baseline is not None:
            runner = baseline.SyncRunner(client, con, baseline.SyncOptions(tables=tables, work_dir=work), LogReporter())
        else:
            runner = SyncRunner(
                client, con, SyncOptions(tables=tables, work_dir=work, fetch=_polls(scale)), LogReporter()
            )
        started = time.monotonic()
        report = runner.run()
        con.execute("CHECKPOINT")
        seconds = time.monotonic() - started
    finally:
        con.close()
        client.close()
    if not report.ok:
        raise RuntimeError(f"the round failed: {report.failure_lines()}")
    return seconds, report


def measured(server: FakeDapServer, seconds: float, window: float, client: str) -> dict[str, Any]:
    """The round's figures from what the server saw: its jobs' planned durations and the creations."""
    jobs = server.jobs.all()
    durations = [job.completion.seconds for job in jobs]
    creations = sorted(r.time for r in server.request_log.select(endpoint="create_job", status=None) if r.status < 400)
    floor = round_floor(durations, window)
    return {
        "client": client,
        "jobs": len(jobs),
        "wall_s": round(seconds, 2),
        "floor_s": round(floor, 2),
        "ratio": round(seconds / floor, 3) if floor else None,
        "last_creation_s": round(creations[-1] - creations[0], 2) if creations else None,
        "ideal_last_creation_s": round((math.ceil(len(jobs) / CREATE_LIMIT) - 1) * window, 2),
        "max_creations_in_window": server.request_log.max_in_window("create_job", window),
        "rate_limited_429": len(server.request_log.select(status=429)),
        "max_jobs_running": _most_at_once([(job.created, job.created + job.completion.seconds) for job in jobs]),
        "job_s": {"min": round(min(durations), 2), "max": round(max(durations), 2)} if durations else {},
    }


def _copy_for(kind: str, first: Path) -> Path:
    """A copy of the initial round's file for a later round; for ``resnapshot`` with its
    watermarks cleared (every table snapshots again, its job history kept)."""
    copy = first.with_name(f"{first.stem}-{kind}.duckdb")
    shutil.copyfile(first, copy)
    if kind == "resnapshot":
        con = duckdb.connect(str(copy))
        try:
            con.execute("UPDATE cd2_meta.table_state SET watermark = NULL")
        finally:
            con.close()
    return copy


def _most_at_once(spans: list[tuple[float, float]]) -> int:
    """The most of these (start, end) spans that overlap at one moment."""
    events = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    most = running = 0
    for _, step in events:
        running += step
        most = max(most, running)
    return most


def serve(institution: Institution, config: ServerConfig) -> FakeDapServer:
    return FakeDapServer(institution.store, config, advance=institution.advance)


# ---- Instructure's dap client (optional) ------------------------------------------------------------
def dap_setup() -> tuple[str, str] | str:
    """(the dap executable, a fresh PostgreSQL database's DSN), or why they cannot be had."""
    try:
        dap = _shell(["bash", "scripts/dap_client_env.sh"]).splitlines()[-1]
        _shell(["bash", "scripts/postgres_service.sh", "start"])  # installs nothing: a server must be there
        dsn = _shell(["bash", "scripts/postgres_service.sh", "fresh-database", "sync_limits"]).splitlines()[-1]
    except (subprocess.CalledProcessError, IndexError, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        return f"skipped: the official client or PostgreSQL is unavailable ({detail.strip()[-300:]})"
    return dap, dsn


def _shell(cmd: list[str]) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout.strip()


def dap_round(dap: str, dsn: str, url: str, command: str) -> float:
    """``dap <command> --table all`` per namespace, as a user runs it; the seconds, added up."""
    from vs_dap_client import timed  # only with --dap: it imports the dbt side of the project

    env = {
        "PATH": "/usr/bin:/bin",
        "DAP_API_URL": url,
        "DAP_CLIENT_ID": DEFAULT_CLIENT_ID,
        "DAP_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        "DAP_TRACKING": "false",
    }
    total = 0.0
    for namespace in NAMESPACES:
        args = ["--namespace", namespace, "--table", "all", "--connection-string", dsn]
        total += timed([dap, "--no-tracking", "--non-interactive", command, *args], env).seconds
    return total


def reset_dap_database(dsn: str) -> None:
    schemas = ", ".join([*NAMESPACES, "instructure_dap"])
    statements = "; ".join(f"DROP SCHEMA IF EXISTS {s} CASCADE" for s in schemas.split(", "))
    subprocess.run(["psql", dsn, "-q", "-c", statements], check=True, capture_output=True, text=True)


# ---- the benchmark ---------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="tiny")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--incremental", action="store_true", help="also time a round of incrementals")
    parser.add_argument("--advance", type=float, default=4.0, help="hours the institution moves before it")
    parser.add_argument("--resnapshot", action="store_true", help="also a snapshot round ordered by history")
    parser.add_argument("--baseline", action="store_true", help=f"also the runner of {BASELINE_COMMIT[:7]}")
    parser.add_argument("--completion", default="realistic", help="the fake's job durations (before scaling)")
    parser.add_argument("--dap", action="store_true", help="also time Instructure's dap initdb (syncdb)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sync_limits.json")
    args = parser.parse_args()
    if not 0 < args.time_scale <= 1:
        parser.error("--time-scale must be in (0, 1]")
    Completion.parse(args.completion)
    scale, window = args.time_scale, RATE_WINDOW_S * args.time_scale

    pristine = ensure_generated(args.profile, args.seed, progress=lambda m: print(f"  {m}", flush=True))
    tables = [q for q in pristine.store.tables() if q.split(".", 1)[0] in NAMESPACES]
    dap = dap_setup() if args.dap else "not asked (--dap)"
    clients: dict[str, types.ModuleType | None] = {"cd2": None}
    if args.baseline:
        clients[f"cd2 {BASELINE_COMMIT[:7]}"] = baseline_runner(scale)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cd2-sync-limits-") as tmp:
        work = Path(tmp)
        cache = work / "render-cache"
        stores = {"initial": pristine}
        if args.incremental:
            shutil.copytree(pristine.store.root, work / "advanced")
            stores["incremental"] = Institution.open(work / "advanced")
            stores["incremental"].advance(args.advance)
        # untimed: render every job the timed rounds will ask for
        for kind, institution in stores.items():
            with serve(institution, server_config(cache, scale, None)) as server:
                sync_round(server.url, work / "warm.duckdb", tables, scale, limited=False)
            print(f"warm-up: {kind} jobs rendered", flush=True)
        (work / "warm.duckdb").unlink(missing_ok=True)
        kinds = [
            "initial",
            *(["resnapshot"] if args.resnapshot else []),
            *(["incremental"] if args.incremental else []),
        ]
        for repeat in range(args.repeat):
            for client, baseline in clients.items():
                first = work / f"run{repeat}-{len(runs)}.duckdb"
                for kind in kinds:
                    db = first if kind == "initial" else _copy_for(kind, first)
                    institution = stores["incremental" if kind == "incremental" else "initial"]
                    with serve(institution, server_config(cache, scale, args.completion)) as server:
                        seconds, _ = sync_round(server.url, db, tables, scale, limited=True, baseline=baseline)
                        entry = {"round": kind, "repeat": repeat, **measured(server, seconds, window, client)}
                    runs.append(entry)
                    print(json.dumps(entry), flush=True)
            if isinstance(dap, tuple):
                for kind in ("initial", "incremental") if args.incremental else ("initial",):
                    if kind == "initial":
                        reset_dap_database(dap[1])
                    with serve(stores[kind], server_config(cache, scale, args.completion)) as server:
                        command = "initdb" if kind == "initial" else "syncdb"
                        seconds = dap_round(dap[0], dap[1], server.url, command)
                        entry = {"round": kind, "repeat": repeat, **measured(server, seconds, window, f"dap {command}")}
                    runs.append(entry)
                    print(json.dumps(entry), flush=True)
    summary = {
        f"{client} {kind}": {
            "median_wall_s": statistics.median(r["wall_s"] for r in chosen),
            "median_floor_s": statistics.median(r["floor_s"] for r in chosen),
            "median_ratio": statistics.median(r["ratio"] for r in chosen),
        }
        for kind in ("initial", "resnapshot", "incremental")
        for client in sorted({r["client"] for r in runs})
        if (chosen := [r for r in runs if r["round"] == kind and r["client"] == client])
    }
    print(json.dumps({"summary": summary, "dap": dap if isinstance(dap, str) else "ran"}), flush=True)
    result = {
        "profile": args.profile,
        "seed": args.seed,
        "time_scale": scale,
        "window_s": window,
        "tables": len(tables),
        "completion": args.completion,
        "completion_scaled": Completion.parse(args.completion).scaled(scale).spec(),
        "summary": summary,
        "dap": dap if isinstance(dap, str) else "ran",
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
