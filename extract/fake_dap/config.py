"""Configuration of the fake DAP server: one dataclass, plus parsers for its compact string options."""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CLIENT_ID = "us-east-1#cd2-fake-client"
DEFAULT_CLIENT_SECRET = "cd2-fake-secret"

FORMATS = ("tsv", "csv", "jsonl", "parquet")
MODES = ("expanded", "condensed")
WINDOWS = ("open-closed", "closed-open")
CSV_NULLS = ("empty", "NULL")
JSONL_NULLS = ("omit", "explicit")
PARQUET_CODECS = ("snappy", "zstd", "gzip", "none")
NAMESPACES = ("canvas", "canvas_logs", "catalog", "new_quizzes")
FORBIDDEN_TYPES = ("AccountNotOnboarded", "AccountDisabled", "AccountUnderMaintenance", "RequestTypeForbidden")

# Endpoint buckets (also the names used by faults, rate limits and the request log).
LOGIN = "login"
LIST_TABLES = "list_tables"
SCHEMA = "schema"
CREATE_JOB = "create_job"
GET_JOB = "get_job"
OBJECT_URL = "object_url"
DOWNLOAD = "download"
CONTROL = "control"
OTHER = "other"
BUCKETS = (LOGIN, LIST_TABLES, SCHEMA, CREATE_JOB, GET_JOB, OBJECT_URL, DOWNLOAD, CONTROL, OTHER)

# Documented per-minute limits of the real API (login's is unknown, so it is not limited).
REAL_RATE_LIMITS: dict[str, int] = {LIST_TABLES: 5, CREATE_JOB: 5, GET_JOB: 500, SCHEMA: 500, OBJECT_URL: 200}


# ``realistic``: 20 s + 30 s per million rows of the result, at most 15 min. The API's job latency is
# undocumented (cd2_2026.md §6): tens of seconds for a small table, minutes for the big ones (UBC
# reports whole syncs of big tables beyond 15 min, downloads included). On the ``large`` profile
# submissions (~3 M rows) take ~2 min and the 30-day web_logs snapshot (~28 M) ~14.5 min.
REALISTIC_COMPLETION = "scaled:20+30:cap=900"


@dataclass(frozen=True)
class Completion:
    """When and how a new job ends: ``outcome`` after ``polls`` GETs and ``seconds`` of wall time,
    plus ``per_million_rows_s`` for each million rows of its result, at most ``cap_s`` in all."""

    outcome: str = "complete"  # or "failed"
    polls: int = 0
    seconds: float = 0.0
    per_million_rows_s: float = 0.0
    cap_s: float | None = None

    @property
    def immediate(self) -> bool:
        return self.polls == 0 and self.seconds == 0 and self.per_million_rows_s == 0

    def for_rows(self, rows: int) -> Completion:
        """The rule of one job whose result holds ``rows`` rows: its duration in fixed seconds."""
        seconds = self.seconds + self.per_million_rows_s * rows / 1e6
        if self.cap_s is not None:
            seconds = min(seconds, self.cap_s)
        return Completion(self.outcome, self.polls, seconds)

    def scaled(self, factor: float) -> Completion:
        """Every duration times ``factor`` (a benchmark's time scale; polls are counts, kept)."""
        cap = None if self.cap_s is None else self.cap_s * factor
        return Completion(self.outcome, self.polls, self.seconds * factor, self.per_million_rows_s * factor, cap)

    def spec(self) -> str:
        """The text form ``parse`` reads back."""
        prefix = "fail:" if self.outcome == "failed" else ""
        if self.per_million_rows_s or self.cap_s is not None:
            cap = f":cap={self.cap_s:g}" if self.cap_s is not None else ""
            return f"{prefix}scaled:{self.seconds:g}+{self.per_million_rows_s:g}{cap}"
        if self.polls:
            return f"{prefix}polls:{self.polls}"
        return f"{prefix}seconds:{self.seconds:g}" if self.seconds else f"{prefix}immediate"

    @classmethod
    def parse(cls, text: str) -> Completion:
        """``immediate`` | ``polls:N`` | ``seconds:T`` | ``scaled:BASE+PER_MROWS[:cap=MAX]`` (BASE s plus
        PER_MROWS s per million result rows, at most MAX s) | ``realistic`` (a preset of scaled),
        optionally prefixed by ``fail`` (``fail:polls:2``)."""
        parts = [p.strip() for p in text.split(":") if p.strip()]
        outcome = "complete"
        if parts and parts[0] == "fail":
            outcome, parts = "failed", parts[1:]
        if parts == ["realistic"]:
            parts = REALISTIC_COMPLETION.split(":")
        if not parts or parts == ["immediate"]:
            return cls(outcome)
        if len(parts) == 2 and parts[0] == "polls" and parts[1].isdigit():
            return cls(outcome, polls=int(parts[1]))
        if len(parts) == 2 and parts[0] == "seconds" and (seconds := _seconds(parts[1])) is not None:
            return cls(outcome, seconds=seconds)
        if parts[0] == "scaled" and (scaled := _scaled(outcome, parts[1:])) is not None:
            return scaled
        raise ValueError(
            f"job_completion {text!r}: use immediate, polls:N, seconds:T, scaled:BASE+PER_MROWS[:cap=MAX] "
            "or realistic, optionally fail:…"
        )


