"""Per-endpoint rate limits.

A sliding-window log rather than a refilling token bucket: a call is accepted only while fewer
than ``limit`` calls were accepted in the last ``window_s`` seconds. That is the strict reading
of "5 per minute" (no 60-s window ever holds more than 5 accepted calls), so a client that
respects it also respects any token bucket of the same rate.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Mapping


class SlidingWindowLimiter:
    def __init__(self, limits: Mapping[str, int], window_s: float, clock: Callable[[], float]) -> None:
        self.limits = dict(limits)
        self.window_s = window_s
        self._clock = clock
        self._accepted: dict[str, deque[float]] = {bucket: deque() for bucket in self.limits}
        self._lock = threading.Lock()

    def acquire(self, bucket: str) -> int | None:
        """Record a call; returns None if accepted, else the whole seconds to wait (Retry-After)."""
        limit = self.limits.get(bucket)
        if limit is None:
            return None
        now = self._clock()
        with self._lock:
            times = self._accepted[bucket]
            while times and times[0] <= now - self.window_s:
                times.popleft()
            if len(times) < limit:
                times.append(now)
                return None
            return max(1, math.ceil(times[0] + self.window_s - now))
