"""Switchable fault injection: each Fault targets an endpoint bucket (and optionally a table) and
fires for the next ``times`` matching requests (``times=None``: until cleared).

Kinds and their parameters (endpoint bucket names are in ``config.BUCKETS``; ``*`` matches all):

  Whole-response faults (any API bucket; they replace the response before auth is checked):
    http_status       status (default 500), retry_after (sets Retry-After), error_type, message:
                      JSON ``{"error":{type,uuid,message}}``; status 429 behaves like rate_limit
    rate_limit        429 with ``Retry-After: retry_after`` (default 1) and a JSON error body
    html_502          502 with an HTML body (Content-Type text/html): the "proxy page" case
    gateway_timeout   504 ``{"error":{"message":…}}``
    forbidden         403 with error_type AccountNotOnboarded | AccountDisabled |
                      AccountUnderMaintenance | RequestTypeForbidden (default AccountNotOnboarded)
    token_revoked     revokes every token issued so far, then answers 401 (so do later calls)
    drop_connection   on API buckets: close the socket without answering
    delay             sleep ``seconds`` before handling normally
  Handler faults:
    token_expiry      login: the token lives ``lifetime_s`` seconds (default 1; <= 0: already expired)
    job_failure       create_job: a new job (never a reused one) ends ``failed`` with error
                      {error_type, message}
    job_expiry        create_job / get_job: the job's expires_at becomes now + expires_in_s (default 0:
                      expired, so GET job and its objects answer 404)
    url_expiry        object_url: URLs expire ``expires_in_s`` after issue (default 0: already expired)
  Download faults (bucket ``download``):
    drop_connection   close the socket after ``after_bytes`` bytes of the body (default 0)
    truncated_gzip    serve only a prefix (``after_bytes``, or ``fraction`` of the file, default 0.5)
                      with a matching Content-Length, so the transfer looks complete
    slow_download     throttle to ``bytes_per_s`` (default 64 KiB/s)

A fault armed on ``get_job`` (endpoint named explicitly) also makes create_job answer a job that
is not complete yet (a new one if the identical query's job is complete), so that the client
must poll and the fault has a GET to hit, whatever the server's ``job_completion``.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from extract.fake_dap.config import BUCKETS, DOWNLOAD, FORBIDDEN_TYPES

RESPONSE_KINDS = frozenset(
    {
        "http_status",
        "rate_limit",
        "html_502",
        "gateway_timeout",
        "forbidden",
        "token_revoked",
        "drop_connection",
        "delay",
    }
)
DOWNLOAD_KINDS = frozenset({"drop_connection", "truncated_gzip", "slow_download"})
HANDLER_KINDS = frozenset({"token_expiry", "job_failure", "job_expiry", "url_expiry"})
KINDS = RESPONSE_KINDS | DOWNLOAD_KINDS | HANDLER_KINDS


@dataclass
class Fault:
    kind: str
    endpoint: str = "*"
    table: str | None = None  # "canvas.accounts" or just "accounts"
    times: int | None = 1
    status: int | None = None
    retry_after: int | None = None
    error_type: str | None = None
    message: str | None = None
    after_bytes: int | None = None
    fraction: float | None = None
    bytes_per_s: float | None = None
    seconds: float | None = None
    expires_in_s: float | None = None
    lifetime_s: float | None = None
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {sorted(KINDS)}")
        if self.endpoint != "*" and self.endpoint not in BUCKETS:
            raise ValueError(f"unknown endpoint bucket {self.endpoint!r}; known: {BUCKETS}")
        if self.kind == "forbidden" and self.error_type not in (None, *FORBIDDEN_TYPES):
            raise ValueError(f"forbidden fault error_type must be one of {FORBIDDEN_TYPES}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1, or None for 'until cleared'")

    def matches(self, endpoint: str, table: str | None) -> bool:
        if self.endpoint not in ("*", endpoint):
            return False
        if self.table is None:
            return True
        if table is None:
            return False
        return self.table in (table, table.split(".", 1)[-1])

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Fault:
        known = {f.name for f in fields(cls)} - {"fired"}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}")
        return cls(**raw)


class FaultSet:
    """Thread-safe list of active faults; ``take`` consumes one firing of the first match."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.history: list[dict[str, Any]] = []  # every firing: kind, endpoint, table

    def add(self, *faults: Fault) -> None:
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def active(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def take(self, endpoint: str, table: str | None, kinds: frozenset[str] | set[str]) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind in kinds and fault.matches(endpoint, table):
                    fault.fired += 1
                    if fault.times is not None and fault.fired >= fault.times:
                        self._faults.remove(fault)
                    self.history.append({"kind": fault.kind, "endpoint": endpoint, "table": table})
                    return fault
        return None

    def armed(self, endpoint: str, table: str | None) -> bool:
        """Whether a fault that names ``endpoint`` explicitly would fire for ``table`` (not consumed)."""
        with self._lock:
            return any(f.endpoint == endpoint and f.matches(endpoint, table) for f in self._faults)

    @staticmethod
    def response_kinds_for(endpoint: str) -> frozenset[str]:
        """Kinds that replace a whole response on this bucket (downloads handle their own)."""
        return RESPONSE_KINDS - {"drop_connection"} if endpoint == DOWNLOAD else RESPONSE_KINDS