def _scaled(outcome: str, parts: list[str]) -> Completion | None:
    """``BASE+PER_MROWS`` and an optional ``cap=MAX`` as a Completion; None if malformed."""
    if len(parts) not in (1, 2) or (len(parts) == 2 and not parts[1].startswith("cap=")):
        return None
    base, plus, per_million = parts[0].partition("+")
    seconds, per_million_s = _seconds(base), _seconds(per_million)
    cap = _seconds(parts[1].removeprefix("cap=")) if len(parts) == 2 else None
    if not plus or seconds is None or per_million_s is None or (len(parts) == 2 and cap is None):
        return None
    return Completion(outcome, 0, seconds, per_million_s, cap)


def _seconds(text: str) -> float | None:
    """A finite, non-negative number of seconds, or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value >= 0 and math.isfinite(value) else None


@dataclass
class ServerConfig:
    """Every switch of the fake server. Defaults give a well-behaved, unthrottled API."""

    host: str = "127.0.0.1"
    port: int = 0
    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    token_lifetime_s: float = 3600
    # False: no limits; True: the real API's per-minute limits; a mapping: bucket -> calls per minute.
    rate_limits: bool | Mapping[str, int] = False
    rate_window_s: float = 60.0
    # immediate | polls:N | seconds:T | scaled:BASE+PER_MROWS[:cap=MAX] | realistic (``Completion``)
    job_completion: str = "immediate"
    job_ttl_s: float = 86400
    url_ttl_s: float = 900
    rows_per_file: int = 500_000
    window: str = "open-closed"  # since < ts <= until; "closed-open" gives since <= ts < until
    csv_null: str = "empty"  # or "NULL" (unquoted literal)
    jsonl_nulls: str = "omit"  # or "explicit": a null value property is written as "name":null
    default_mode: str = "expanded"  # used when a query omits "mode"
    web_logs_retention_days: float = 30
    cache_dir: str | Path | None = None
    parquet_codec: str = "snappy"
    gzip_level: int = 1
    scope: str = "dap:query"  # the ``scope`` string of the login response
    # 403 on every /dap/* call with this error type (AccountNotOnboarded, AccountDisabled, …).
    forbidden: str | None = None
    # Also list tables and serve a schema whose names are hostile (see extract/fake_dap/hostile.py).
    hostile_names: bool = False
    render_threads: int = 2  # DuckDB threads per rendering
    render_memory_limit: str = "2GB"
    render_workers: int = 2  # background renderings at once (jobs that are not immediate)
    download_chunk: int = 64 * 1024
    clock: Callable[[], float] = field(default=time.time, repr=False)  # wall clock (expiry, limits, log)

    def __post_init__(self) -> None:
        if not _is_loopback(self.host):
            raise ValueError(f"the fake DAP server binds to loopback only, not {self.host!r}")
        for name, value, allowed in (
            ("window", self.window, WINDOWS),
            ("csv_null", self.csv_null, CSV_NULLS),
            ("jsonl_nulls", self.jsonl_nulls, JSONL_NULLS),
            ("default_mode", self.default_mode, MODES),
            ("parquet_codec", self.parquet_codec, PARQUET_CODECS),
        ):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {value!r}")
        if self.forbidden is not None and self.forbidden not in FORBIDDEN_TYPES:
            raise ValueError(f"forbidden must be one of {FORBIDDEN_TYPES}, not {self.forbidden!r}")
        if self.rows_per_file < 1:
            raise ValueError("rows_per_file must be at least 1")
        Completion.parse(self.job_completion)
        self.rate_limit_table()

    @property
    def completion(self) -> Completion:
        return Completion.parse(self.job_completion)

    @property
    def closed_open(self) -> bool:
        return self.window == "closed-open"

    def rate_limit_table(self) -> dict[str, int]:
        """Calls per ``rate_window_s`` for each limited bucket (empty when limits are off)."""
        if self.rate_limits is False:
            return {}
        if self.rate_limits is True:
            return dict(REAL_RATE_LIMITS)
        table = {str(k): int(v) for k, v in self.rate_limits.items()}
        unknown = set(table) - set(BUCKETS)
        if unknown:
            raise ValueError(f"rate_limits has unknown endpoint buckets {sorted(unknown)}; known: {BUCKETS}")
        return table


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
