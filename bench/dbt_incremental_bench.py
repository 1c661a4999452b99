"""Benchmark: the dbt current-state layer, full refresh vs an incremental run after a ~1% change batch.

1. Generate (or reuse) the institution of ``--profile``, serve a private copy with the fake DAP
   API, and ``cd2 sync`` the snapshot of every table into a fresh DuckDB file.
2. ``dbt run --select tag:cd2_current_state --full-refresh``: timed, ``--repeat`` times
   (``--command build``: ``dbt build``, the models' data tests included).
3. Advance the institution by ``--hours`` (one change batch), ``cd2 sync`` the incremental and
   report the change fraction (rows landed / rows in the current state).
4. ``dbt run --select tag:cd2_current_state`` (incremental): timed, ``--repeat`` times, each
   from a copy of the database as it was after the sync.
5. The same incremental run as `cd2 run` does it: unchanged tables left out (extract/unchanged.py,
   excluded by one tag as extract/run.py does).
6. A no-op incremental run (nothing new landed) gives dbt's fixed cost for the 115 models.

Every dbt run is timed as `cd2 run` runs dbt (bench/dbt_inprocess.py, a fresh process each
time), with three figures:

- ``wall``: the whole process (Python and dbt imports, the project parse, the command);
- ``command``: the dbt command after the parse, with the parsed manifest: what the layer adds
  to a `cd2 run`, whose single parse serves every dbt step;
- ``nodes``: dbt's own time for the nodes and hooks ("Finished running ... in").

Reports medians, the incremental / full ratios (target: <= 10%), and writes a JSON report.
Usage:

    .venv/bin/python bench/dbt_incremental_bench.py [--profile large] [--hours 4] [--repeat 3]
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
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extract.dap.auth import Credentials  # noqa: E402
from extract.dap.client import DapClient  # noqa: E402
from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer, ServerConfig  # noqa: E402
from extract.sync.progress import LogReporter  # noqa: E402
from extract.sync.runner import SyncOptions, SyncRunner  # noqa: E402
from extract.synth import Institution, ensure_generated  # noqa: E402
from extract.unchanged import dbt_vars, unchanged_models  # noqa: E402

DBT = Path(sys.executable).with_name("dbt")
SELECT = ("--select", "tag:cd2_current_state")


def sync(url: str, db: Path, tables: list[str], work: Path) -> tuple[float, int]:
    """``cd2 sync`` of the tables into ``db``; returns (seconds, rows landed)."""
    client = DapClient(Credentials(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET), limits={})
    con = duckdb.connect(str(db))
    try:
        before = _landed_rows(con)
        started = time.monotonic()
        report = SyncRunner(client, con, SyncOptions(tables=tables, work_dir=work), LogReporter()).run()
        con.execute("CHECKPOINT")
        elapsed = time.monotonic() - started
        if not report.ok:
            raise SystemExit(f"sync failed: {[(r.qualified_name, r.error) for r in report.failed]}")
        return elapsed, _landed_rows(con) - before
    finally:
        con.close()
        client.close()


def _landed_rows(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = 'cd2_meta' and table_name = 'batches'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("select coalesce(sum(rows), 0) from cd2_meta.batches where status = 'committed'").fetchone()
    return int(row[0]) if row else 0


def current_rows(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('canvas', 'canvas_logs') and table_type = 'BASE TABLE'"
        ).fetchall()
        return sum(int(con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]) for s, t in tables)
    finally:
        con.close()


def dbt_env(db: Path, work: Path) -> dict[str, str]:
    """dbt on ``db`` with its target and logs in ``work``. The path is resolved as `cd2 run`
    resolves it: the same profile keeps the warm partial-parse file valid."""
    return dict(
        os.environ,
        CD2_DB=str(db.resolve()),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_TARGET_PATH=str(work / "target"),
        DBT_LOG_PATH=str(work / "logs"),
    )


def dbt(db: Path, work: Path, *args: str) -> tuple[float, float, float]:
    """Run dbt as `cd2 run` does (bench/dbt_inprocess.py: parse once, then the command with the
    parsed manifest, no artifact writing but the run results), in a fresh process.
    Returns (process wall seconds, the dbt command after the parse, dbt's own node + hook time)."""
    command = [sys.executable, str(ROOT / "bench" / "dbt_inprocess.py"), *args]
    started = time.monotonic()
    done = subprocess.run(command, env=dbt_env(db, work), capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    lines = done.stdout.strip().splitlines()
    result = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {"ok": False}
    if done.returncode != 0 or not result["ok"]:
        raise SystemExit(f"dbt {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return wall, float(result["invoke_s"]), float(result["nodes_s"])


def warm_parse(db: Path, work: Path) -> None:
    """``dbt parse`` once, so every timed run starts from a valid partial-parse file."""
    command = [str(DBT), "parse", "--vars", dbt_vars(ROOT), "--project-dir", str(ROOT), "--profiles-dir", str(ROOT)]
    subprocess.run(command, env=dbt_env(db, work), capture_output=True, text=True, check=True)


def timed_runs(db: Path, pristine: Path, work: Path, repeat: int, *args: str) -> list[tuple[float, float, float]]:
    """``repeat`` dbt runs, each on a fresh copy of ``pristine``."""
    runs = []
    for _ in range(repeat):
        shutil.copyfile(pristine, db)
        os.sync()  # the copy's write-back (GBs) must not run during the timed run
        runs.append(dbt(db, work, *args))
        wall, invoke, nodes = runs[-1]
        print(f"  dbt {' '.join(args)[:80]}: wall {wall:.1f}s, command {invoke:.1f}s, nodes {nodes:.1f}s", flush=True)
    return runs


FIGURES = {"wall": 0, "command": 1, "nodes": 2}


def figures(report: dict, label: str, runs: list[tuple[float, float, float]]) -> None:
    for name, index in FIGURES.items():
        report[f"{label}_{name}_s"] = median(runs, index)


def ratios(report: dict) -> None:
    for label in ("incremental", "changed_only"):
        for name in FIGURES:
            report[f"ratio_{label}_{name}"] = round(report[f"{label}_{name}_s"] / report[f"full_refresh_{name}_s"], 3)


def median(runs: list[tuple[float, float, float]], index: int) -> float:
    return round(statistics.median(r[index] for r in runs), 2)


def retime(args: argparse.Namespace, work: Path, out: Path, common: tuple[str, ...]) -> int:
    """Re-time dbt after a change to the dbt code only, on what an earlier run kept in ``--work``:
    the synced snapshot (``snapshot.duckdb``) and the already advanced store. The full refreshes
    run on copies of the snapshot; the change batch is synced again on top of the last one."""
    db, snapshot_db, incremental_db = work / "cd2.duckdb", work / "snapshot.duckdb", work / "incremental.duckdb"
    cmd = args.command
    # the sizes of the kept run come from its report (the `run` one when this command has none yet)
    base = out if out.exists() else out.with_name(f"dbt_incremental_{args.profile}.json")
    report = json.loads(base.read_text(encoding="utf-8"))
    warm_parse(db, work)
    full = timed_runs(db, snapshot_db, work, args.repeat, cmd, *SELECT, "--full-refresh", *common)
    institution = Institution.open(work / "store")
    tables = institution.store.tables()
    with FakeDapServer(institution.store, ServerConfig()) as server:
        change_s, change_rows = sync(server.url, db, tables, work / "sync")
    print(f"incremental sync again: {change_rows} rows in {change_s:.0f}s", flush=True)
    shutil.copyfile(db, incremental_db)
    incremental = timed_runs(db, incremental_db, work, args.repeat, cmd, *SELECT, *common)
    skipped = unchanged_models(incremental_db, ROOT)
    print(f"unchanged tables left out by cd2 run: {len(skipped)} of {len(tables)}", flush=True)
    # bench/dbt_inprocess.py finds them again and leaves them out as cd2 run does
    changed_only = timed_runs(db, incremental_db, work, args.repeat, "--skip-unchanged", cmd, *SELECT, *common)
    report = {k: v for k, v in report.items() if not k.startswith(("ratio_", "noop_")) and not k.endswith("_s")}
    report.update(
        {
            "retimed": True,
            "command": args.command,
            "repeat": args.repeat,
            "change_rows": change_rows,
            "incremental_sync_s": round(change_s, 1),
            "changed_only_models": len(tables) - len(skipped),
            "runs": {"full_refresh": full, "incremental": incremental, "changed_only": changed_only},
        }
    )
    figures(report, "full_refresh", full)
    figures(report, "incremental", incremental)
    figures(report, "changed_only", changed_only)
    ratios(report)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=2))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="large")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hours", type=float, default=4.0, help="hours of activity in the change batch")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", default="2")
    parser.add_argument(
        "--command",
        choices=("run", "build"),
        default="run",
        help="dbt run (models only) or dbt build (models and their data tests)",
    )
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--out", type=Path, default=None, help="JSON report (default: bench/results/...)")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="re-time on snapshot.duckdb / incremental.duckdb kept in --work by an earlier run (no sync)",
    )
    args = parser.parse_args()
    suffix = "" if args.command == "run" else f"_{args.command}"
    out = args.out or ROOT / "bench" / "results" / f"dbt_incremental_{args.profile}{suffix}.json"
    work = args.work or Path(tempfile.mkdtemp(prefix="dbt-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    cmd, common = args.command, ("--threads", args.threads, "--vars", dbt_vars(ROOT))

    if args.reuse:
        return retime(args, work, out, common)

    started = time.monotonic()
    template = ensure_generated(args.profile, args.seed, progress=lambda m: print(f"  {m}", flush=True))
    print(f"institution ready in {time.monotonic() - started:.0f}s: {template.profile.description}", flush=True)
    store_copy = work / "store"
    shutil.rmtree(store_copy, ignore_errors=True)
    institution = Institution.open(shutil.copytree(template.store.root, store_copy))
    tables = institution.store.tables()
    db, snapshot_db, incremental_db = work / "cd2.duckdb", work / "snapshot.duckdb", work / "incremental.duckdb"
    db.unlink(missing_ok=True)

    with FakeDapServer(institution.store, ServerConfig(), advance=institution.advance) as server:
        snapshot_s, snapshot_rows = sync(server.url, db, tables, work / "sync")
        print(f"snapshot sync: {snapshot_rows} rows in {snapshot_s:.0f}s", flush=True)
        warm_parse(db, work)
        shutil.copyfile(db, snapshot_db)
        # --vars: the on-run-end hook records the code fingerprint, as `cd2 run` does
        full = timed_runs(db, snapshot_db, work, args.repeat, cmd, *SELECT, "--full-refresh", *common)
        shutil.copyfile(db, snapshot_db)  # the snapshot, with its current state built
        noop = timed_runs(db, snapshot_db, work, 1, cmd, *SELECT, *common)
        shutil.copyfile(snapshot_db, db)
        server.advance(args.hours)
        change_s, change_rows = sync(server.url, db, tables, work / "sync")
    state_rows = current_rows(snapshot_db)
    print(f"incremental sync: {change_rows} rows in {change_s:.0f}s ({change_rows / state_rows:.2%})", flush=True)
    shutil.copyfile(db, incremental_db)
    incremental = timed_runs(db, incremental_db, work, args.repeat, cmd, *SELECT, *common)
    # What `cd2 run` does: leave out the models whose tables got nothing new in the batch.
    skipped = unchanged_models(incremental_db, ROOT)
    print(f"unchanged tables left out by cd2 run: {len(skipped)} of {len(tables)}", flush=True)
    # bench/dbt_inprocess.py finds them again and leaves them out as cd2 run does
    changed_only = timed_runs(db, incremental_db, work, args.repeat, "--skip-unchanged", cmd, *SELECT, *common)

    report = {
        "profile": args.profile,
        "command": args.command,
        "seed": args.seed,
        "hours": args.hours,
        "threads": int(args.threads),
        "repeat": args.repeat,
        "current_state_rows": state_rows,
        "change_rows": change_rows,
        "change_fraction": round(change_rows / state_rows, 5),
        "snapshot_sync_s": round(snapshot_s, 1),
        "incremental_sync_s": round(change_s, 1),
        "changed_only_models": len(tables) - len(skipped),
        "runs": {
            "full_refresh": full,
            "incremental": incremental,
            "changed_only": changed_only,
            "noop_incremental": noop,
        },
    }
    for label, runs in (("full_refresh", full), ("incremental", incremental), ("changed_only", changed_only)):
        figures(report, label, runs)
    figures(report, "noop_incremental", noop)
    ratios(report)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in report.items() if k != "runs"}, indent=2))
    print(f"wrote {out}")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
