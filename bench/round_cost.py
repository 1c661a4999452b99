"""The scheduled round's cost against a full build: the whole ``cd2 run`` (sync, every layer, tests,
docs) after about 1 % of change, divided by the first ``cd2 run`` into an empty file (snapshot
sync, every model built, tests, docs site).

Every table of every bundled namespace, against the fake API (no rate limits, renders cached
across runs as the real API reuses identical queries: the round's jobs are rendered, untimed,
before the round). Each repetition starts from the same state: the full build's database, dbt
target folder and institution, copied back into the same folder (the DuckDB path is part of
dbt's profile: another path would reparse the project, which a scheduled round never does);
then the institution moves ``--hours`` on and ``cd2 run`` is timed. Medians over ``--repeat``
runs of both.

Usage:
    .venv/bin/python bench/round_cost.py --profile demo --hours 6 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import duckdb  # noqa: E402
from code_version import cd2_code_version  # noqa: E402
from vs_dap_client import STEP_LINE, Timed, server_config, timed, utc_stamp  # noqa: E402

from extract.dap.auth import Credentials  # noqa: E402
from extract.dap.client import DapClient  # noqa: E402
from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer  # noqa: E402
from extract.schema import namespaces  # noqa: E402
from extract.synth import Institution, ensure_generated  # noqa: E402
from extract.timeutil import iso_z  # noqa: E402

# the interpreter running this script, on the checkout it lives in
CD2 = [sys.executable, "-m", "extract.cli"]
ROUND_LINE_PREFIXES = ("sync:", "current state:", "round:", "dbt ", "docs site:", "report site:")


def _env(url: str, work: Path) -> dict[str, str]:
    return dict(
        os.environ,
        DAP_API_URL=url,
        DAP_CLIENT_ID=DEFAULT_CLIENT_ID,
        DAP_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
        CD2_PSEUDONYM_SECRET=os.environ.get("CD2_PSEUDONYM_SECRET", "bench-only-not-a-secret"),
        CD2_TABLES="all",
        CD2_NAMESPACES=",".join(namespaces()),
        CD2_DB=str(work / "cd2.duckdb"),
        CD2_PUBLISH="false",
        DBT_TARGET_PATH=str(work / "target"),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        COLUMNS="240",
    )


def _cd2_run(url: str, work: Path) -> tuple[Timed, dict[str, float], list[str]]:
    done = timed([*CD2, "run", "--no-rate-limit", "--progress", "never", "--project-dir", str(ROOT)], _env(url, work))
    steps: dict[str, float] = {}
    lines: list[str] = []
    for line in done.output.splitlines():
        if match := STEP_LINE.match(line.strip()):
            steps[match.group(1)] = float(match.group(2).replace(",", ""))
        if line.startswith(ROUND_LINE_PREFIXES):
            lines.append(line.strip())
    return done, steps, lines


def _watermarks(db: Path) -> dict[str, datetime]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT namespace || '.' || table_name, watermark FROM cd2_meta.table_state").fetchall()
    finally:
        con.close()
    return dict(rows)


def _prerender(url: str, since: dict[str, datetime]) -> float:
    """Render the round's jobs untimed (the fake renders on demand; the real API's job time is
    measured by bench/sync_limits.py, not here)."""
    started = time.monotonic()
    with DapClient(Credentials(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET), limits={}) as client:
        for qname in sorted(since):
            namespace, table = qname.split(".", 1)
            query: dict[str, Any] = {"format": "jsonl", "mode": "condensed", "since": iso_z(since[qname])}
            client.wait_for_job(client.start_job(namespace, table, query))
    return time.monotonic() - started


def _changed_rows(db: Path, after_batch: int) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            "SELECT coalesce(sum(rows), 0) FROM cd2_meta.batches WHERE batch_id > ? AND status = 'committed'",
            [after_batch],
        ).fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def _last_batch(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT coalesce(max(batch_id), 0) FROM cd2_meta.batches").fetchone()
    finally:
        con.close()
    return int(row[0]) if row else 0


def _copy(source: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)


def _fresh_live(pristine: Institution, live: Path) -> Institution:
    """An empty ``live`` folder with a copy of the pristine institution and an empty cd2 folder."""
    if live.exists():
        shutil.rmtree(live)
    _copy(pristine.store.root, live / "institution")
    (live / "cd2").mkdir(parents=True, exist_ok=True)
    return Institution.open(live / "institution")


def round_arguments(description: str | None, work: Path) -> argparse.Namespace:
    """The command line of a bench that times rounds of one institution (this script, report_cost.py)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hours", type=float, default=6.0, help="how far the institution moves for the round")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=work)
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args()


def main() -> int:
    args = round_arguments(__doc__, ROOT / ".cache" / "bench-round")

    pristine = ensure_generated(args.profile, args.seed, progress=lambda m: print(f"  {m}", flush=True))
    work = args.work / f"{args.profile}-seed{args.seed}"
    config = server_config(args.profile, args.seed)
    full_runs: list[dict[str, Any]] = []
    round_runs: list[dict[str, Any]] = []
    base, live = work / "base", work / "live"
    for number in range(args.repeat):
        institution = _fresh_live(pristine, live)
        with FakeDapServer(institution.store, config) as server:
            done, steps, lines = _cd2_run(server.url, live / "cd2")
        full_runs.append({"wall_s": round(done.seconds, 2), "steps": steps, "summary": lines})
        print(f"full build {number + 1}: {done.seconds:,.1f} s {steps}", flush=True)
        if number == 0:
            _copy(live, base)
    rows_before = _last_batch(base / "cd2" / "cd2.duckdb")
    for number in range(args.repeat):
        _copy(base, live)
        institution = Institution.open(live / "institution")
        db = live / "cd2" / "cd2.duckdb"
        with FakeDapServer(institution.store, config, advance=institution.advance) as server:
            server.advance(args.hours)
            rendered = _prerender(server.url, _watermarks(db))
            done, steps, lines = _cd2_run(server.url, live / "cd2")
        changed = _changed_rows(db, rows_before)
        round_runs.append({"wall_s": round(done.seconds, 2), "steps": steps, "changed_rows": changed, "summary": lines})
        print(f"round {number + 1}: {done.seconds:,.1f} s {steps}, {changed:,} rows (rendered {rendered:.1f} s)")
        for line in lines:
            print(f"    | {line}", flush=True)
    con = duckdb.connect(str(base / "cd2" / "cd2.duckdb"), read_only=True)
    current = con.execute("SELECT sum(rows) FROM cd2_meta.batches WHERE status = 'committed'").fetchone()
    con.close()
    full = statistics.median(r["wall_s"] for r in full_runs)
    one_round = statistics.median(r["wall_s"] for r in round_runs)
    report = {
        "bench": "round_cost",
        "when": utc_stamp(),
        "code_version": cd2_code_version(check_dirty=True),
        "profile": args.profile,
        "seed": args.seed,
        "hours": args.hours,
        "rows_at_full_build": int(current[0]) if current else None,
        "changed_rows": statistics.median(r["changed_rows"] for r in round_runs),
        "full_build_median_s": full,
        "round_median_s": one_round,
        "round_over_full": round(one_round / full, 3),
        "full_runs": full_runs,
        "round_runs": round_runs,
    }
    print(json.dumps({k: v for k, v in report.items() if not k.endswith("_runs")}), flush=True)
    out = args.out or ROOT / "bench" / "results" / f"round_cost_{args.profile}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
