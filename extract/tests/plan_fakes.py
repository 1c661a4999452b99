"""In-process stand-ins for the sync plan's tests: an API client whose jobs take set durations under
a scaled-down create_job limit, and a destination that records what lands (and checks landings
never overlap). No HTTP, no DuckDB: what is measured is the runner's scheduling alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from extract.dap.client import Job
from extract.dap.errors import DapError, NotFoundError
from extract.dap.ratelimit import RateLimiter
from extract.landing.batch import BatchResult, BatchSpec
from extract.schema import TableSchema, bundled_schema
from extract.sync.fetch import FetchPolicy
from extract.sync.history import JobRecord, TableHistory
from extract.timeutil import utc_now

ACCOUNTS_DOC = bundled_schema("canvas", "accounts").to_dap_schema()
FAST_POLLS = FetchPolicy(first_poll_s=0.02, max_poll_s=0.1)  # job polls for jobs of a scaled-down second


@dataclass
class Created:
    qname: str
    at: float  # time.monotonic()


class PlanClient:
    """The DapClient methods the runner calls. ``durations``: seconds each table's job takes (default
    ``default_s``); ``limit`` jobs may be created per ``window_s``; ``fail_schema``: tables whose
    schema read fails; ``missing``: tables whose job creation answers 404. ``work``: the sync's work
    folder, whose table folders with files are counted at every download (``max_tables_with_files``)."""

    def __init__(
        self,
        durations: Mapping[str, float],
        *,
        window_s: float,
        limit: int = 5,
        default_s: float = 0.1,
        fail_schema: Sequence[str] = (),
        missing: Sequence[str] = (),
        work: Path | None = None,
    ) -> None:
        self.durations = dict(durations)
        self.default_s = default_s
        self.fail_schema = set(fail_schema)
        self.missing = set(missing)  # tables whose job creation answers 404
        self.posts: list[str] = []
        self.work = work
        self.limiter = RateLimiter({"create_job": limit}, window_s=window_s, margin_s=0.02)
        self.created: list[Created] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.max_tables_with_files = 0
        self._jobs: dict[str, tuple[str, float]] = {}  # id -> (qname, ends at)
        self._seen_done: set[str] = set()
        self._lock = threading.Lock()

    def get_schema(self, namespace: str, table: str) -> tuple[int, dict[str, Any]]:
        if f"{namespace}.{table}" in self.fail_schema:
            raise DapError(message=f"no schema for {namespace}.{table}", status=500)
        return 1, ACCOUNTS_DOC

    def start_job(self, namespace: str, table: str, query: dict[str, Any]) -> Job:
        self.limiter.acquire("create_job")
        qname = f"{namespace}.{table}"
        self.posts.append(qname)
        if qname in self.missing:
            raise NotFoundError(message=f"no table {qname}", status=404, details={"kind": "table"})
        now = time.monotonic()
        with self._lock:
            job_id = f"job-{len(self.created)}"
            self.created.append(Created(qname, now))
            self._jobs[job_id] = (qname, now + self.durations.get(qname, self.default_s))
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return Job(job_id, "running")

    def get_job(self, job_id: str) -> Job:
        _, ends = self._jobs[job_id]
        if time.monotonic() < ends:
            return Job(job_id, "running")
        with self._lock:
            if job_id not in self._seen_done:
                self._seen_done.add(job_id)
                self.in_flight -= 1
        return Job(job_id, "complete", objects=(f"{job_id}/part-0",), schema_version=1, at=utc_now())

    def wait_for_job(
        self,
        job: Job,
        *,
        first_poll_s: float = 0.5,
        max_poll_s: float = 10.0,
        on_poll: Callable[[Job], None] | None = None,
    ) -> Job:
        delay = first_poll_s
        while not job.is_terminal:
            time.sleep(delay)
            delay = min(max_poll_s, delay * 1.6)
            job = self.get_job(job.id)
        return job

    def object_urls(self, object_ids: Sequence[str]) -> dict[str, str]:
        return {oid: f"mem://{oid}" for oid in object_ids}

    def download(self, url: str, dest: Path) -> int:
        dest.write_bytes(b"{}\n")
        if self.work is not None:
            holding = sum(1 for d in self.work.iterdir() if d.is_dir() and any(d.iterdir()))
            with self._lock:
                self.max_tables_with_files = max(self.max_tables_with_files, holding)
        return 3

    def creation_order(self) -> list[str]:
        return [c.qname for c in self.created]


@dataclass
class RecordingDestination:
    """Lands nothing: records each landing and whether two ever overlapped."""

    past: Mapping[str, TableHistory] = field(default_factory=dict)
    land_s: float = 0.01
    landed: list[str] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    overlapped: bool = False
    _busy: threading.Lock = field(default_factory=threading.Lock)

    def watermark(self, schema: TableSchema) -> datetime | None:
        return None

    def history(self) -> dict[str, TableHistory]:
        return dict(self.past)

    def land(self, spec: BatchSpec) -> BatchResult:
        if not self._busy.acquire(blocking=False):
            self.overlapped = True
            self._busy.acquire()
        try:
            time.sleep(self.land_s)
            self.landed.append(spec.schema.qualified_name)
            return BatchResult(len(self.landed), 1, 1, 0, ())
        finally:
            self._busy.release()

    def record_failure(
        self, namespace: str, table: str, *, kind: str, reason: str, error_type: str, message: str, fmt: str
    ) -> None:
        self.failures.append((f"{namespace}.{table}", message))

    def finish(self) -> None:
        return None


def known(seconds: float, rows: int = 0, batch_id: int = 1, **state: Any) -> TableHistory:
    """A table whose latest snapshot job took ``seconds`` (and never landed a watermark)."""
    return TableHistory(jobs={"snapshot": JobRecord(seconds, rows, batch_id)}, **state)


def max_in_window(stamps: Sequence[float], window: float) -> int:
    ordered = sorted(stamps)
    return max((sum(1 for t in ordered[i:] if t < start + window) for i, start in enumerate(ordered)), default=0)
