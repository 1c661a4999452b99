"""The DAP API's error bodies, as an exception that carries status, body and extra headers.

Every body is ``{"error": {...}}``. The official client picks the error class from the exact key
set (it parses strictly), so each builder emits exactly the documented keys and nothing else.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from extract.timeutil import iso_z


class ApiError(Exception):
    """An error response: HTTP status, JSON body, and optional extra headers (e.g. Retry-After)."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status}: {body.get('error', body)}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def _base(error_type: str, message: str) -> dict[str, Any]:
    return {"type": error_type, "uuid": str(uuid.uuid4()), "message": message}


def authentication(message: str = "The access token is missing, invalid or expired.") -> ApiError:
    return ApiError(401, {"error": _base("AuthenticationError", message)})


def not_found(kind: str, ident: str, message: str) -> ApiError:
    return ApiError(404, {"error": {**_base("ObjectNotFound", message), "id": ident, "kind": kind}})


def namespace_not_found(namespace: str) -> ApiError:
    return not_found("namespace", namespace, f"The namespace '{namespace}' specified in the request is not valid.")


def table_not_found(table: str) -> ApiError:
    return not_found("table", table, f"The table '{table}' does not exist.")


def job_not_found(job_id: str) -> ApiError:
    return not_found("job", job_id, "Job does not exist.")


def object_not_found(object_id: str) -> ApiError:
    return not_found("object", object_id, "Object does not exist.")


def route_not_found(path: str) -> ApiError:
    return not_found("resource", path, f"No resource at '{path}'.")


def validation(message: str, line: int = 1, column: int = 1, character: int = 1) -> ApiError:
    location = {"line": line, "column": column, "character": character}
    return ApiError(400, {"error": {**_base("ValidationError", message), "location": location}})


def validation_at(message: str, text: str, offset: int) -> ApiError:
    """A ValidationError located at the 0-based character ``offset`` of ``text``."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return validation(message, line, column, offset + 1)


def _range_error(error_type: str, message: str, since: datetime, until: datetime | None) -> ApiError:
    body = {**_base(error_type, message), "since": iso_z(since)}
    if until is not None:
        body["until"] = iso_z(until)
    return ApiError(400, {"error": body})


def out_of_range(message: str, since: datetime, until: datetime | None) -> ApiError:
    """``since``/``until`` are the permitted range."""
    return _range_error("OutOfRange", message, since, until)


def snapshot_required(message: str, since: datetime, until: datetime | None) -> ApiError:
    return _range_error("SnapshotRequired", message, since, until)


def processing(message: str, error_type: str = "ProcessingError", status: int = 500) -> ApiError:
    return ApiError(status, {"error": _base(error_type, message)})


def processing_body(message: str, error_type: str = "ProcessingError") -> dict[str, Any]:
    """The ``error`` object of a failed job."""
    return _base(error_type, message)


def forbidden(error_type: str) -> ApiError:
    messages = {
        "AccountNotOnboarded": "The account is not onboarded to the Data Access Platform.",
        "AccountDisabled": "The account is disabled.",
        "AccountUnderMaintenance": "The account is under maintenance; try again later.",
        "RequestTypeForbidden": "This type of request (snapshot or incremental) is forbidden.",
    }
    return ApiError(403, {"error": _base(error_type, messages.get(error_type, "Forbidden."))})


def too_many_requests(retry_after: int) -> ApiError:
    body = {"error": _base("TooManyRequests", f"Rate limit exceeded; retry after {retry_after} seconds.")}
    return ApiError(429, body, {"Retry-After": str(retry_after)})


def gateway_timeout() -> ApiError:
    return ApiError(504, {"error": {"message": "Endpoint request timed out"}})


def server_error(status: int = 500, message: str | None = None) -> ApiError:
    text = message or ("Service unavailable." if status == 503 else "Internal server error.")
    error_type = "ServiceUnavailable" if status == 503 else "InternalServerError"
    return ApiError(status, {"error": _base(error_type, text)})


def method_not_allowed(method: str, path: str) -> ApiError:
    return ApiError(405, {"error": _base("MethodNotAllowed", f"{method} is not allowed on '{path}'.")})
