"""The sync plan: jobs created at the API's limit with no gap while tables remain, slowest first,
at most ``max_jobs_in_flight`` in flight, files of at most ``concurrency`` tables on disk, one
landing at a time; a table that fails before its turn gives it up. Timings run on a scaled-down
window (5 jobs per 1-2 s instead of per minute) and are checked against the window, never against
wall-clock targets."""

from __future__ import annotations

import math
import threading
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import duckdb
import pytest

from extract.dap.ratelimit import REAL_API_LIMITS
from extract.sync.history import INCREMENTAL, SNAPSHOT, JobRecord, TableHistory, duckdb_history, lake_history
from extract.sync.order import creation_order
from extract.sync.pacing import Pacer
from extract.sync.progress import LogReporter
from extract.sync.runner import SyncOptions, SyncRunner
from extract.synth import Institution
from extract.tests.bench_modules import load_bench
from extract.tests.plan_fakes import FAST_POLLS, PlanClient, RecordingDestination, known, max_in_window
from extract.tests.sync_helpers import fast_client, fresh_institution, replay_mismatches, serving

MARGIN_S = 0.02  # PlanClient's limiter margin
SLACK_S = 0.6  # thread wake-ups on a busy machine: far less than a window


def _tables(n: int) -> list[str]:
    return [f"canvas.t{i:02d}" for i in range(n)]


def _run(client: PlanClient, destination: RecordingDestination, tables: list[str], **options: Any) -> Any:
    assert client.work is not None
    opts = SyncOptions(tables=tables, work_dir=client.work, fetch=FAST_POLLS, **options)
    return SyncRunner(cast(Any, client), cast(Any, None), opts, LogReporter(), destination).run()


