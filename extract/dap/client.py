"""A DAP Query API client on ``requests`` (ours, not Instructure's).

Endpoints: list tables, table schema, start a query job, job status, pre-signed object URLs,
and streamed downloads. Answers are parsed tolerantly: fields we do not know are ignored.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests
import urllib3

from extract import __version__
from extract.dap.auth import Credentials, TokenManager
from extract.dap.errors import DownloadError, JobFailedError, ServerError, UrlExpiredError
from extract.dap.ratelimit import RATE_MARGIN_S, RATE_WINDOW_S, REAL_API_LIMITS, RateLimiter
from extract.dap.transport import RetryPolicy, Transport
from extract.landing.diskfull import DiskFullError, download_full, is_disk_full
from extract.timeutil import parse_iso

log = logging.getLogger(__name__)

URL_BATCH_SIZE = 100
DOWNLOAD_CHUNK = 1 << 20
USER_AGENT = f"cd2-duckdb/{__version__}"


def _optional_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return parse_iso(str(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class Job:
    """A query job as the API reports it (snapshot jobs have ``at``, incrementals since/until)."""

    id: str
    status: str
    expires_at: datetime | None = None
    objects: tuple[str, ...] = ()
    schema_version: int | None = None
    at: datetime | None = None
    since: datetime | None = None
    until: datetime | None = None
    error: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Job:
        objects = tuple(str(o["id"]) for o in raw.get("objects") or () if isinstance(o, dict) and "id" in o)
        version = raw.get("schema_version")
        return cls(
            id=str(raw["id"]),
            status=str(raw.get("status", "")),
            expires_at=_optional_time(raw.get("expires_at")),
            objects=objects,
            schema_version=int(version) if version is not None else None,
            at=_optional_time(raw.get("at")),
            since=_optional_time(raw.get("since")),
            until=_optional_time(raw.get("until")),
            error=raw.get("error") if isinstance(raw.get("error"), dict) else None,
        )

    @property
    def is_terminal(self) -> bool:
        return self.status in ("complete", "failed")

    @property
    def watermark(self) -> datetime | None:
        """The time this job's data is complete up to: ``at`` (snapshot) or ``until``."""
        return self.at or self.until


@dataclass(frozen=True)
class DownloadPolicy:
    max_attempts: int = 5
    base_delay_s: float = 0.5
    connect_timeout_s: float = 30.0
    read_timeout_s: float = 120.0  # between bytes, not for the whole file


