"""The request log: one record per HTTP request, without secrets (no credentials, tokens or signed URLs)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, overload

SECRET_HEADERS = frozenset({"authorization", "x-instauth", "cookie", "proxy-authorization"})
KEPT_HEADERS = (
    "user-agent",
    "traceparent",
    "content-type",
    "content-length",
    "accept-encoding",
    "range",
    "host",
)


@dataclass(frozen=True)
class RequestRecord:
    time: float  # server clock (epoch seconds) when the request arrived
    method: str
    path: str  # redacted for downloads
    status: int  # 0 when the connection was dropped without an answer
    endpoint: str  # bucket: login, list_tables, schema, create_job, get_job, object_url, download, …
    table: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    duration_s: float = 0.0
    fault: str | None = None  # kind of the injected fault, if one fired
    auth: str | None = None  # "bearer", "x-instauth", "basic" or None (the scheme only)

    @property
    def iso_time(self) -> str:
        return datetime.fromtimestamp(self.time, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "iso_time": self.iso_time}


def safe_headers(headers: Any) -> dict[str, str]:
    return {name: headers[name] for name in KEPT_HEADERS if headers.get(name) is not None}


def _matching(records: list[RequestRecord], endpoint: str | None, status: int | None = None) -> list[RequestRecord]:
    return [
        r for r in records if (endpoint is None or r.endpoint == endpoint) and (status is None or r.status == status)
    ]


class RequestLog:
    """A thread-safe, list-like log of ``RequestRecord``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._appended = threading.Condition(self._lock)
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._appended:
            self._records.append(record)
            self._appended.notify_all()

    def wait_for(self, count: int, endpoint: str | None = None, timeout_s: float = 5.0) -> list[RequestRecord]:
        """The records (of ``endpoint``, if given) once there are ``count`` of them, or after ``timeout_s``.

        The server logs a request just after it has answered it, so a client that has read its
        answer can be a moment ahead of the log.
        """
        with self._appended:
            self._appended.wait_for(lambda: len(_matching(self._records, endpoint)) >= count, timeout=timeout_s)
            return _matching(self._records, endpoint)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.records())

    @overload
    def __getitem__(self, index: int) -> RequestRecord: ...
    @overload
    def __getitem__(self, index: slice) -> list[RequestRecord]: ...
    def __getitem__(self, index: int | slice) -> RequestRecord | list[RequestRecord]:
        with self._lock:
            return self._records[index]

    def select(self, endpoint: str | None = None, status: int | None = None) -> list[RequestRecord]:
        return _matching(self.records(), endpoint, status)

    def max_in_window(self, endpoint: str, window_s: float = 60.0, *, accepted_only: bool = True) -> int:
        """Most requests to ``endpoint`` inside any window of ``window_s`` (accepted = not 429)."""
        times = sorted(
            r.time for r in self.records() if r.endpoint == endpoint and not (accepted_only and r.status == 429)
        )
        best, lo = 0, 0
        for hi, t in enumerate(times):
            while t - times[lo] >= window_s:
                lo += 1
            best = max(best, hi - lo + 1)
        return best
