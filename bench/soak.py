"""Soak: the crash suite's trials many times over, then many scheduled rounds in a row.

The long part of ``extract/tests/test_crash_suite.py`` (which runs each trial once or twice in
``make test``), for the scheduled workflow:

1. Trials, ``--trials`` of each class (seeds derived from ``--seed``): ``kill -9`` of ``cd2 sync``
   (snapshot and incremental) and of the dbt build (``cd2 run --skip-sync``; first and incremental
   build), each fault class of the fake server (``sync_helpers.FAULT_CLASSES``), a full disk
   (a small tmpfs, root only; during downloads and during landing) and DuckDB's temporary
   directory limit. Each trial passes when the re-run ends equal, row for row, to a clean run
   (or the truth), with nothing lost, nothing doubled and no watermark without its data.
2. Rounds, ``--rounds`` in a row of ``cd2 run`` (sync + build of the current state, no docs) on
   one institution whose clock advances ``--hours`` each round, with a recoverable server fault
   armed in a ``--fault-rate`` share of them. After every round the raw data and the current
   state are checked against the truth; the round's wall time, the peak RSS of the ``cd2 run``
   process, the database file's size and the rows landed are recorded, to show they stay flat
   (time, memory) or grow with the data (file size).

Writes ``--out`` (JSON; default ``bench/results/soak_<profile>.json``) after every class and
every round, and prints a markdown summary at the end (``--report FILE`` prints it again from a
results file). Exit code 1 if any trial or round failed.

Usage:
    .venv/bin/python bench/soak.py                          # 20 trials per class, 100 rounds (~1.5 h)
    .venv/bin/python bench/soak.py --trials 2 --rounds 5    # a quick look (~6 min)
    .venv/bin/python bench/soak.py --report bench/results/soak_tiny.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DEFAULT_TRIALS = 20
DEFAULT_ROUNDS = 100
WINDOW = 10  # rounds compared at the start and the end of the run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--profile", default="tiny", help="synthetic institution (default tiny; the disk trials need it)"
    )
    parser.add_argument("--seed", type=int, default=1, help="institution seed; trial seeds derive from it")
    parser.add_argument("--trials", type=int, default=DEFAULT_TRIALS, help="trials per class (default 20)")
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS, help="consecutive cd2 run rounds (default 100)")
    parser.add_argument("--hours", type=float, default=4.0, help="institution clock advance per round")
    parser.add_argument("--fault-rate", type=float, default=0.1, help="share of rounds with a server fault armed")
    parser.add_argument("--select", default="tag:cd2_current_state", help="what each round builds (dbt selection)")
    parser.add_argument("--only", choices=("trials", "rounds"), help="run one part only")
    parser.add_argument("--out", type=Path, help="results JSON (default bench/results/soak_<profile>.json)")
    parser.add_argument("--work-dir", type=Path, help="scratch folder (default: a temporary one, removed)")
    parser.add_argument("--report", type=Path, help="only print the summary of an existing results file")
    args = parser.parse_args(argv)
    if args.trials < 0 or args.rounds < 0:
        parser.error("--trials and --rounds must be >= 0")
    if not 0.0 <= args.fault_rate <= 1.0:
        parser.error("--fault-rate is a share, between 0 and 1")
    if args.out is None:
        args.out = ROOT / "bench" / "results" / f"soak_{args.profile}.json"
    return args


# ---- the run ------------------------------------------------------------------------------------------
class Soak:
    def __init__(self, args: argparse.Namespace, work: Path) -> None:
        from code_version import cd2_code_version

        self.args = args
        self.work = work
        self.results: dict[str, Any] = {
            "meta": {
                "started_at": _now(),
                "profile": args.profile,
                "seed": args.seed,
                "trials_per_class": args.trials if args.only in (None, "trials") else 0,
                "rounds": args.rounds if args.only in (None, "rounds") else 0,
                "hours_per_round": args.hours,
                "fault_rate": args.fault_rate,
                "select": args.select,
                "code_version": _safe(cd2_code_version),
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            },
            "classes": {},
            "rounds": [],
        }
        self.failed = False

    def institution(self, name: str) -> Any:
        from extract.synth import Institution, ensure_generated

        template = ensure_generated(self.args.profile, self.args.seed, self.work / "synth")
        dest = self.work / name
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(template.store.root, dest)
        return Institution.open(dest)

    def save(self) -> None:
        self.results["meta"]["updated_at"] = _now()
        self.args.out.parent.mkdir(parents=True, exist_ok=True)
        self.args.out.write_text(json.dumps(self.results, indent=2, default=str) + "\n", encoding="utf-8")

    def seeds(self, salt: int) -> list[int]:
        rng = random.Random(self.args.seed * 1_000_003 + salt)
        return [rng.randrange(1, 2**31) for _ in range(self.args.trials)]

    def tally(self, results: list[Any]) -> None:
        from extract.tests.sync_helpers import ClassTally

        for result in results:
            entry = self.results["classes"].setdefault(result.name, asdict(ClassTally()))
            tally = ClassTally(**{k: entry[k] for k in asdict(ClassTally()) if k in entry})
            tally.add(
                result.passed, result.lost, result.doubled, f"seed {result.seed}: {result.detail}", result.interrupted
            )
            entry.update(asdict(tally))
            if result.max_rss_kb:  # subprocess trials only; in-process ones share this process
                entry["max_rss_mb"] = max(entry.get("max_rss_mb", 0.0), round(result.max_rss_kb / 1024, 1))
            self.failed |= not result.passed
        self.save()

    def note(self, name: str, reason: str) -> None:
        self.results["classes"].setdefault(name, {})["skipped"] = reason
        self.save()

    # ---- part 1 -----------------------------------------------------------------------------------
    def trials(self) -> None:
        from extract.tests import sync_helpers as h

        n = self.args.trials
        if n == 0:
            return
        institution = self.institution("trials-store")
        with h.serving(institution) as server:
            _say(f"kill -9 of cd2 sync: {n} trials of each kind")
            bench = h.SyncKillBench(server, self.work / "sync")
            for i, seed in enumerate(self.seeds(1)):
                self.tally([bench.trial(seed, kind) for kind in h.SyncKillBench.KINDS])
                _say(f"  {i + 1}/{n}")
            shutil.rmtree(self.work / "sync", ignore_errors=True)

            _say(f"kill -9 of the dbt build: {n} trials of each kind")
            build = h.BuildKillBench(server, self.work / "build", h.BUILD_TABLES, h.BUILD_SELECT)
            for i, seed in enumerate(self.seeds(2)):
                self.tally([build.trial(seed, kind) for kind in h.BuildKillBench.KINDS])
                _say(f"  {i + 1}/{n}")
            shutil.rmtree(self.work / "build", ignore_errors=True)

            _say(f"server faults: {len(h.FAULT_CLASSES)} classes, {n} trials each")
            db = self.work / "faults" / "cd2.duckdb"
            db.parent.mkdir(parents=True, exist_ok=True)
            assert h.run_sync(server, db, h.FAULT_TABLES).ok
            for i in range(n):
                for index, fault_class in enumerate(h.FAULT_CLASSES):
                    if index % 3 == 0:
                        server.advance(1)
                    outcome = fault_trial_result(h, server, db, fault_class, i)
                    self.tally([outcome])
                _say(f"  {i + 1}/{n}")

            _say(f"full disk: {n} trials of each phase")
            if self.args.profile != "tiny":
                self.note("disk full", "the free space left in each phase is tuned for the tiny institution")
            else:
                try:
                    with h.small_filesystem(self.work / "disk", 64 * 2**20) as disk:
                        for i in range(n):
                            self.tally([h.disk_full_trial(server, disk, phase, i) for phase in h.DISK_PHASES])
                except h.CannotMountError as exc:
                    self.note("disk full (download)", str(exc))
                    self.note("disk full (database)", str(exc))
            temp = self.work / "temp-limit"
            temp.mkdir(exist_ok=True)
            self.tally([h.temp_dir_full_trial(server, temp, i) for i in range(n)])

    # ---- part 2 -----------------------------------------------------------------------------------
    def rounds(self) -> None:
        from extract.tests import sync_helpers as h
        from extract.tests.dbt_helpers import current_state_mismatches

        n = self.args.rounds
        if n == 0:
            return
        institution = self.institution("rounds-store")
        run = self.work / "rounds"
        run.mkdir(parents=True, exist_ok=True)
        db = run / "cd2.duckdb"
        config = run / "cd2.yml"
        config.write_text(f"db: {db}\ndbt: {{select: '{self.args.select}', docs: false}}\n", encoding="utf-8")
        rng = random.Random(self.args.seed * 7919)
        recoverable = [c for c in h.FAULT_CLASSES if not c.persistent]
        with h.serving(institution) as server:
            env = h.cli_env(server.url, DBT_TARGET_PATH=str(run / "target"))
            command = h.cd2_command(
                "run", "--config", str(config), "--progress", "never", "--no-docs", "--no-rate-limit"
            )
            tables = h.default_tables(server.store)  # cd2.yml here names no namespace
            for number in range(1, n + 1):
                if number > 1:
                    server.advance(self.args.hours)
                fault_class = rng.choice(recoverable) if rng.random() < self.args.fault_rate else None
                faults = fault_class.make() if fault_class else []
                server.faults.add(*faults)
                done = h.run_child(command, env, cwd=ROOT, log=run / "last-round.log")
                server.faults.clear()
                damage = h.landing_damage(db, server.store, tables)
                current = current_state_mismatches(db, server.store, tables)
                record = {
                    "round": number,
                    "seconds": round(done.seconds, 2),
                    "exit": done.returncode,
                    "max_rss_mb": round(done.max_rss_kb / 1024, 1),
                    "db_bytes": _size(db),
                    "raw_rows": _raw_rows(db),
                    "fault": fault_class.name if fault_class else None,
                    "fault_fired": sum(f.fired for f in faults),
                    "rows_lost": damage.lost,
                    "rows_extra": damage.extra,
                    "rows_doubled": damage.doubled,
                    "orphans": damage.orphans,
                    "current_state_mismatches": {k: list(v) for k, v in current.items()},
                }
                record["ok"] = done.returncode == 0 and damage.clean and not current
                if not record["ok"]:
                    self.failed = True
                    failed_log = run / f"round-{number}.log"
                    shutil.copyfile(run / "last-round.log", failed_log)
                    record["log"] = str(failed_log)
                self.results["rounds"].append(record)
                self.save()
                _say(
                    f"round {number}/{n}: {'ok' if record['ok'] else 'FAILED'} in {record['seconds']}s, "
                    f"{record['max_rss_mb']} MB RSS, {record['db_bytes'] / 2**20:.1f} MiB file, "
                    f"{record['raw_rows']} raw rows" + (f", fault: {record['fault']}" if fault_class else "")
                )


def fault_trial_result(h: Any, server: Any, db: Path, fault_class: Any, seed: int) -> Any:
    """A server-fault trial as a TrialResult (``fault_trial`` reports a FaultOutcome)."""
    outcome = h.fault_trial(server, db, fault_class)
    detail = f"fired {outcome.fired}" + (f"; {outcome.detail}" if outcome.detail else "")
    return h.TrialResult(
        f"server fault: {fault_class.name}", seed, outcome.passed, outcome.damage.lost, outcome.damage.doubled,
        False, detail,
    )  # fmt: skip


def _size(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + ".wal")) if p.exists())


def _raw_rows(db: Path) -> int:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT coalesce(sum(rows), 0) FROM cd2_meta.batches WHERE status = 'committed'").fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


# ---- the summary -------------------------------------------------------------------------------------
def summarise(results: dict[str, Any]) -> dict[str, Any]:
    """Figures that say whether rounds stay flat: start vs end round time, peak memory, file size
    growth against data growth."""
    rounds = [r for r in results.get("rounds", []) if r.get("exit") is not None]
    out: dict[str, Any] = {"rounds": len(rounds), "rounds_ok": sum(1 for r in rounds if r.get("ok"))}
    if not rounds:
        return out
    window = min(WINDOW, max(1, len(rounds) // 2))
    # round 1 is the initial snapshot: the steady state starts with round 2
    steady = rounds[1:] if len(rounds) > 2 else rounds
    window = min(window, max(1, len(steady) // 2))
    first, last = steady[:window], steady[-window:]
    out["window"] = window
    out["median_seconds_first"] = round(statistics.median(r["seconds"] for r in first), 2)
    out["median_seconds_last"] = round(statistics.median(r["seconds"] for r in last), 2)
    out["max_rss_mb"] = max(r["max_rss_mb"] for r in rounds)
    out["max_rss_mb_first"] = max(r["max_rss_mb"] for r in first)
    out["max_rss_mb_last"] = max(r["max_rss_mb"] for r in last)
    base, end = steady[0], rounds[-1]
    out["db_mib_first"] = round(base["db_bytes"] / 2**20, 1)
    out["db_mib_last"] = round(end["db_bytes"] / 2**20, 1)
    out["raw_rows_first"] = base["raw_rows"]
    out["raw_rows_last"] = end["raw_rows"]
    if base["db_bytes"] and base["raw_rows"]:
        out["db_growth"] = round(end["db_bytes"] / base["db_bytes"], 3)
        out["data_growth"] = round(end["raw_rows"] / base["raw_rows"], 3)
    out["rounds_with_fault"] = sum(1 for r in rounds if r.get("fault"))
    out["rows_lost"] = sum(r.get("rows_lost", 0) for r in rounds)
    out["rows_doubled"] = sum(r.get("rows_doubled", 0) for r in rounds)
    return out


def render(results: dict[str, Any]) -> str:
    meta = results.get("meta", {})
    lines = [
        f"## Soak: {meta.get('profile', '?')} institution, code {meta.get('code_version', '?')}",
        "",
        f"{meta.get('trials_per_class', '?')} trials per class; {meta.get('rounds', '?')} rounds of `cd2 run` "
        f"({meta.get('hours_per_round', '?')} h of the institution's clock each, a server fault in "
        f"{meta.get('fault_rate', '?')} of them); {meta.get('machine', '')}.",
        "",
        "| class | trials | passes | rows lost | rows doubled | kill while running | max RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in sorted(results.get("classes", {}).items()):
        if "skipped" in entry and not entry.get("trials"):
            lines.append(f"| {name} | skipped: {entry['skipped']} | | | | | |")
            continue
        killed = entry.get("interrupted", 0) if name.startswith("kill") else ""
        lines.append(
            f"| {name} | {entry.get('trials', 0)} | {entry.get('passes', 0)} | {entry.get('rows_lost', 0)} | "
            f"{entry.get('rows_doubled', 0)} | {killed} | {entry.get('max_rss_mb', '')} |"
        )
    summary = summarise(results)
    if summary["rounds"]:
        lines += [
            "",
            "| rounds | ok | with a fault | rows lost | rows doubled | median round s, first → last "
            "| max RSS MB, first → last | DB MiB (growth) | raw rows (growth) |",
            "|---:|---:|---:|---:|---:|---|---|---|---|",
            f"| {summary['rounds']} | {summary['rounds_ok']} | {summary['rounds_with_fault']} | "
            f"{summary['rows_lost']} | {summary['rows_doubled']} | "
            f"{summary['median_seconds_first']} → {summary['median_seconds_last']} (medians of {summary['window']}) | "
            f"{summary['max_rss_mb_first']} → {summary['max_rss_mb_last']} | "
            f"{summary['db_mib_first']} → {summary['db_mib_last']} (x{summary.get('db_growth', '?')}) | "
            f"{summary['raw_rows_first']} → {summary['raw_rows_last']} (x{summary.get('data_growth', '?')}) |",
        ]
    failures = [
        f"- {name}: {failure}" for name, entry in sorted(results.get("classes", {}).items())
        for failure in entry.get("failures", [])[:3]
    ]  # fmt: skip
    failures += [f"- round {r['round']}: see {r.get('log')}" for r in results.get("rounds", []) if not r.get("ok")]
    if failures:
        lines += ["", "Failures:", *failures]
    return "\n".join(lines)


# ---- main ---------------------------------------------------------------------------------------------
def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _safe(version: Any) -> str:
    try:
        return str(version())
    except Exception as exc:  # a tarball without git still soaks
        return f"unknown ({type(exc).__name__})"


def _say(text: str) -> None:
    print(f"{datetime.now(UTC):%H:%M:%S} {text}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report is not None:
        print(render(json.loads(args.report.read_text(encoding="utf-8"))))
        return 0
    os.environ.setdefault("CD2_PSEUDONYM_SECRET", "cd2-soak-not-a-secret")
    # The in-process trials fail tables on purpose: their error logs would bury the progress lines.
    logging.disable(logging.CRITICAL)
    owned = args.work_dir is None
    work = Path(tempfile.mkdtemp(prefix="cd2-soak-")) if owned else args.work_dir
    work.mkdir(parents=True, exist_ok=True)
    soak = Soak(args, work)
    started = time.monotonic()
    try:
        if args.only in (None, "trials"):
            soak.trials()
        if args.only in (None, "rounds"):
            soak.rounds()
    finally:
        soak.results["meta"]["seconds"] = round(time.monotonic() - started, 1)
        soak.results["summary"] = summarise(soak.results)
        soak.save()
        if owned:
            shutil.rmtree(work, ignore_errors=True)
    print(render(soak.results))
    print(f"\nresults: {args.out}")
    return 1 if soak.failed else 0


if __name__ == "__main__":
    sys.exit(main())
