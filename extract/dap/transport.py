"""HTTP calls to the DAP API with authentication, rate limiting and bounded retries.

Retried: 429 and 503 (honouring ``Retry-After``, capped at ``max_retry_after_s``), every other
5xx including 504 (exponential backoff; so is a 503 without ``Retry-After``), connection resets
and timeouts. Not retried: other 4xx, which are answers, not accidents. A 401 triggers one fresh
login and one more try. Parsing is tolerant: any JSON answer is accepted and unknown fields
are ignored by the callers. Every wait that is logged is the sleep done, by this thread.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from extract.dap.auth import TokenManager
from extract.dap.errors import DapError, RateLimitedError, ServerError, error_from_response
from extract.dap.ratelimit import RateLimiter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try before giving up on one call."""

    max_attempts: int = 8
    base_delay_s: float = 0.5
    max_delay_s: float = 60.0
    default_retry_after_s: float = 30.0
    # A server's Retry-After is obeyed up to this; a longer one (e.g. a maintenance window) is cut
    # to it, so that one call never hangs for hours.
    max_retry_after_s: float = 120.0
    connect_timeout_s: float = 30.0
    read_timeout_s: float = 300.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter, capped (``attempt`` counts from 1)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return rng.uniform(ceiling / 2, ceiling)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (integer seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
        return max(0.0, moment.timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def retry_after_seconds(value: str | None, default: float) -> float:
    """Seconds from a ``Retry-After`` header, ``default`` if absent or unreadable."""
    seconds = parse_retry_after(value)
    return default if seconds is None else seconds


@dataclass
class CallStats:
    requests: int = 0
    retries: int = 0
    throttled_s: float = 0.0


class Transport:
    """Sends API requests; one instance is shared by every thread of a run."""

    def __init__(
        self,
        base_url: str,
        tokens: TokenManager,
        session: requests.Session,
        limiter: RateLimiter,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._tokens = tokens
        self._session = session
        self._limiter = limiter
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rng = random.Random()
        self._stats_lock = threading.Lock()
        self.stats = CallStats()

    def call(self, method: str, path: str, bucket: str, json_body: Any = None) -> Any:
        """One API call, retried as the policy allows; returns the parsed JSON answer."""
        policy = self.policy
        relogged = False
        last_error: DapError | None = None
        for attempt in range(1, policy.max_attempts + 1):
            waited = self._limiter.acquire(bucket)
            token = self._tokens.token()
            self._count(waited)
            try:
                response = self._session.request(
                    method,
                    f"{self.base_url}{path}",
                    json=json_body,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=(policy.connect_timeout_s, policy.read_timeout_s),
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                last_error = ServerError(message=f"{method} {path}: {type(exc).__name__}")
                self._pause_before_retry(attempt, last_error)
                continue
            if response.status_code < 400:
                return _parse_json(response, method, path)
            error = error_from_response(response.status_code, _body(response))
            if response.status_code == 401 and not relogged:
                relogged = True
                self._tokens.invalidate(token)
                log.info("%s %s: token refused, logging in again", method, path)
                continue
            if response.status_code == 429:
                last_error = RateLimitedError(
                    message=error.message, status=429, error_type=error.error_type, uuid=error.uuid
                )
                asked = retry_after_seconds(response.headers.get("Retry-After"), policy.default_retry_after_s)
                self._wait_retry_after(bucket, asked, attempt, last_error)
                continue
            if response.status_code >= 500:
                last_error = (
                    error
                    if isinstance(error, ServerError)
                    else ServerError(
                        message=error.message,
                        status=error.status,
                        error_type=error.error_type,
                        uuid=error.uuid,
                    )
                )
                asked = parse_retry_after(response.headers.get("Retry-After"))
                if response.status_code == 503 and asked is not None:
                    # "Unavailable, come back in N s": the server says when, backoff would guess.
                    self._wait_retry_after(bucket, asked, attempt, last_error)
                else:
                    self._pause_before_retry(attempt, last_error)
                continue
            raise error
        assert last_error is not None
        raise last_error

    def _wait_retry_after(self, bucket: str, asked: float, attempt: int, error: DapError) -> None:
        """Sleep what ``Retry-After`` asks (capped), holding the bucket for the other threads too.

        This thread sleeps itself rather than leave it to the limiter: the limiter holds only the
        buckets it limits (none with ``--no-rate-limit``), and the log must state the wait done.
        """
        if attempt >= self.policy.max_attempts:
            return  # no further try: nothing to wait for
        wait = min(asked, self.policy.max_retry_after_s)
        self._limiter.pause(bucket, wait)
        capped = f" (Retry-After {asked:.0f}s, capped)" if asked > wait else ""
        log.info(
            "%s; waiting %.1fs as the server asked%s (attempt %d of %d)",
            error,
            wait,
            capped,
            attempt + 1,
            self.policy.max_attempts,
        )
        self._count_retry()
        self._sleep(wait)
        with self._stats_lock:
            self.stats.throttled_s += wait

    def _pause_before_retry(self, attempt: int, error: DapError) -> None:
        if attempt >= self.policy.max_attempts:
            return
        delay = self.policy.backoff(attempt, self._rng)
        log.info("%s; retrying in %.1fs (attempt %d of %d)", error, delay, attempt + 1, self.policy.max_attempts)
        self._count_retry()
        self._sleep(delay)

    def _count(self, waited: float) -> None:
        with self._stats_lock:
            self.stats.requests += 1
            self.stats.throttled_s += waited

    def _count_retry(self) -> None:
        with self._stats_lock:
            self.stats.retries += 1


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


def _parse_json(response: requests.Response, method: str, path: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ServerError(
            message=f"{method} {path}: the DAP API answered with something that is not JSON",
            status=response.status_code,
        ) from None
