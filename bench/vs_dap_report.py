"""The figures of ``bench/vs_dap_client.py`` as Markdown, from its results file.

Prints, for each profile, the table of medians with ratios and the single runs, then the
scaling table (the same figures side by side for every profile, with each side's rows per
second), so ``bench/README.md`` quotes the results file instead of retyping it. Runs nothing.

Usage:
    .venv/bin/python bench/vs_dap_report.py [--results bench/results/vs_dap_client.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROFILE_ORDER = ("tiny", "demo", "large")
TIMES = "\u00d7"  # the multiplication sign, as in the README ("8.6 times")


def _s(seconds: float) -> str:
    return f"{seconds:,.1f} s"


def _steps(steps: dict[str, float]) -> str:
    order = ("sync", "dbt parse", "dbt build")
    named = [(name, steps[name]) for name in order if name in steps]
    return ", ".join(f"{name.removeprefix('dbt ')} {value:,.1f}" for name, value in named)


def _ratio(dap_s: float, cd2_s: float) -> str:
    ratio = dap_s / cd2_s
    return f"**{ratio:,.1f}{TIMES}** faster" if ratio >= 1 else f"{ratio:,.1f}{TIMES} (slower)"


def _runs_line(runs: list[dict[str, Any]], phase: str, dap_key: str) -> str:
    dap = " / ".join(f"{r[phase][dap_key]:,.1f}" for r in runs)
    cd2 = " / ".join(f"{r[phase]['cd2_total_s']:,.1f}" for r in runs)
    return f"dap {dap} s against cd2 {cd2} s"


def profile_table(name: str, entry: dict[str, Any]) -> list[str]:
    summary, runs = entry["summary"], entry["runs"]
    init, inc = summary["initial"], summary["incremental"]
    rows = sum(summary["rows"].values())
    dap_disk = statistics.median(r["incremental"]["pg_disk_mb"] for r in runs)
    duck_disk = statistics.median(r["incremental"]["duckdb_disk_mb"] for r in runs)
    median = "median of 3" if summary["runs"] == 3 else f"median of {summary['runs']}"
    if summary["runs"] == 1:
        median = "1 run (of the 3 the issue asks for)"
    return [
        f"`{name}`: {rows:,} rows in the {len(summary['rows'])} tables; the incremental round is "
        f"{summary['advance_hours']:g} hours of activity, {inc['changed_rows']:,.0f} changed rows "
        f"({inc['changed_pct']} %). {median[0].upper()}{median[1:]}; equal data: "
        f"{'yes, every run' if summary['equal'] else 'NO'}; cd2 code version {summary.get('cd2_code') or 'unknown'}.",
        "",
        "| step | dap (PostgreSQL) | cd2 run (DuckDB) | ratio |",
        "|---|---|---|---|",
        f"| initial load → current state | `initdb` {_s(init['dap_initdb_s'])} | {_s(init['cd2_total_s'])} "
        f"({_steps(init['cd2_steps_s'])}) | {_ratio(init['dap_initdb_s'], init['cd2_total_s'])} |",
        f"| incremental round, {inc['changed_rows']:,.0f} rows | `syncdb` {_s(inc['dap_syncdb_s'])} | "
        f"{_s(inc['cd2_total_s'])} ({_steps(inc['cd2_steps_s'])}) | "
        f"{_ratio(inc['dap_syncdb_s'], inc['cd2_total_s'])} |",
        f"| peak RSS, initial / incremental | {init['dap_rss_mb']:,.0f} / {inc['dap_rss_mb']:,.0f} MB | "
        f"{init['cd2_rss_mb']:,.0f} / {inc['cd2_rss_mb']:,.0f} MB | |",
        f"| disk after the round | {dap_disk:,.0f} MB (tables + indexes) | "
        f"{duck_disk:,.0f} MB (raw change logs + current state) | |",
        "",
        f"Single runs: initial {_runs_line(runs, 'initial', 'dap_initdb_s')}; "
        f"incremental {_runs_line(runs, 'incremental', 'dap_syncdb_s')}.",
        *run_speeds(runs, rows),
        *resumed_runs(runs),
    ]


def run_speeds(runs: list[dict[str, Any]], rows: int) -> list[str]:
    """How fast the machine was in each run, and each run's ratios: a median taken over runs on
    machines of different speed says so. Runs recorded before steps had start times are left out."""
    parts = []
    for number, run in enumerate(runs, start=1):
        first = next(iter(run.get("steps", {}).values()), None)
        if first is None or "started_at" not in first:
            continue
        init, inc = run["initial"], run["incremental"]
        parts.append(
            f"run {number} from {first['started_at']}, loop {first['cpu_calibration_s']:.2f} s, "
            f"`initdb` {rows / init['dap_initdb_s']:,.0f} rows/s, "
            f"{init['dap_initdb_s'] / init['cd2_total_s']:,.1f}{TIMES} / "
            f"{inc['dap_syncdb_s'] / inc['cd2_total_s']:,.1f}{TIMES}"
        )
    if not parts:
        return []
    return [
        "",
        "Machine speed and ratios (initial / round) per run; the loop is a fixed Python loop timed before "
        f"`dap`'s first step (shorter is faster): {'; '.join(parts)}.",
    ]


def resumed_runs(runs: list[dict[str, Any]]) -> list[str]:
    """A line per run whose steps were timed by more than one invocation of the benchmark (each
    step whole, but possibly on a machine running at another speed): when each step started and
    how long a fixed Python loop took just before it."""
    lines = []
    for number, run in enumerate(runs, start=1):
        if run.get("invocations", 1) <= 1:
            continue
        steps = "; ".join(
            f"{name} {step['started_at']} (invocation {step['invocation']}, loop {step['cpu_calibration_s']:.2f} s)"
            for name, step in run.get("steps", {}).items()
        )
        lines.append(
            f"Run {number} was resumed: {run['invocations']} invocations of the benchmark timed its steps: {steps}."
        )
    return ["", *lines] if lines else []


def scaling_table(profiles: dict[str, dict[str, Any]]) -> list[str]:
    names = sorted(profiles, key=lambda n: PROFILE_ORDER.index(n) if n in PROFILE_ORDER else len(PROFILE_ORDER))
    lines = [
        "| profile (runs) | rows | `initdb` | rows/s | cd2 initial | rows/s | ratio "
        "| round rows | `syncdb` | cd2 round | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        summary = profiles[name]["summary"]
        init, inc = summary["initial"], summary["incremental"]
        rows = sum(summary["rows"].values())
        lines.append(
            f"| `{name}` ({summary['runs']}) | {rows:,} | {_s(init['dap_initdb_s'])} | "
            f"{rows / init['dap_initdb_s']:,.0f} | {_s(init['cd2_total_s'])} | {rows / init['cd2_total_s']:,.0f} | "
            f"{init['dap_initdb_s'] / init['cd2_total_s']:,.1f}{TIMES} | {inc['changed_rows']:,.0f} | "
            f"{_s(inc['dap_syncdb_s'])} | {_s(inc['cd2_total_s'])} | "
            f"{inc['dap_syncdb_s'] / inc['cd2_total_s']:,.1f}{TIMES} |"
        )
    return lines


def report(results: dict[str, Any]) -> str:
    profiles = {name: entry for name, entry in results["profiles"].items() if entry.get("runs")}
    if not profiles:
        raise SystemExit("no finished runs in the results file")
    lines: list[str] = []
    for name in sorted(profiles, key=lambda n: PROFILE_ORDER.index(n) if n in PROFILE_ORDER else 99):
        lines += [*profile_table(name, profiles[name]), ""]
    lines += ["Scaling (medians; rows/s is the 7 tables' rows over the whole step):", "", *scaling_table(profiles)]
    lines += mixed_versions(profiles)
    return "\n".join(lines) + "\n"


def mixed_versions(profiles: dict[str, dict[str, Any]]) -> list[str]:
    """A warning under the scaling table when its rows timed different versions of the cd2 code."""
    codes = {name: entry["summary"].get("cd2_code") or "unknown" for name, entry in profiles.items()}
    if len(set(codes.values())) <= 1:
        return []
    listed = ", ".join(f"`{name}` {code}" for name, code in codes.items())
    return ["", f"The rows timed different versions of the cd2 code ({listed}): compare them with care."]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "vs_dap_client.json")
    args = parser.parse_args()
    sys.stdout.write(report(json.loads(args.results.read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