class DapClient:
    """Thread-safe client: share one instance across all tables of a run."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        retry: RetryPolicy | None = None,
        download: DownloadPolicy | None = None,
        limits: dict[str, int] | None = None,
        rate_window_s: float = RATE_WINDOW_S,
        rate_margin_s: float = RATE_MARGIN_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``limits``: calls per ``rate_window_s`` (plus ``rate_margin_s``) per endpoint bucket (None:
        the real API's per minute, {}: none). Other windows only serve a fake API whose time is
        scaled down (``bench/sync_limits.py``)."""
        self.credentials = credentials
        self._session = requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT
        self.tokens = TokenManager(credentials, self._session)
        self.limiter = RateLimiter(
            REAL_API_LIMITS if limits is None else limits, window_s=rate_window_s, margin_s=rate_margin_s
        )
        self.transport = Transport(credentials.base_url, self.tokens, self._session, self.limiter, retry, sleep)
        self.download_policy = download or DownloadPolicy()
        self._sleep = sleep
        self._local = threading.local()
        self._rng = random.Random()

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> DapClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- metadata --------------------------------------------------------------------------------
    def list_tables(self, namespace: str) -> list[str]:
        answer = self.transport.call("GET", f"/dap/query/{_segment(namespace)}/table", "list_tables")
        return [str(t) for t in answer.get("tables", [])]

    def get_schema(self, namespace: str, table: str) -> tuple[int, dict[str, Any]]:
        path = f"/dap/query/{_segment(namespace)}/table/{_segment(table)}/schema"
        answer = self.transport.call("GET", path, "schema")
        return int(answer["version"]), dict(answer["schema"])

    # ---- jobs ----------------------------------------------------------------------------------------
    def start_job(self, namespace: str, table: str, query: dict[str, Any]) -> Job:
        path = f"/dap/query/{_segment(namespace)}/table/{_segment(table)}/data"
        answer = self.transport.call("POST", path, "create_job", query)
        return Job.from_json(answer)

    def get_job(self, job_id: str) -> Job:
        return Job.from_json(self.transport.call("GET", f"/dap/job/{_segment(job_id)}", "get_job"))

    def wait_for_job(
        self,
        job: Job,
        *,
        first_poll_s: float = 0.5,
        max_poll_s: float = 10.0,
        on_poll: Callable[[Job], None] | None = None,
    ) -> Job:
        """Poll until the job is terminal (gentle backoff); raise JobFailedError if it failed."""
        delay = first_poll_s
        while not job.is_terminal:
            self._sleep(delay)
            delay = min(max_poll_s, delay * 1.6)
            job = self.get_job(job.id)
            if on_poll is not None:
                on_poll(job)
        if job.status == "failed":
            raise JobFailedError(job.id, job.error)
        if not job.objects:
            # A complete job answered by the POST may omit its objects; read them once.
            job = self.get_job(job.id)
        return job

    def object_urls(self, object_ids: Iterable[str]) -> dict[str, str]:
        """Pre-signed URLs for objects, asked in batches (the endpoint takes a list)."""
        ids = list(object_ids)
        urls: dict[str, str] = {}
        for start in range(0, len(ids), URL_BATCH_SIZE):
            batch = ids[start : start + URL_BATCH_SIZE]
            answer = self.transport.call("POST", "/dap/object/url", "object_url", [{"id": i} for i in batch])
            found = answer.get("urls", {})
            for object_id in batch:
                entry = found.get(object_id)
                if not isinstance(entry, dict) or "url" not in entry:
                    raise ServerError(message=f"the DAP API gave no URL for object {object_id}")
                urls[object_id] = str(entry["url"])
        return urls

    # ---- downloads -----------------------------------------------------------------------------------
    def _download_session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            # Ask for the bytes as stored: a transparent gzip decode would corrupt .gz files.
            session.headers["Accept-Encoding"] = "identity"
            self._local.session = session
        return session

    def download(self, url: str, dest: Path) -> int:
        """Stream one pre-signed URL to ``dest``; returns bytes written.

        Retries dropped connections, timeouts and 5xx; a 403/404 means the URL (or its
        object) expired and raises UrlExpiredError so the caller can ask for a new URL. A full
        disk raises DiskFullError at once: it is not the network's fault, and trying again
        would only fill the disk again.
        """
        policy = self.download_policy
        last: Exception | None = None
        for attempt in range(1, policy.max_attempts + 1):
            try:
                return self._download_once(url, dest)
            except (UrlExpiredError, DiskFullError):
                raise
            except (requests.RequestException, urllib3.exceptions.HTTPError, DownloadError, OSError) as exc:
                last = exc
                if attempt < policy.max_attempts:
                    delay = policy.base_delay_s * (2 ** (attempt - 1)) * self._rng.uniform(0.5, 1.0)
                    log.info("download of %s failed (%s); retrying in %.1fs", dest.name, _describe(exc), delay)
                    self._sleep(delay)
        raise DownloadError(
            message=f"download of {dest.name} failed {policy.max_attempts} times; last error: {_describe(last)}"
        )

    def _download_once(self, url: str, dest: Path) -> int:
        policy = self.download_policy
        tmp = dest.with_name(dest.name + ".part")
        with self._download_session().get(
            url, stream=True, timeout=(policy.connect_timeout_s, policy.read_timeout_s)
        ) as response:
            if response.status_code in (403, 404):
                raise UrlExpiredError(
                    message=f"object URL refused with HTTP {response.status_code}",
                    status=response.status_code,
                )
            if response.status_code >= 400:
                raise DownloadError(
                    message=f"object download answered HTTP {response.status_code}",
                    status=response.status_code,
                )
            expected = response.headers.get("Content-Length")
            written = 0
            try:
                with tmp.open("wb") as handle:
                    for chunk in response.raw.stream(DOWNLOAD_CHUNK, decode_content=False):
                        handle.write(chunk)
                        written += len(chunk)
            except OSError as exc:
                if not is_disk_full(exc):
                    raise
                tmp.unlink(missing_ok=True)  # give the space back to the other downloads
                size = int(expected) if expected and expected.isdigit() else None
                raise download_full(dest, size, exc) from exc
        if expected is not None and int(expected) != written:
            tmp.unlink(missing_ok=True)
            raise DownloadError(message=f"connection dropped after {written} of {expected} bytes")
        tmp.replace(dest)
        return written


def _segment(name: str) -> str:
    """A name from the API or the user as one URL path segment: a ``/`` or ``..`` in it can never
    address another endpoint (CD2's own names need no escaping and are sent as they are)."""
    return quote(name, safe="")


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    text = str(exc)
    # requests puts the full URL (with its signature) into some messages: never show it.
    if "http://" in text or "https://" in text:
        return type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
