"""The scheduled round's cost against the web_logs history kept (issue 25): a ``cd2 run`` round
with 30, 90 and 180 days of ``canvas_logs.web_logs`` in the warehouse. Goal: the 180-day round
costs at most 1.2 x the 30-day one (the web-activity models are incremental, so a round should
not grow with the history the warehouse keeps past DAP's 30 days).

For each history length H of ``--days``, the same pristine institution and the same steps:

1. the first ``cd2 run`` into an empty file (snapshot sync of every table: web_logs holds the
   API's retention window, the last 30 days by ``meta.ts``), timed for context;
2. history (H > 30): ``ceil(H / 30) - 1`` copies of every web_logs row that run landed, copy k
   shifted back k x 30 days (``timestamp``, ``_meta_ts`` and ``_loaded_at``; only rows whose
   shifted ``timestamp`` is within H days of the newest one are kept, so H need not be a
   multiple of 30), each with a fresh ``id`` and, when it has one, a fresh ``session_id``
   (version-8 UUIDs from the md5 of the original and k: the synthetic API's are version 4, so
   they can never collide, and an old copy of a browser session is a session of its own).
   Each copy is appended to ``raw_canvas_logs.web_logs`` as one committed batch recorded in
   ``cd2_meta.batches`` as ``cd2 import`` would record it (kind incremental, reason import, its
   ``since``/``until``/``watermark``/times shifted like its rows; ``table_state`` keeps its
   watermark: the history is older than it), the oldest copy first, so batch ids grow with time
   as past rounds would have landed them;
3. a second ``cd2 run`` at the same instant (nothing new from the API): the round plan sees
   the new web_logs batches, so the current state merges them and every web-activity model,
   incremental ones included, takes them in by its usual incremental path (H = 30 runs it too,
   with nothing to add). Rows of web_logs (raw and current state) and of the web-activity models
   are counted and printed: about H/30 x the 30-day figures.

The state after step 3 (database, dbt target folder, institution) is copied aside, and each
repetition restores it into the same folder (the DuckDB path is part of dbt's profile: another
path would reparse the project), moves the institution ``--hours`` on, renders the round's jobs
untimed (bench/round_cost.py: ``_prerender``) and times ``cd2 run``. Repetitions go round-robin
over the history lengths (repetition 1 of every H, then 2, ...), so a machine's changing load
spreads over all of them. Reported per H: median round wall time and its steps (sync, dbt parse,
dbt build, docs), its ratio to the 30-day median (to the shortest H when 30 is not given), the
rows of history, and the dbt nodes that took longest (dbt's run_results.json).

Usage:
    .venv/bin/python bench/round_history.py --profile demo --days 30,90,180 --hours 6 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import duckdb  # noqa: E402
from code_version import cd2_code_version  # noqa: E402
from round_cost import (  # noqa: E402
    _cd2_run,
    _changed_rows,
    _copy,
    _fresh_live,
    _last_batch,
    _prerender,
    _watermarks,
)
from vs_dap_client import server_config, utc_stamp  # noqa: E402

from extract.fake_dap import FakeDapServer  # noqa: E402
from extract.synth import Institution, ensure_generated  # noqa: E402

RAW = "raw_canvas_logs.web_logs"
# the tables the history reaches (their schema is looked up: dbt's schema names are the project's)
COUNTED = (
    ("raw", "raw_canvas_logs", "web_logs"),
    ("current_state", "canvas_logs", "web_logs"),
    ("student_requests", None, "int_activity__student_requests"),
    ("sessionized_requests", None, "int_activity__sessionized_requests"),
    ("web_sessions", None, "int_activity__web_sessions"),
    ("web_activity_daily", None, "int_activity__web_activity_daily"),
    ("fct_web_session", None, "fct_web_session"),
)
SLOWEST = 12  # dbt nodes listed per round
# the nodes that read web_logs' history (by name; their tests too): their own times per round
WEB_LOG_NODES = (
    "web_logs",
    "int_activity__",
    "fct_web_",
    "mart_last_activity",
    "mart_tool_usage",
    "teacher_page_views",
    "engagement_weekly",
)


def _uuid_v8(key_sql: str) -> str:
    """A version-8 UUID from the md5 of ``key_sql`` (synth/rand.py makes version 4 the same way)."""
    cleared = f"(md5_number({key_sql}) & ~((15::UHUGEINT << 76) | (12::UHUGEINT << 60)))"
    return f"CAST({cleared} | (8::UHUGEINT << 76) | (8::UHUGEINT << 60) AS UUID)"


def _add_history(db: Path, days: float, window_days: float) -> list[dict[str, Any]]:
    """Append the shifted copies of the landed web_logs rows as committed batches (step 2)."""
    copies = math.ceil(days / window_days - 1e-9) - 1
    if copies <= 0:
        return []
    con = duckdb.connect(str(db))
    try:
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'raw_canvas_logs' AND table_name = 'web_logs'"
            ).fetchall()
        )
        base_batch, newest = con.execute(f'SELECT max(_batch_id), max("timestamp") FROM {RAW}').fetchone() or (0, 0)
        added: list[dict[str, Any]] = []
        for k in range(copies, 0, -1):
            shift = f"INTERVAL {round(k * window_days * 86400)} SECOND"
            new_id = _uuid_v8(f"concat_ws('|', 'cd2-bench-history', {k}, id)")
            new_session = _uuid_v8(f"concat_ws('|', 'cd2-bench-history-session', {k}, session_id)")
            con.execute("BEGIN TRANSACTION")
            row = con.execute("SELECT nextval('cd2_meta.batch_id_seq')").fetchone()
            assert row is not None
            batch_id = int(row[0])
            con.execute(
                f"""
                INSERT INTO {RAW}
                SELECT * REPLACE (
                    CAST({new_id} AS {types["id"]}) AS id,
                    CASE WHEN session_id IS NOT NULL THEN CAST({new_session} AS {types["session_id"]}) END
                        AS session_id,
                    "timestamp" - {shift} AS "timestamp",
                    _meta_ts - {shift} AS _meta_ts,
                    _loaded_at - {shift} AS _loaded_at,
                    {batch_id} AS _batch_id
                )
                FROM {RAW}
                WHERE _batch_id <= ? AND _meta_action = 'U'
                    AND "timestamp" - {shift} > CAST(? AS TIMESTAMP) - INTERVAL {round(days * 86400)} SECOND
                """,
                [base_batch, newest],
            )
            rows, since, until, loaded = con.execute(
                f"SELECT count(*), min(_meta_ts), max(_meta_ts), max(_loaded_at) FROM {RAW} WHERE _batch_id = ?",
                [batch_id],
            ).fetchone() or (0, None, None, None)
            con.execute(
                """
                INSERT INTO cd2_meta.batches (batch_id, namespace, table_name, kind, reason, status, job_id, format,
                    since, until, snapshot_at, watermark, schema_version, files, bytes, rows, upserts, deletes,
                    started_at, job_finished_at, downloaded_at, finished_at)
                SELECT ?, 'canvas_logs', 'web_logs', 'incremental', 'import', 'committed', NULL, format,
                    ?, ?, NULL, ?, schema_version, 0, 0, ?, ?, 0, ?, ?, ?, ?
                FROM cd2_meta.batches WHERE batch_id = ?
                """,
                [batch_id, since, until, until, rows, rows, loaded, loaded, loaded, loaded, base_batch],
            )
            con.execute("COMMIT")
            added.append({"batch_id": batch_id, "shift_days": k * window_days, "rows": int(rows)})
        con.execute("CHECKPOINT")
        return added
    finally:
        con.close()


def _counts(db: Path) -> dict[str, Any]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        found = con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
        counts: dict[str, Any] = {}
        for label, schema, name in COUNTED:
            where = [s for s, t in found if t == name and (schema is None or s == schema)]
            if len(where) != 1:
                counts[label] = None
                continue
            row = con.execute(f'SELECT count(*) FROM "{where[0]}"."{name}"').fetchone()
            counts[label] = int(row[0]) if row else None
        span = con.execute(f'SELECT min("timestamp"), max("timestamp") FROM {RAW}').fetchone()
        if span and span[0] is not None:
            counts["raw_days"] = round((span[1] - span[0]).total_seconds() / 86400, 1)
    finally:
        con.close()
    return counts


def _node_times(target: Path) -> dict[str, Any]:
    """dbt's times of the last build (run_results.json): the slowest nodes ([name, status, s]), and
    the models reading web_logs' history ({name: s}, their tests summed under "(tests)")."""
    try:
        results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    except (OSError, ValueError, KeyError):
        return {}
    nodes = [
        (r["unique_id"].split(".")[0], r["unique_id"].split(".", 2)[-1], r.get("status"), float(r["execution_time"]))
        for r in results
    ]
    web_logs: dict[str, float] = {"(tests)": 0.0}
    for kind, name, _, seconds in nodes:
        if any(part in name for part in WEB_LOG_NODES):
            key = "(tests)" if kind == "test" else name
            web_logs[key] = round(web_logs.get(key, 0.0) + seconds, 2)
    slowest = sorted(nodes, key=lambda n: -n[3])[:SLOWEST]
    return {
        "slowest": [[name, status, round(seconds, 2)] for _, name, status, seconds in slowest],
        "web_log_nodes_s": web_logs,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", default="30,90,180", help="web_logs history lengths to compare, in days")
    parser.add_argument("--hours", type=float, default=6.0, help="how far the institution moves for the round")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "bench-round-history")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    history_days = sorted({float(d) for d in args.days.split(",") if d.strip()})
    if not history_days:
        parser.error("--days names no history length")

    pristine = ensure_generated(args.profile, args.seed, progress=lambda m: print(f"  {m}", flush=True))
    work = args.work / f"{args.profile}-seed{args.seed}"
    config = server_config(args.profile, args.seed)
    window = config.web_logs_retention_days
    if history_days[0] < window:
        parser.error(f"--days: the first run already lands {window:g} days of web_logs")
    live = work / "live"
    db = live / "cd2" / "cd2.duckdb"
    setups: dict[float, dict[str, Any]] = {}
    for days in history_days:
        institution = _fresh_live(pristine, live)
        with FakeDapServer(institution.store, config) as server:
            first, first_steps, _ = _cd2_run(server.url, live / "cd2")
            added = _add_history(db, days, window)
            second, second_steps, second_lines = _cd2_run(server.url, live / "cd2")
        setup = {
            "first_run": {"wall_s": round(first.seconds, 2), "steps": first_steps},
            "history_batches": added,
            "history_rows": sum(b["rows"] for b in added),
            "second_run": {"wall_s": round(second.seconds, 2), "steps": second_steps, "summary": second_lines},
            "rows": _counts(db),
        }
        setups[days] = setup
        print(json.dumps({"setup_days": days, **{k: v for k, v in setup.items() if k != "second_run"}}), flush=True)
        _copy(live, work / f"base-{days:g}d")

    rounds: dict[float, list[dict[str, Any]]] = {days: [] for days in history_days}
    for number in range(args.repeat):
        for days in history_days:
            _copy(work / f"base-{days:g}d", live)
            before = _last_batch(db)
            institution = Institution.open(live / "institution")
            with FakeDapServer(institution.store, config, advance=institution.advance) as server:
                server.advance(args.hours)
                rendered = _prerender(server.url, _watermarks(db))
                done, steps, lines = _cd2_run(server.url, live / "cd2")
            one = {
                "wall_s": round(done.seconds, 2),
                "steps": steps,
                "changed_rows": _changed_rows(db, before),
                "rendered_s": round(rendered, 1),
                "summary": lines,
                **_node_times(live / "cd2" / "target"),
            }
            rounds[days].append(one)
            print(json.dumps({"round": number + 1, "days": days, **{k: one[k] for k in ("wall_s", "steps")}}))
            for line in lines:
                print(f"    | {line}", flush=True)

    reference = 30.0 if 30.0 in rounds else history_days[0]
    medians = {days: statistics.median(r["wall_s"] for r in runs) for days, runs in rounds.items()}
    per_days = []
    for days in history_days:
        runs = rounds[days]
        step_names = sorted({name for r in runs for name in r["steps"]})
        per_days.append(
            {
                "days": days,
                "history_rows": setups[days]["history_rows"],
                "rows": setups[days]["rows"],
                "round_median_s": medians[days],
                "round_steps_median_s": {
                    name: statistics.median(r["steps"].get(name, 0.0) for r in runs) for name in step_names
                },
                "changed_rows": statistics.median(r["changed_rows"] for r in runs),
                "web_log_nodes_median_s": {
                    name: statistics.median(r.get("web_log_nodes_s", {}).get(name, 0.0) for r in runs)
                    for name in sorted({n for r in runs for n in r.get("web_log_nodes_s", {})})
                },
                f"ratio_to_{reference:g}d": round(medians[days] / medians[reference], 3),
            }
        )
    report = {
        "bench": "round_history",
        "when": utc_stamp(),
        "code_version": cd2_code_version(check_dirty=True),
        "profile": args.profile,
        "seed": args.seed,
        "hours": args.hours,
        "repeat": args.repeat,
        "window_days": window,
        "goal": "round with 180 days of web_logs history <= 1.2 x the round with 30 days",
        "history": per_days,
        "setups": {f"{days:g}": setups[days] for days in history_days},
        "rounds": {f"{days:g}": rounds[days] for days in history_days},
    }
    print(json.dumps({k: report[k] for k in ("bench", "profile", "code_version", "history")}), flush=True)
    out = args.out or ROOT / "bench" / "results" / f"round_history_{args.profile}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
