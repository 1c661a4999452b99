"""Where one ``cd2 run`` incremental round spends its time, step by step, on the benchmark's data.

Sets up what ``vs_dap_client.py`` times (the same fake API, institution, tables and ``cd2.yml``,
without the official client): an initial ``cd2 run``, the institution advanced by the same round
size, the round's jobs rendered; then runs the round's ``cd2 run`` in a child process that wraps
the functions of ``extract/run.py`` and the CLI with timers, without changing the timed code.

Prints the wall time of the round and a timeline: process start to ``main``, the CLI set-up
(config, logging, client), each step of ``run_all`` (sync, the freshness and nothing-to-merge
checks, the dbt import, parse and build), and what is left (the summary, interpreter exit).

Usage:
    .venv/bin/python bench/cd2_round_profile.py --profile large [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CHILD_FLAG = "--child"


def _child(argv: list[str]) -> int:
    """The round's ``cd2 run``, with timers around the pieces of ``run_all``."""
    started_wall = time.time()  # the parent's clock too: interpreter start-up and exit are outside this process's view
    started = time.monotonic()
    timeline: list[tuple[str, float, float]] = []

    def timed(module: Any, name: str, label: str) -> None:
        original = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            begin = time.monotonic()
            try:
                return original(*args, **kwargs)
            finally:
                timeline.append((label, begin - started, time.monotonic() - begin))

        setattr(module, name, wrapper)

    sys.path.insert(0, str(ROOT))
    # the modules `cd2 run` imports before its first step, in its order, each timed
    modules = (
        "extract.cli",
        "rich.console",
        "extract.config",
        "extract.logs",
        "extract.pseudonym",
        "extract.run",
        "extract.sync.progress",
    )
    for module in modules:
        begin = time.monotonic()
        __import__(module)
        timeline.append((f"import {module}", begin - started, time.monotonic() - begin))
    import extract.cli as cli
    import extract.config as config
    import extract.logs as logs
    import extract.run as run

    timed(config, "load", "load cd2.yml")
    timed(logs, "configure", "configure logging")
    for name, label in (
        ("run_sync_step", "sync step"),
        ("select_tables", "  list tables (API)"),
        ("data_freshness", "freshness check (DuckDB)"),
        ("unchanged_models", "nothing-to-merge check (DuckDB)"),
        ("dbt_vars", "dbt vars"),
        ("run_dbt", "dbt build"),
        ("format_summary", "summary"),
    ):
        timed(run, name, label)
    timed(cli, "_client", "API client + login")

    def import_dbt() -> None:
        begin = time.monotonic()
        import dbt.adapters.duckdb
        import dbt.cli.main  # noqa: F401

        timeline.append(("  of which: import dbt + adapter", begin - started, time.monotonic() - begin))

    original_parse = run.parse_project

    def parse_after_import(*args: Any, **kwargs: Any) -> Any:
        import_dbt()
        return original_parse(*args, **kwargs)

    run.parse_project = parse_after_import
    timed(run, "parse_project", "dbt import + parse (in a thread)")
    code = cli.main(argv)
    timeline.append(("main returned", time.monotonic() - started, 0.0))
    # what interpreter exit would do first: close dbt's DuckDB connection (DuckDB checkpoints then)
    begin = time.monotonic()
    from dbt.adapters.factory import reset_adapters

    reset_adapters()
    timeline.append(("close dbt's connections", begin - started, time.monotonic() - begin))
    print("TIMELINE " + json.dumps({"started_wall": started_wall, "steps": timeline}), flush=True)
    return code


def _parent(args: argparse.Namespace) -> int:
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    import duckdb
    import vs_dap_client as bench

    from extract.fake_dap import FakeDapServer
    from extract.synth import Institution, ensure_generated

    pristine = ensure_generated(args.profile, args.seed, progress=lambda m: print(f"  {m}", flush=True))
    hours = args.advance_hours or bench.ADVANCE_HOURS[args.profile]
    keep = args.keep is not None
    with tempfile.TemporaryDirectory(prefix="cd2-round-profile-") if not keep else nullcontext(args.keep) as tmp:
        if keep and Path(tmp).exists():
            raise SystemExit(f"--keep {tmp}: already exists")
        work, cd2_dir = Path(tmp) / "work", Path(tmp) / "cd2"
        bench.warm_parse(cd2_dir)
        shutil.copytree(pristine.store.root, work / "institution")
        institution = Institution.open(work / "institution")
        config = bench.server_config(args.profile, args.seed)
        with FakeDapServer(institution.store, config, advance=institution.advance) as server:
            side = bench.Side(server.url, cd2_dir, "", "")
            bench.prerender(server.url, {})
            initial, steps = side.cd2_run()
            print(f"initial cd2 run (untimed set-up): {initial.seconds:,.1f} s {steps}", flush=True)
            for round_no in range(1, args.rounds + 1):
                con = duckdb.connect(str(side.db), read_only=True)
                since = dict(
                    con.execute("SELECT namespace || '.' || table_name, watermark FROM cd2_meta.table_state").fetchall()
                )
                con.close()
                server.advance(hours)
                bench.prerender(server.url, since)
                command = [sys.executable, str(Path(__file__)), CHILD_FLAG, "run", "--no-rate-limit", "--no-docs"]
                command += ["--progress", "never", "--project-dir", str(ROOT)]
                begin, begin_wall = time.monotonic(), time.time()
                done = subprocess.run(command, env=side.env, cwd=ROOT, capture_output=True, text=True, check=False)
                wall = time.monotonic() - begin
                if done.returncode != 0:
                    print(done.stdout[-4000:], done.stderr[-4000:], sep="\n")
                    raise SystemExit(f"round {round_no}: cd2 run failed ({done.returncode})")
                lines = (done.stdout + done.stderr).splitlines()
                traced = json.loads(next(line for line in lines if line.startswith("TIMELINE "))[9:])
                start_up = traced["started_wall"] - begin_wall
                print(f"\nround {round_no} ({hours:g} h): wall {wall:,.2f} s; seconds since the process started:")
                print(f"  {0.0:7.2f}  {'interpreter start-up':<40} {start_up:6.2f} s")
                # by start: the parse thread's steps are recorded when they end, overlapping the sync
                for label, at, seconds in sorted(traced["steps"], key=lambda step: step[1]):
                    print(f"  {at + start_up:7.2f}  {label:<40} {seconds:6.2f} s")
                done_at = max(at + seconds for _, at, seconds in traced["steps"]) + start_up
                print(f"  {wall:7.2f}  {'interpreter exit':<40} {wall - done_at:6.2f} s")
                for line in lines:
                    if bench.STEP_LINE.match(line.strip()) or line.startswith("current state"):
                        print(f"    | {line.strip()}")
    return 0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == CHILD_FLAG:
        return _child(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--advance-hours", type=float, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="work in this new folder and keep it")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    return _parent(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
