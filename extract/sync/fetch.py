"""Run one query job to completion and download its files, surviving expiry.

* A job that the API hands back (reused) with little time left before it expires is waited
  out and posted again, rather than downloaded half-way and lost.
* Object URLs are asked for in batches, right before the downloads (not while a completed job
  waits for a files slot); a URL that expired (403/404 from storage) is asked for again; a job
  whose objects are gone (404) is posted again from scratch.
* Files are streamed to disk in parallel on a shared download pool.
* The plan's gates (``pacing.Pacer``): a job slot (and, for the table's first job, its turn) from
  before the POST to the job's end; a files slot from then on, kept when the files are returned
  (the caller releases it once they are landed and removed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from extract.dap.client import DapClient, Job
from extract.dap.errors import DapError, NotFoundError, UrlExpiredError
from extract.names import inside
from extract.sync.pacing import Pacer
from extract.timeutil import utc_now

log = logging.getLogger(__name__)

EXTENSIONS = {"jsonl": ".json.gz", "csv": ".csv.gz", "tsv": ".tsv.gz", "parquet": ".parquet"}


class JobExpiredError(DapError):
    """The job (or its objects) expired before every file was downloaded."""


class _JobGoneError(Exception):
    """Job ``job_id`` or its objects are gone (404): post the query again."""

    def __init__(self, job_id: str, cause: Exception) -> None:
        super().__init__(job_id, cause)
        self.job_id, self.cause = job_id, cause


@dataclass
class FetchedJob:
    job: Job
    files: list[Path]
    bytes: int
    started_at: datetime  # when the POST of the job that made the files was answered
    job_finished_at: datetime
    downloaded_at: datetime
    restarts: int = 0


@dataclass
class FetchPolicy:
    max_job_restarts: int = 3
    max_url_renewals: int = 3
    min_job_ttl: timedelta = timedelta(minutes=2)
    max_expiry_wait_s: float = 180.0
    # job status polls: the first after this, then 1.6 times longer each, up to max_poll_s
    first_poll_s: float = 0.5
    max_poll_s: float = 10.0


@dataclass
class JobFetcher:
    client: DapClient
    download_pool: Executor
    policy: FetchPolicy = field(default_factory=FetchPolicy)
    sleep: Callable[[float], None] = time.sleep
    # The work folder: every download folder must be inside it (it is emptied and removed).
    root: Path | None = None
    pacer: Pacer = field(default_factory=Pacer)

    def fetch(
        self,
        namespace: str,
        table: str,
        query: dict[str, Any],
        dest: Path,
        on_job: Callable[[Job], None] | None = None,
        on_file: Callable[[int], None] | None = None,
    ) -> FetchedJob:
        """Post ``query``, wait for the job, download every object into ``dest``. Returns holding
        the table's files slot."""
        qname = f"{namespace}.{table}"
        for restart in range(self.policy.max_job_restarts + 1):
            try:
                started, job = self._run_job(namespace, table, query, on_job)
                finished = utc_now()
                self.pacer.hold_files(qname)
                files, size = self._download_all(job, dest, query.get("format", "jsonl"), on_file)
            except _JobGoneError as exc:
                # The job or its objects are gone (404): the same query, posted again, makes a new job.
                log.warning("%s: job %s expired (%s); posting the query again", qname, exc.job_id, exc.cause)
                self._drop_files(qname, dest)
                continue
            return FetchedJob(job, files, size, started, finished, utc_now(), restarts=restart)
        raise JobExpiredError(
            message=f"{qname}: the query job expired {self.policy.max_job_restarts + 1} times "
            "before its files were downloaded"
        )

    def _run_job(
        self, namespace: str, table: str, query: dict[str, Any], on_job: Callable[[Job], None] | None
    ) -> tuple[datetime, Job]:
        """Post the query and wait until its job is complete, in a job slot; (when posted, job).
        A 404 for the POST itself (no such table) is an answer, not an expiry: it is raised as is."""
        with self.pacer.job(f"{namespace}.{table}"):
            try:
                job = self.client.start_job(namespace, table, query)
            finally:
                self.pacer.posted(f"{namespace}.{table}")
            started = utc_now()  # after the rate limiter's wait: the job's own time starts here
            try:
                job = self._avoid_expiring(namespace, table, query, job)
                if on_job:
                    on_job(job)
                job = self.client.wait_for_job(
                    job, first_poll_s=self.policy.first_poll_s, max_poll_s=self.policy.max_poll_s, on_poll=on_job
                )
            except (JobExpiredError, NotFoundError) as exc:
                raise _JobGoneError(job.id, exc) from exc
        return started, job

    def _drop_files(self, qname: str, dest: Path) -> None:
        """Before waiting for a new job: the files of this attempt go, and so does the files slot."""
        if dest.is_dir():
            if self.root is not None:
                inside(self.root, dest)
            for stale in dest.iterdir():
                stale.unlink()
        self.pacer.release_files(qname)

    def _avoid_expiring(self, namespace: str, table: str, query: dict[str, Any], job: Job) -> Job:
        """A reused job about to expire is waited out, then posted again (a new job results)."""
        if job.expires_at is None or job.expires_at - utc_now() >= self.policy.min_job_ttl:
            return job
        wait = (job.expires_at - utc_now()).total_seconds() + 1.0
        if wait > self.policy.max_expiry_wait_s:
            return job
        log.info("%s.%s: job %s expires in %.0fs; waiting for a fresh one", namespace, table, job.id, wait)
        self.sleep(max(wait, 0.0))
        return self.client.start_job(namespace, table, query)

    def _download_all(
        self, job: Job, dest: Path, fmt: str, on_file: Callable[[int], None] | None
    ) -> tuple[list[Path], int]:
        if self.root is not None:
            inside(self.root, dest)  # before anything is created or removed there
        dest.mkdir(parents=True, exist_ok=True)
        for stale in dest.iterdir():
            stale.unlink()  # files of an earlier attempt (a folder here fails the table, nothing is removed)
        try:
            urls = self.client.object_urls(job.objects)
        except NotFoundError as exc:
            raise _JobGoneError(job.id, exc) from exc
        extension = EXTENSIONS.get(fmt, "")
        # File names are ours (a counter), never the API's object ids.
        targets = {oid: inside(dest, dest / f"part-{i:05d}{extension}") for i, oid in enumerate(job.objects)}
        futures = {
            oid: self.download_pool.submit(self._download_one, oid, urls[oid], targets[oid], on_file)
            for oid in job.objects
        }
        total = 0
        errors: list[BaseException] = []
        for future in futures.values():
            try:
                total += future.result()
            except BaseException as exc:  # collect all, then raise the first
                errors.append(exc)
        if errors:
            if isinstance(errors[0], JobExpiredError | NotFoundError):
                raise _JobGoneError(job.id, errors[0]) from errors[0]
            raise errors[0]
        return [targets[oid] for oid in job.objects], total

    def _download_one(self, object_id: str, url: str, target: Path, on_file: Callable[[int], None] | None) -> int:
        for renewal in range(self.policy.max_url_renewals + 1):
            try:
                size = self.client.download(url, target)
                if on_file:
                    on_file(size)
                return size
            except UrlExpiredError:
                if renewal == self.policy.max_url_renewals:
                    raise
                log.info("URL of %s expired; asking for a new one", target.name)
                try:
                    url = self.client.object_urls([object_id])[object_id]
                except NotFoundError as exc:
                    raise JobExpiredError(message=str(exc)) from exc
        raise AssertionError("unreachable")
