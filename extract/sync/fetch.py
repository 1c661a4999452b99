"""Run one query job to completion and download its files, surviving expiry.

* A job that the API hands back (reused) with little time left before it expires is waited
  out and posted again, rather than downloaded half-way and lost.
* Object URLs are asked for in batches; a URL that expired (403/404 from storage) is asked
  for again; a job whose objects are gone (404) is posted again from scratch.
* Files are streamed to disk in parallel on a shared download pool.
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
from extract.timeutil import utc_now

log = logging.getLogger(__name__)

EXTENSIONS = {"jsonl": ".json.gz", "csv": ".csv.gz", "tsv": ".tsv.gz", "parquet": ".parquet"}


class JobExpiredError(DapError):
    """The job (or its objects) expired before every file was downloaded."""


@dataclass
class FetchedJob:
    job: Job
    files: list[Path]
    bytes: int
    started_at: datetime
    job_finished_at: datetime
    downloaded_at: datetime
    restarts: int = 0


@dataclass
class FetchPolicy:
    max_job_restarts: int = 3
    max_url_renewals: int = 3
    min_job_ttl: timedelta = timedelta(minutes=2)
    max_expiry_wait_s: float = 180.0


@dataclass
class JobFetcher:
    client: DapClient
    download_pool: Executor
    policy: FetchPolicy = field(default_factory=FetchPolicy)
    sleep: Callable[[float], None] = time.sleep
    # The work folder: every download folder must be inside it (it is emptied and removed).
    root: Path | None = None

    def fetch(
        self,
        namespace: str,
        table: str,
        query: dict[str, Any],
        dest: Path,
        on_job: Callable[[Job], None] | None = None,
        on_file: Callable[[int], None] | None = None,
    ) -> FetchedJob:
        """Post ``query``, wait for the job, download every object into ``dest``."""
        started = utc_now()
        for restart in range(self.policy.max_job_restarts + 1):
            job = self.client.start_job(namespace, table, query)
            try:
                job = self._avoid_expiring(namespace, table, query, job)
                if on_job:
                    on_job(job)
                job = self.client.wait_for_job(job, on_poll=on_job)
                finished = utc_now()
                files, size = self._download_all(job, dest, query.get("format", "jsonl"), on_file)
            except (JobExpiredError, NotFoundError) as exc:
                # The job or its objects are gone (404): the same query, posted again, makes a new job.
                log.warning("%s.%s: job %s expired (%s); posting the query again", namespace, table, job.id, exc)
                continue
            return FetchedJob(job, files, size, started, finished, utc_now(), restarts=restart)
        raise JobExpiredError(
            message=f"{namespace}.{table}: the query job expired {self.policy.max_job_restarts + 1} times "
            "before its files were downloaded"
        )

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
            raise JobExpiredError(message=str(exc)) from exc
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
