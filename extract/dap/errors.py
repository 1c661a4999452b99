"""Typed errors of the DAP Query API, mapped from its error bodies.

The API answers errors as ``{"error": {"type", "uuid", "message", …}}``. Unlike the official
client (which picks a class from the set of keys and so can never produce SnapshotRequired),
we read ``type`` first and fall back to the keys and the message, so that a reloaded table
(SnapshotRequired) is told apart from a window the API no longer holds (OutOfRange).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DapError(Exception):
    """Base class: a failed DAP API call, with the server's message and correlation id."""

    message: str
    status: int | None = None
    error_type: str | None = None
    uuid: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        parts = [self.message or self.__class__.__name__]
        if self.error_type:
            parts.append(f"[{self.error_type}]")
        if self.status:
            parts.append(f"(HTTP {self.status})")
        if self.uuid:
            parts.append(f"uuid={self.uuid}")
        return " ".join(parts)

    @property
    def retryable(self) -> bool:
        return False


class AuthenticationError(DapError):
    """Bad credentials, or a token the server no longer accepts."""


class AccountError(DapError):
    """403: account not onboarded, disabled, under maintenance, or request type forbidden."""


class ValidationError(DapError):
    """400: the request body was refused."""


class NotFoundError(DapError):
    """404: namespace, table, job or object does not exist (or has expired)."""

    @property
    def kind(self) -> str | None:
        return self.details.get("kind")


class OutOfRangeError(DapError):
    """400: no data in the requested window (e.g. web_logs older than its retention)."""


class SnapshotRequiredError(OutOfRangeError):
    """400: the table was reloaded server-side; incrementals must restart from a snapshot."""


class ProcessingError(DapError):
    """The server failed to process the request."""


class RateLimitedError(DapError):
    """429 after all retries."""

    @property
    def retryable(self) -> bool:
        return True


class ServerError(DapError):
    """5xx (or an unexpected, non-JSON answer) after all retries."""

    @property
    def retryable(self) -> bool:
        return True


class JobFailedError(DapError):
    """A query job ended in ``failed``; carries the job's own error type, uuid and message."""

    def __init__(self, job_id: str, error: dict[str, Any] | None) -> None:
        error = error or {}
        super().__init__(
            message=f"query job {job_id} failed: {error.get('message') or 'no message given'}",
            error_type=error.get("type"),
            uuid=error.get("uuid"),
            details={"job_id": job_id},
        )


class DownloadError(DapError):
    """A data file could not be downloaded intact (after retries)."""

    @property
    def retryable(self) -> bool:
        return True


class UrlExpiredError(DownloadError):
    """A pre-signed URL was refused (403/404 from object storage): ask for a new one."""


_BY_TYPE: dict[str, type[DapError]] = {
    "authenticationerror": AuthenticationError,
    "unauthorized": AuthenticationError,
    "accountnotonboarded": AccountError,
    "accountdisabled": AccountError,
    "accountundermaintenance": AccountError,
    "requesttypeforbidden": AccountError,
    "validationerror": ValidationError,
    "objectnotfound": NotFoundError,
    "notfound": NotFoundError,
    "outofrange": OutOfRangeError,
    "outofrangeerror": OutOfRangeError,
    "snapshotrequired": SnapshotRequiredError,
    "snapshotrequirederror": SnapshotRequiredError,
    "processingerror": ProcessingError,
}


def error_from_response(status: int, body: Any) -> DapError:
    """Map an HTTP error status and its (parsed JSON, or raw text) body to a typed error."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        text = body if isinstance(body, str) else repr(body)
        snippet = " ".join(str(text).split())[:200]
        cls: type[DapError] = RateLimitedError if status == 429 else ServerError
        if status == 401:
            cls = AuthenticationError
        return cls(message=f"unexpected answer from the DAP API: {snippet or 'empty body'}", status=status)
    error: dict[str, Any] = body["error"]
    message = str(error.get("message") or "")
    error_type = error.get("type")
    details = {k: v for k, v in error.items() if k not in ("message", "type", "uuid")}
    cls = _classify(status, error_type, message, details)
    return cls(
        message=message or cls.__name__,
        status=status,
        error_type=error_type,
        uuid=error.get("uuid"),
        details=details,
    )


def _classify(status: int, error_type: Any, message: str, details: dict[str, Any]) -> type[DapError]:
    if isinstance(error_type, str):
        known = _BY_TYPE.get(error_type.replace("_", "").lower())
        if known is not None:
            return known
    if status == 401:
        return AuthenticationError
    if status == 403:
        return AccountError
    if status == 429:
        return RateLimitedError
    if status == 404 or "kind" in details:
        return NotFoundError
    if "since" in details:
        lowered = message.lower()
        return SnapshotRequiredError if "snapshot" in lowered or "reload" in lowered else OutOfRangeError
    if "location" in details:
        return ValidationError
    if status >= 500:
        return ServerError
    return ProcessingError
