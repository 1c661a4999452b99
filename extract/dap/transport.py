"""HTTP calls to the DAP API with authentication, rate limiting and bounded retries.

Retried: 429 (honouring ``Retry-After``), every 5xx including 504, connection resets and
timeouts. Not retried: other 4xx, which are answers, not accidents. A 401 triggers one fresh
login and one more try. Parsing is tolerant: any JSON answer is accepted and unknown fields
are ignored by the callers.
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
    connect_timeout_s: float = 30.0
    read_timeout_s: float = 300.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Exponential backoff with full jitter, capped (``attempt`` counts from 1)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * (2 ** (attempt - 1)))
        return rng.uniform(ceiling / 2, ceiling)


def retry_after_seconds(value: str | None, default: float) -> float:
    """Seconds from a ``Retry-After`` header (integer seconds or an HTTP date)."""
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
        return max(0.0, moment.timestamp() - time.time())
    except (TypeError, ValueError):
        return default


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
                wait = retry_after_seconds(response.headers.get("Retry-After"), policy.default_retry_after_s)
                self._limiter.pause(bucket, wait)
                last_error = RateLimitedError(
                    message=error.message, status=429, error_type=error.error_type, uuid=error.uuid
                )
                log.info("%s %s: rate limited, waiting %.1fs (attempt %d)", method, path, wait, attempt)
                self._count_retry()
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
                self._pause_before_retry(attempt, last_error)
                continue
            raise error
        assert last_error is not None
        raise last_error

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
