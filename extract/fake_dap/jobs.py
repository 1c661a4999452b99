"""Query jobs: the registry, reuse of identical queries, the state machine and expiry.

States: waiting -> running -> complete | failed. A job ends once its completion rule is met
(``Completion``: N polls and/or T seconds, T growing with the job's estimated rows for the
``scaled`` and ``realistic`` rules; immediate means at creation) *and* its rendering is done.
Jobs expire ``job_ttl_s`` after creation (wall clock): then GET job and its objects are 404.

Reuse: a POST with the same table, normalized query and store state returns the existing job
(with its original ``expires_at``) unless that job expired or failed; then a new job is made.
An injected failure (the ``job_failure`` fault) always makes a new job, so that it fires even
while the identical query's job is live; so does a required poll (``must_poll``) when that job
is already complete. Job ids are derived from the reuse key and a generation counter, so they
are deterministic.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from extract.fake_dap import errors
from extract.fake_dap.config import Completion
from extract.fake_dap.planner import JobPlan
from extract.fake_dap.render import Renderer
from extract.fake_dap.writers import PartFile
from extract.timeutil import iso_z


def wall_iso(epoch: float) -> str:
    return iso_z(datetime.fromtimestamp(epoch, UTC))


@dataclass
class Job:
    id: str
    plan: JobPlan
    created: float
    expires: float
    completion: Completion
    failure: dict[str, Any] | None = None  # the error object if the job is to fail
    polls: int = 0
    parts: list[PartFile] | None = None
    future: Future[list[PartFile]] | None = field(default=None, repr=False)

    @property
    def qname(self) -> str:
        return self.plan.qname

    def object_id(self, part: PartFile) -> str:
        return f"{self.id}/{part.name}"

    def _rule_met(self, now: float) -> bool:
        return self.polls >= self.completion.polls and now - self.created >= self.completion.seconds

    def _render_done(self) -> bool:
        if self.parts is not None:
            return True
        if self.future is not None and self.future.done():
            exc = self.future.exception()
            if exc is not None:
                self.failure = errors.processing_body(f"Query processing failed: {exc}")
            else:
                self.parts = self.future.result()
            return True
        return False

    def status(self, now: float) -> str:
        if self.failure is not None and self._rule_met(now):
            return "failed"
        if self._rule_met(now) and self._render_done():
            return "failed" if self.failure is not None else "complete"
        return "waiting" if self.polls == 0 and now - self.created < 1.0 else "running"

    def to_json(self, now: float) -> dict[str, Any]:
        """The exact key set of TableJob / CompleteSnapshotJob / CompleteIncrementalJob / FailedJob."""
        status = self.status(now)
        body: dict[str, Any] = {"id": self.id, "status": status}
        if status == "waiting":
            return body
        body["expires_at"] = wall_iso(self.expires)
        if status == "failed":
            body["error"] = self.failure
        elif status == "complete":
            assert self.parts is not None
            body["objects"] = [{"id": self.object_id(p)} for p in self.parts]
            body["schema_version"] = self.plan.schema_version
            if self.plan.at is not None:
                body["at"] = iso_z(self.plan.at)
            else:
                assert self.plan.since is not None and self.plan.until is not None
                body["since"] = iso_z(self.plan.since)
                body["until"] = iso_z(self.plan.until)
        return body


class JobRegistry:
    def __init__(
        self,
        renderer: Renderer,
        ttl_s: float,
        workers: int,
        must_poll: Callable[[str], bool] | None = None,
    ) -> None:
        self.renderer = renderer
        self.ttl_s = ttl_s
        # qname -> whether a new job must be answered not yet complete (a fault waits on GET job)
        self._must_poll = must_poll or (lambda qname: False)
        self._jobs: dict[str, Job] = {}
        self._by_reuse: dict[str, str] = {}
        self._generation: dict[str, int] = {}
        self._lock = threading.RLock()
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="fake-dap-render")

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def create_or_reuse(
        self, plan: JobPlan, now: float, completion: Completion, failure: dict[str, Any] | None
    ) -> tuple[Job, bool]:
        """The job for ``plan``: the live existing one (reused=True) or a new one."""
        with self._lock:
            poll = self._must_poll(plan.qname)
            if poll:
                completion = Completion(completion.outcome, max(1, completion.polls), completion.seconds)
            existing_id = self._by_reuse.get(plan.reuse_key)
            existing = self._jobs.get(existing_id) if existing_id else None
            if existing is not None and existing.expires > now and failure is None:
                status = existing.status(now)
                if status != "failed" and not (poll and status == "complete"):
                    return existing, True
            generation = self._generation.get(plan.reuse_key, 0)
            self._generation[plan.reuse_key] = generation + 1
            digest = hashlib.sha256(f"{plan.reuse_key}#{generation}".encode()).digest()
            job_id = str(uuid.UUID(bytes=digest[:16], version=4))
            if completion.outcome == "failed" and failure is None:
                failure = errors.processing_body("Query processing failed (simulated).")
            job = Job(job_id, plan, now, now + self.ttl_s, completion, failure)
            self._jobs[job_id] = job
            self._by_reuse[plan.reuse_key] = job_id
            if failure is None:
                cached = self.renderer.cached(plan.spec.render_key)
                if cached is not None:
                    job.parts = cached
                elif not completion.immediate:
                    job.future = self._pool.submit(self.renderer.render, plan.spec)
            return job, False

    def render_now(self, job: Job) -> None:
        """Render synchronously (immediate jobs); a rendering error fails the job."""
        if job.failure is not None or job.parts is not None:
            return
        try:
            job.parts = self.renderer.render(job.plan.spec)
        except Exception as exc:
            job.failure = errors.processing_body(f"Query processing failed: {exc}")

    def get(self, job_id: str, now: float) -> Job:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.expires <= now:
                raise errors.job_not_found(job_id)
            return job

    def peek(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def resolve_object(self, object_id: str, now: float) -> tuple[Job, PartFile]:
        """The job and part behind an object id; 404 (kind object) if unknown or expired."""
        job_id, _, name = object_id.partition("/")
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.expires <= now or job.status(now) != "complete" or job.parts is None:
            raise errors.object_not_found(object_id)
        for part in job.parts:
            if part.name == name:
                return job, part
        raise errors.object_not_found(object_id)

    def set_expiry(self, job: Job, expires: float) -> None:
        with self._lock:
            job.expires = expires

    def count(self) -> int:
        with self._lock:
            return len(self._jobs)

    def all(self) -> list[Job]:
        """Every job made so far, in creation order (benchmarks read their planned durations)."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda job: job.created)
