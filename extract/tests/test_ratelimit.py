"""The shared limiter keeps every window under its budget, across threads and after a 429."""

from __future__ import annotations

import threading

from extract.dap.ratelimit import RateLimiter


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
