"""One shared limiter for every call to the DAP API, whatever the concurrency.

The API limits each endpoint separately per minute (create job 5, list tables 5, get job 500,
schema 500, object URLs 200). A sliding window per bucket keeps us under them, and a 429's
``Retry-After`` pauses the whole bucket so that other threads do not hammer it meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

RATE_WINDOW_S = 60.0  # the API's limits are per minute
RATE_MARGIN_S = 0.25  # added to each window: slack for the clocks and latency between us and the server
# Requests per minute, as documented by Instructure.
REAL_API_LIMITS: dict[str, int] = {
    "login": 60,
    "list_tables": 5,
    "schema": 500,
    "create_job": 5,
    "get_job": 500,
    "object_url": 200,
}


@dataclass
class _Bucket:
    per_window: int
    stamps: deque[float]
    paused_until: float = 0.0


class RateLimiter:
    """Blocks callers so that no bucket exceeds its budget in any window of ``window_s``."""

    def __init__(
        self,
        limits: dict[str, int] | None = None,
        window_s: float = RATE_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        margin_s: float = RATE_MARGIN_S,
    ) -> None:
        self._limits = dict(REAL_API_LIMITS if limits is None else limits)
        self._window = window_s
        self._margin = margin_s  # a little slack against clock skew between us and the server
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, name: str) -> _Bucket | None:
        limit = self._limits.get(name)
        if limit is None:
            return None
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = _Bucket(limit, deque())
        return bucket

    def acquire(self, name: str) -> float:
        """Wait for a slot in bucket ``name``; returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                bucket = self._bucket(name)
                if bucket is None:
                    return waited
                now = self._clock()
                while bucket.stamps and bucket.stamps[0] <= now - self._window - self._margin:
                    bucket.stamps.popleft()
                delay = bucket.paused_until - now
                if delay <= 0 and len(bucket.stamps) < bucket.per_window:
                    bucket.stamps.append(now)
                    return waited
                if delay <= 0:
                    delay = bucket.stamps[0] + self._window + self._margin - now
            delay = max(delay, 0.01)
            self._sleep(delay)
            waited += delay

    def pause(self, name: str, seconds: float) -> None:
        """Hold every caller of bucket ``name`` for ``seconds`` (after a 429)."""
        with self._lock:
            bucket = self._bucket(name)
            if bucket is not None:
                bucket.paused_until = max(bucket.paused_until, self._clock() + seconds)
