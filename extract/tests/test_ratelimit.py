"""The shared limiter keeps every window under its budget, across threads and after a 429; the
transport waits what ``Retry-After`` asks on 429 and 503 (capped), backs off on other 5xx, and
every wait it logs is a wait it did."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any, cast

import pytest
import requests

from extract.dap.auth import TokenManager
from extract.dap.errors import RateLimitedError, ServerError
from extract.dap.ratelimit import RateLimiter
from extract.dap.transport import RetryPolicy, Transport


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def max_in_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    best = 0
    for i, start in enumerate(stamps):
        best = max(best, sum(1 for t in stamps[i:] if t < start + window))
    return best


def test_create_job_never_exceeds_five_per_minute() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"create_job": 5}, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(23):
        limiter.acquire("create_job")
        stamps.append(clock.now)
    assert max_in_window(stamps, 60.0) == 5
    assert clock.now >= 4 * 60  # 23 calls need at least four full windows of waiting


def test_threads_share_one_budget() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"object_url": 3}, window_s=10.0, clock=clock, sleep=clock.sleep)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(4):
            limiter.acquire("object_url")
            with lock:
                stamps.append(clock.now)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stamps) == 16
    assert max_in_window(stamps, 10.0) <= 3


def test_pause_holds_the_bucket() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"get_job": 500}, clock=clock, sleep=clock.sleep)
    limiter.pause("get_job", 7.0)
    waited = limiter.acquire("get_job")
    assert waited >= 7.0
    assert limiter.acquire("unknown-bucket") == 0.0


# ---- the transport ------------------------------------------------------------------------------------
class FakeTokens:
    def token(self) -> str:
        return "token"

    def invalidate(self, token: str) -> None:
        pass


def response(status: int, headers: dict[str, str] | None = None, body: bytes = b'{"ok": true}') -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer.headers.update(headers or {})
    answer._content = body if status < 400 else b'{"error": {"message": "simulated"}}'
    return answer


class FakeSession:
    """Answers each request with the next scripted response."""

    def __init__(self, answers: list[requests.Response]) -> None:
        self.answers: Iterator[requests.Response] = iter(answers)
        self.calls = 0

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        self.calls += 1
        return next(self.answers)


def transport(
    answers: list[requests.Response], limiter: RateLimiter | None = None, **policy: Any
) -> tuple[Transport, FakeSession, list[float]]:
    sleeps: list[float] = []
    session = FakeSession(answers)
    made = Transport(
        "http://api.invalid",
        cast(TokenManager, FakeTokens()),
        cast(requests.Session, session),
        limiter or RateLimiter({}),  # no limited bucket: the transport's own sleep is the only wait
        RetryPolicy(**{"max_attempts": 4, "base_delay_s": 0.5, "max_delay_s": 8.0, **policy}),
        sleep=sleeps.append,
    )
    return made, session, sleeps


def logged_waits(caplog: pytest.LogCaptureFixture) -> list[float]:
    found = [re.search(r"(?:waiting|retrying in) ([0-9.]+)s", r.getMessage()) for r in caplog.records]
    return [float(m.group(1)) for m in found if m]


def test_503_waits_what_retry_after_asks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="extract.dap.transport")
    made, session, sleeps = transport([response(503, {"Retry-After": "7"}), response(200)])
    assert made.call("GET", "/x", "get_job") == {"ok": True}
    assert sleeps == [7.0] and session.calls == 2
    assert logged_waits(caplog) == [7.0]


def test_503_retry_after_as_an_http_date() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    made, _, sleeps = transport([response(503, {"Retry-After": when}), response(200)])
    made.call("GET", "/x", "get_job")
    assert len(sleeps) == 1 and 15.0 <= sleeps[0] <= 20.0


def test_a_huge_retry_after_is_capped(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="extract.dap.transport")
    made, _, sleeps = transport(
        [response(503, {"Retry-After": "86400"}), response(429, {"Retry-After": "9999"}), response(200)],
        max_retry_after_s=45.0,
    )
    made.call("GET", "/x", "get_job")
    assert sleeps == [45.0, 45.0]
    assert logged_waits(caplog) == [45.0, 45.0]
    assert "capped" in caplog.text


@pytest.mark.parametrize(
    "answer",
    [response(500, {"Retry-After": "7"}), response(503), response(503, {"Retry-After": "soon"}), response(504)],
    ids=["500 with Retry-After", "503 without", "503 unreadable Retry-After", "504"],
)
def test_other_5xx_back_off(answer: requests.Response, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="extract.dap.transport")
    made, _, sleeps = transport([answer, answer, response(200)])
    made.call("GET", "/x", "get_job")
    # full-jitter backoff: attempt 1 in [0.25, 0.5], attempt 2 in [0.5, 1.0]; never the 7 s asked by a 500
    assert len(sleeps) == 2 and 0.25 <= sleeps[0] <= 0.5 and 0.5 <= sleeps[1] <= 1.0
    assert logged_waits(caplog) == pytest.approx(sleeps, abs=0.05)


def test_429_waits_even_without_a_limited_bucket(caplog: pytest.LogCaptureFixture) -> None:
    """With ``--no-rate-limit`` the limiter holds nothing: the transport itself must wait."""
    caplog.set_level(logging.INFO, logger="extract.dap.transport")
    made, _, sleeps = transport([response(429, {"Retry-After": "3"}), response(429), response(200)])
    made.call("POST", "/x", "create_job")
    assert sleeps == [3.0, 30.0]  # no header: the policy's default
    assert logged_waits(caplog) == [3.0, 30.0]
    assert made.stats.retries == 2 and made.stats.throttled_s == 33.0


def test_429_with_a_limited_bucket_waits_once_and_holds_the_other_callers() -> None:
    clock = FakeClock()
    limiter = RateLimiter({"create_job": 5}, clock=clock, sleep=clock.sleep)
    sleeps: list[float] = []
    held_until: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        held_until.append(limiter._buckets["create_job"].paused_until)  # what other threads see meanwhile
        clock.sleep(seconds)

    made = Transport(
        "http://api.invalid",
        cast(TokenManager, FakeTokens()),
        cast(requests.Session, FakeSession([response(429, {"Retry-After": "4"}), response(200)])),
        limiter,
        RetryPolicy(max_attempts=3),
        sleep=sleep,
    )
    made.call("POST", "/x", "create_job")
    assert sleeps == [4.0] and clock.now == 4.0  # not 4 s here and 4 more in the limiter
    assert held_until == [4.0]


def test_the_last_attempt_neither_waits_nor_says_it_waits(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="extract.dap.transport")
    made, session, sleeps = transport([response(429, {"Retry-After": "2"})] * 3, max_attempts=3)
    with pytest.raises(RateLimitedError):
        made.call("POST", "/x", "create_job")
    assert session.calls == 3 and sleeps == [2.0, 2.0]
    assert logged_waits(caplog) == [2.0, 2.0]
    made, session, sleeps = transport([response(503, {"Retry-After": "2"})] * 2, max_attempts=2)
    with pytest.raises(ServerError):
        made.call("GET", "/x", "get_job")
    assert session.calls == 2 and sleeps == [2.0]
