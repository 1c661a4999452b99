"""The fake API's job durations: ``scaled:BASE+PER_MROWS[:cap=MAX]`` and the ``realistic`` preset make a
job last longer the more rows its result holds (estimated from the store, no rendering), capped;
``scaled`` time-scales them for benchmarks. Checked on an injected server clock, never by waiting."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from extract.fake_dap import FakeDapServer, ServerConfig
from extract.fake_dap.config import REALISTIC_COMPLETION, Completion
from extract.fake_dap.planner import estimated_rows
from extract.synth.store import Store
from extract.tests.fake_dap_fixtures import DapTestClient, build_small_store, make_advance


def test_the_forms_parse_and_print_back() -> None:
    for text in ("immediate", "polls:3", "seconds:1.5", "scaled:20+30", "scaled:20+30:cap=900", "fail:scaled:1+2"):
        assert Completion.parse(Completion.parse(text).spec()) == Completion.parse(text)
    scaled = Completion.parse("scaled:20+30:cap=900")
    assert (scaled.seconds, scaled.per_million_rows_s, scaled.cap_s) == (20, 30, 900)
    assert Completion.parse("realistic") == Completion.parse(REALISTIC_COMPLETION) == scaled
    assert Completion.parse("fail:realistic").outcome == "failed"
    assert ServerConfig(job_completion="realistic").completion == scaled


@pytest.mark.parametrize("text", ["scaled:20", "scaled:+3", "scaled:x+3", "scaled:1+2:cap", "scaled:1+2:max=3", "real"])
def test_a_bad_form_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="job_completion"):
        ServerConfig(job_completion=text)


def test_realistic_durations_grow_with_rows_up_to_the_cap() -> None:
    realistic = Completion.parse("realistic")
    small, submissions, web_logs = (realistic.for_rows(n).seconds for n in (2_000, 3_000_000, 28_000_000))
    assert 20 < small < 21  # tens of seconds for a small table
    assert submissions == pytest.approx(110)  # minutes for the large profile's submissions
    assert web_logs == pytest.approx(860)  # and for its 30-day web_logs snapshot
    assert realistic.for_rows(10**9).seconds == 900  # the cap
    tenth = realistic.scaled(0.1)
    assert tenth.spec() == "scaled:2+3:cap=90" and tenth.for_rows(28_000_000).seconds == pytest.approx(86)


def test_the_row_estimate_follows_the_store(tmp_path) -> None:
    store = build_small_store(tmp_path / "store")
    before = store.now
    full = {q: estimated_rows(store, q, None, store.now) for q in store.tables()}
    assert full["canvas_logs.web_logs"] > full["canvas.accounts"] > 0
    assert estimated_rows(store, "canvas.accounts", before, before) == 0  # nothing after the last commit
    make_advance(store)(3)
    after = Store(store.root)
    assert estimated_rows(after, "canvas.accounts", before, after.now) == 1  # the one account the advance changed
    assert estimated_rows(after, "canvas.accounts", None, after.now) == full["canvas.accounts"] + 1


class _Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _status(client: DapTestClient, job_id: str) -> str:
    return str(client.get(f"/dap/job/{job_id}").json()["status"])


def test_a_bigger_table_s_job_takes_longer_on_the_server_clock(tmp_path) -> None:
    store = build_small_store(tmp_path / "store")
    clock = _Clock()
    config = ServerConfig(job_completion="scaled:10+200000", clock=clock)
    with FakeDapServer(store, config) as server:
        client = DapTestClient(server.url, config.client_id, config.client_secret)
        assert client.login().status_code == 200
        tables = ("canvas.accounts", "canvas_logs.web_logs")
        jobs = {q: server.jobs.peek(client.create_job(q, format="jsonl").json()["id"]) for q in tables}
        seconds = {q: job.completion.seconds for q, job in jobs.items() if job is not None}
        rows = {q: job.plan.estimated_rows for q, job in jobs.items() if job is not None}
        assert rows["canvas_logs.web_logs"] > rows["canvas.accounts"]
        assert seconds["canvas_logs.web_logs"] > seconds["canvas.accounts"] >= 10
        for qname, job in jobs.items():
            assert job is not None
            if job.future is not None:
                job.future.result(timeout=60)  # rendered: only the clock holds the job back now
            started = clock.now
            clock.now = started + seconds[qname] - 0.01
            assert _status(client, job.id) == "running"
            clock.now = started + seconds[qname]
            assert _status(client, job.id) == "complete"
            clock.now = started


def test_the_fake_server_command_refuses_a_bad_completion() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "extract.cli", "fake-server", "--job-completion", "sometimes", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "job_completion 'sometimes'" in run.stderr and "--job-completion" in run.stderr


def test_time_scale_is_a_positive_number() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "extract.cli", "fake-server", "--time-scale", "0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "must be above 0" in run.stderr