def test_jobs_are_created_at_the_limit_slowest_first_one_landing_at_a_time(tmp_path: Path) -> None:
    window, limit = 2.0, 5
    tables = _tables(20)
    # 14 tables known from earlier rounds (their last jobs took 0-1.3 s), 6 never synced
    past = {q: known(seconds=(i * 5 % 14) / 10, rows=i) for i, q in enumerate(tables[:14])}
    durations = {q: h.jobs[SNAPSHOT].seconds for q, h in past.items()}
    client = PlanClient(durations, window_s=window, limit=limit, default_s=0.5, work=tmp_path / "work")
    destination = RecordingDestination(past)
    report = _run(client, destination, tables, concurrency=2, download_concurrency=2)

    assert report.ok and sorted(destination.landed) == tables
    expected = creation_order(tables, past)
    assert client.creation_order() == expected
    # slowest first; the unknown after the seven known above the median (0.65 s)
    assert expected[0] == "canvas.t11" and set(expected[7:13]) == set(tables[14:])
    stamps = [c.at for c in client.created]
    assert max_in_window(stamps, window) <= limit
    # No idle gap while tables remain: the i-th job is created in the (i // limit)-th window.
    first = stamps[0]
    for i, stamp in enumerate(stamps):
        assert stamp - first <= (i // limit) * (window + MARGIN_S) + SLACK_S, (i, stamp - first)
    # So the creations span what the limit makes them span (an average gap of about window / limit).
    span = (math.ceil(len(tables) / limit) - 1) * window
    assert span - 0.05 <= stamps[-1] - first <= span + SLACK_S
    assert not destination.overlapped
    assert 1 <= client.max_tables_with_files <= 2


def test_no_more_jobs_in_flight_than_the_cap(tmp_path: Path) -> None:
    tables = _tables(12)
    client = PlanClient({}, window_s=1.0, default_s=0.4, work=tmp_path / "work")
    report = _run(client, RecordingDestination(), tables, max_jobs_in_flight=3)
    assert report.ok and len(client.created) == len(tables)
    assert client.max_in_flight == 3  # 5 jobs a window would be allowed: the cap held them back
    assert client.creation_order() == tables  # never synced (and none of the usual largest): by name


def test_a_table_that_fails_before_its_job_gives_up_its_turn(tmp_path: Path) -> None:
    window, limit = 2.0, 5
    tables = _tables(7)
    past = {q: known(seconds=10.0 - i) for i, q in enumerate(tables)}  # t00 goes first
    client = PlanClient({}, window_s=window, limit=limit, fail_schema=[tables[0]], work=tmp_path / "work")
    destination = RecordingDestination(past)
    report = _run(client, destination, tables)
    assert [r.qualified_name for r in report.failed] == [tables[0]]
    assert [q for q, _ in destination.failures] == [tables[0]]
    assert client.creation_order() == tables[1:]
    stamps = [c.at - client.created[0].at for c in client.created]
    assert max(stamps[:limit]) < SLACK_S  # the first window's five went at once, t00 failed or not


def test_a_404_for_the_post_fails_the_table_at_once_not_as_an_expired_job(tmp_path: Path) -> None:
    tables = _tables(3)
    client = PlanClient({}, window_s=1.0, missing=[tables[1]], work=tmp_path / "work")
    report = _run(client, RecordingDestination(), tables)
    [failed] = report.failed
    assert failed.qualified_name == tables[1] and failed.error_type == "NotFoundError"
    assert client.posts.count(tables[1]) == 1  # an answer, not an expiry: posted once


def test_turns_follow_the_order_whatever_order_the_tables_arrive_in() -> None:
    order = ["a.x", "a.y", "a.z", "a.w"]
    pacer = Pacer(order, max_jobs=10)
    posted: list[str] = []
    lock = threading.Lock()

    def table(qname: str) -> None:
        with pacer.job(qname):
            with lock:
                posted.append(qname)
            pacer.posted(qname)

    pacer.leave("a.y")  # failed before its turn: it never posts
    threads = [threading.Thread(target=table, args=(q,)) for q in reversed(order) if q != "a.y"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert posted == ["a.x", "a.z", "a.w"]
    # a job posted again takes no turn, and a table outside the order has none to wait for
    with pacer.job("a.x"), pacer.job("b.other"):
        pass


def test_a_files_slot_is_held_once_per_table_and_bounded() -> None:
    pacer = Pacer(max_tables_with_files=1)
    pacer.hold_files("a.x")
    pacer.hold_files("a.x")  # already held: does not wait for a second slot
    got = threading.Event()
    waiter = threading.Thread(target=lambda: (pacer.hold_files("a.y"), got.set()))
    waiter.start()
    assert not got.wait(0.2)  # the only slot is a.x's
    pacer.release_files("a.x")
    pacer.release_files("a.x")  # released once only
    assert got.wait(5)
    waiter.join(timeout=5)


def test_order_slowest_known_first_then_the_unknown_then_the_fast() -> None:
    past = {
        "c.slow": known(300.0, rows=10),
        "c.big": known(120.0, rows=5_000_000),
        "c.bigger_same_time": known(120.0, rows=9_000_000),
        "c.quick": known(20.0),
        "c.quicker": known(15.0),
        "c.failed_once": TableHistory(last_status="failed"),  # no job on record: unknown
    }
    tables = ["c.new_b", "c.quicker", "c.new_a", "c.big", "c.quick", "c.slow", "c.bigger_same_time", "c.failed_once"]
    # median of the known (300, 120, 120, 20, 15) is 120: only c.slow is above it
    assert creation_order(tables, past) == [
        "c.slow",
        "c.failed_once",
        "c.new_a",
        "c.new_b",
        "c.bigger_same_time",
        "c.big",
        "c.quick",
        "c.quicker",
    ]
    # the first round knows nothing: the usual largest first, then by name
    first = ["canvas.roles", "canvas.accounts", "canvas_logs.web_logs", "canvas.submissions"]
    by_prior = ["canvas_logs.web_logs", "canvas.submissions", "canvas.accounts", "canvas.roles"]
    assert creation_order(first, {}) == by_prior


def test_the_expected_job_is_the_kind_the_table_runs_next() -> None:
    jobs = {SNAPSHOT: JobRecord(600.0, 10**6, 1), INCREMENTAL: JobRecord(30.0, 100, 2)}
    assert TableHistory(watermark=None, jobs=jobs).expected_job() == jobs[SNAPSHOT]
    with_watermark = TableHistory(watermark=cast(Any, "2026-01-01"), jobs=jobs)
    assert with_watermark.expected_job() == jobs[INCREMENTAL]
    only_snapshot = TableHistory(watermark=cast(Any, "2026-01-01"), jobs={SNAPSHOT: jobs[SNAPSHOT]})
    assert only_snapshot.expected_job() == jobs[SNAPSHOT]


# ---- against the fake API and DuckDB ---------------------------------------------------------------------
E2E_TABLES = [
    "canvas.accounts",
    "canvas.courses",
    "canvas.users",
    "canvas.enrollments",
    "canvas.assignments",
    "canvas.submissions",
    "canvas.scores",
    "canvas.discussion_entries",
    "canvas.roles",
    "canvas_logs.web_logs",
]


@pytest.fixture
def institution(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Institution:
    return fresh_institution(tmp_path_factory.mktemp("synth-cache-plan"), tmp_path / "store")


@pytest.mark.slow
def test_a_second_round_creates_the_slowest_jobs_of_the_first_first(institution: Institution, tmp_path: Path) -> None:
    window = 1.0
    db = tmp_path / "cd2.duckdb"
    with serving(institution, rate_limits=True, rate_window_s=window, job_completion="scaled:0.1+100") as server:
        orders = []
        for round_ in range(2):
            client = fast_client(server.url, limits=REAL_API_LIMITS, rate_window_s=window)
            con = duckdb.connect(str(db))
            try:
                expected = creation_order(E2E_TABLES, duckdb_history(con))
                opts = SyncOptions(tables=E2E_TABLES, work_dir=tmp_path / "work", fetch=FAST_POLLS)
                server.request_log.clear()
                report = SyncRunner(client, con, opts, LogReporter()).run()
            finally:
                con.close()
                client.close()
            assert report.ok, report.failure_lines()
            created = sorted(server.request_log.select(endpoint="create_job"), key=lambda r: r.time)
            assert [r.table for r in created] == expected
            assert server.request_log.select(status=429) == []
            orders.append(expected)
            if round_ == 0:
                server.advance(4)
    # nothing known yet: the usually largest first, then by name
    likely_largest = ["canvas_logs.web_logs", "canvas.submissions", "canvas.scores", "canvas.discussion_entries"]
    assert orders[0] == likely_largest + sorted(set(E2E_TABLES) - set(likely_largest))
    assert orders[1][0] == "canvas_logs.web_logs"  # the biggest snapshot took longest
    assert replay_mismatches(db, institution.store, E2E_TABLES) == {}


def test_a_lake_s_records_give_the_same_history() -> None:
    at = datetime(2026, 5, 4, 12, 0)

    def record(batch_id: int, kind: str, status: str, job_s: float | None, rows: int = 0) -> dict[str, Any]:
        return {
            "batch_id": batch_id,
            "namespace": "canvas",
            "table_name": "courses",
            "kind": kind,
            "status": status,
            "watermark": at if status == "committed" else None,
            "schema_version": 1,
            "rows": rows,
            "started_at": at if job_s is not None else None,
            "job_finished_at": at + timedelta(seconds=job_s) if job_s is not None else None,
            "finished_at": at + timedelta(minutes=batch_id),
            "error_type": "ServerError" if status == "failed" else None,
            "error_message": "boom" if status == "failed" else None,
        }

    records = [
        record(1, SNAPSHOT, "committed", 300.0, 5000),
        record(2, INCREMENTAL, "committed", 40.0, 10),
        record(3, INCREMENTAL, "committed", 25.0, 7),
        record(4, INCREMENTAL, "failed", None),
    ]
    courses = lake_history(records)["canvas.courses"]
    assert courses.jobs == {SNAPSHOT: JobRecord(300.0, 5000, 1), INCREMENTAL: JobRecord(25.0, 7, 3)}
    assert courses.expected_job() == JobRecord(25.0, 7, 3)  # it has a watermark: an incremental next
    assert (courses.last_status, courses.last_success_at) == ("failed", at + timedelta(minutes=3))


def test_the_benchmark_s_floor() -> None:
    bench = load_bench("sync_limits")
    assert bench.round_floor([2.0] * 114, 6.0) == 22 * 6.0 + 2.0  # 114 jobs: the last one 22 windows in
    assert bench.round_floor([90.0, 2.0, 2.0], 6.0) == 90.0  # a round no shorter than its longest job
    assert bench._most_at_once([(0, 10), (5, 6), (10, 12), (11, 13)]) == 2
