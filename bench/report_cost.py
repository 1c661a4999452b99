"""The report site's cost within the scheduled round (issue 27): the seconds ``cd2 run`` spends
writing the report (its summary line ``report site: ... in S s``) divided by the whole round's
wall time, on the same round. Goal: under 10 % on ``demo``.

The round is ``bench/round_cost.py``'s: one full build (the first ``cd2 run`` into an empty file,
not timed here), then ``--repeat`` times: the full build's state copied back into the same folder,
the institution moved ``--hours`` on, its jobs rendered untimed, ``cd2 run`` timed. Then
``cd2 report`` alone (a new process, as a user runs it) ``--repeat`` times on the last round's
database. Medians of each.

Usage:
    .venv/bin/python bench/report_cost.py --profile demo --hours 6 --repeat 3
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from code_version import cd2_code_version  # noqa: E402
from round_cost import CD2, _cd2_run, _copy, _env, _fresh_live, _prerender, _watermarks, round_arguments  # noqa: E402
from vs_dap_client import server_config, timed, utc_stamp  # noqa: E402

from extract.fake_dap import FakeDapServer  # noqa: E402
from extract.synth import Institution, ensure_generated  # noqa: E402

REPORT_LINE = re.compile(r"^report site: .* in ([\d,.]+)s\)")


def _report_seconds(lines: list[str]) -> float:
    for line in lines:
        if match := REPORT_LINE.match(line):
            return float(match.group(1).replace(",", ""))
    raise SystemExit("the round's summary has no report site line:\n" + "\n".join(lines))


def main() -> int:
    args = round_arguments(__doc__, ROOT / ".cache" / "bench-report")

    pristine = ensure_generated(args.profile, args.seed, progress=lambda m: print(f"  {m}", flush=True))
    work = args.work / f"{args.profile}-seed{args.seed}"
    config = server_config(args.profile, args.seed)
    base, live = work / "base", work / "live"
    institution = _fresh_live(pristine, live)
    with FakeDapServer(institution.store, config) as server:
        done, steps, _ = _cd2_run(server.url, live / "cd2")
    print(f"full build (not timed for the ratio): {done.seconds:,.1f} s {steps}", flush=True)
    _copy(live, base)
    rounds: list[dict[str, Any]] = []
    for number in range(args.repeat):
        _copy(base, live)
        institution = Institution.open(live / "institution")
        db = live / "cd2" / "cd2.duckdb"
        with FakeDapServer(institution.store, config, advance=institution.advance) as server:
            server.advance(args.hours)
            _prerender(server.url, _watermarks(db))
            done, steps, lines = _cd2_run(server.url, live / "cd2")
        report_s = _report_seconds(lines)
        rounds.append({"wall_s": round(done.seconds, 2), "report_s": report_s, "steps": steps, "summary": lines})
        print(f"round {number + 1}: {done.seconds:,.1f} s, report {report_s:.1f} s", flush=True)
    alone: list[float] = []
    for number in range(args.repeat):
        out = live / "report-alone"
        command = [*CD2, "report", "--db", str(live / "cd2" / "cd2.duckdb"), "--out", str(out)]
        ran = timed([*command, "--project-dir", str(ROOT)], _env("http://127.0.0.1:9", live / "cd2"))
        if "report site:" not in ran.output:
            raise SystemExit(f"cd2 report failed:\n{ran.output[-3000:]}")
        alone.append(round(ran.seconds, 2))
        print(f"cd2 report alone {number + 1}: {ran.seconds:.2f} s", flush=True)
    round_s = statistics.median(r["wall_s"] for r in rounds)
    report_s = statistics.median(r["report_s"] for r in rounds)
    result = {
        "bench": "report_cost",
        "when": utc_stamp(),
        "code_version": cd2_code_version(check_dirty=True),
        "profile": args.profile,
        "seed": args.seed,
        "hours": args.hours,
        "round_median_s": round_s,
        "report_in_round_median_s": report_s,
        "report_over_round": round(report_s / round_s, 4),
        "cd2_report_alone_median_s": statistics.median(alone),
        "cd2_report_alone_over_round": round(statistics.median(alone) / round_s, 4),
        "rounds": rounds,
        "alone_s": alone,
    }
    print(json.dumps({k: v for k, v in result.items() if k not in ("rounds", "alone_s")}), flush=True)
    out = args.out or ROOT / "bench" / "results" / f"report_cost_{args.profile}.json"
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
