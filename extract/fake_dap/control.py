"""``/__fake__/*`` control endpoints (no auth; the server only listens on loopback).

POST   /__fake__/advance      {"hours": N}           -> {"now": "<iso Z>"}       (advance hook)
GET    /__fake__/faults                              -> {"faults": [...]}
POST   /__fake__/faults       [fault spec, ...] or one spec -> {"faults": [...]}
DELETE /__fake__/faults                              -> {"faults": []}
GET    /__fake__/requests                            -> {"requests": [record, ...]}
DELETE /__fake__/requests                            -> {"requests": []}
POST   /__fake__/bump_schema  {"table": "canvas.x"}  -> {"table", "version"}      (bump hook)
POST   /__fake__/relax_schema {"table": "canvas.x", "columns": [...]}             (relax_schema hook)
                              -> {"table", "version"}: only nullability changes; columns default
                              to every value column the schema calls required
POST   /__fake__/null_required {"table": "canvas.x", "columns": [...], "rows": N}  (null_required hook)
                              -> {"table", "at"}: N rows re-sent with those columns NULL (default:
                              the columns the first schema version calls required, 20 rows)
POST   /__fake__/reload       {"table": "canvas.x"}  -> {"table", "reload_at"}    (reload hook)
GET    /__fake__/state                               -> {"now", "tables": {...}, "jobs": N}
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from extract.fake_dap import errors
from extract.fake_dap.faults import Fault, FaultSet
from extract.fake_dap.reqlog import RequestLog
from extract.timeutil import iso_z

T = TypeVar("T")


class ControlledServer(Protocol):
    """What the control endpoints reach of the server (``FakeDapServer`` is one)."""

    faults: FaultSet
    request_log: RequestLog

    def advance(self, hours: float) -> datetime: ...
    def bump_schema(self, qname: str) -> int: ...
    def relax_schema(self, qname: str, columns: Sequence[str] | None = None) -> int: ...
    def null_required(self, qname: str, columns: Sequence[str] | None = None, rows: int = 20) -> datetime: ...
    def reload(self, qname: str) -> datetime: ...
    def state(self) -> dict[str, Any]: ...


def handle_control(server: ControlledServer, method: str, name: str, body: bytes) -> tuple[int, Any]:
    if (method, name) == ("POST", "advance"):
        hours = _field(body, "hours", (int, float))
        return 200, {"now": iso_z(server.advance(float(hours)))}
    if name == "faults":
        if method == "POST":
            specs = _json(body)
            specs = specs if isinstance(specs, list) else [specs]
            try:
                server.faults.add(*(Fault.from_json(s) for s in specs))
            except (TypeError, ValueError) as exc:
                raise errors.validation(f"bad fault spec: {exc}") from None
        elif method == "DELETE":
            server.faults.clear()
        elif method != "GET":
            raise errors.method_not_allowed(method, f"/__fake__/{name}")
        return 200, {"faults": [f.to_json() for f in server.faults.active()]}
    if name == "requests":
        if method == "DELETE":
            server.request_log.clear()
        elif method != "GET":
            raise errors.method_not_allowed(method, f"/__fake__/{name}")
        return 200, {"requests": [r.to_json() for r in server.request_log.records()]}
    if (method, name) == ("POST", "bump_schema"):
        table = _field(body, "table", (str,))
        return 200, {"table": table, "version": server.bump_schema(table)}
    if (method, name) == ("POST", "relax_schema"):
        table = _field(body, "table", (str,))
        columns = _optional_names(body, "columns")
        return 200, {"table": table, "version": _refusing_bad_columns(lambda: server.relax_schema(table, columns))}
    if (method, name) == ("POST", "null_required"):
        table = _field(body, "table", (str,))
        columns = _optional_names(body, "columns")
        rows = _json(body).get("rows", 20)
        if not isinstance(rows, int) or isinstance(rows, bool) or rows < 1:
            raise errors.validation("'rows' must be a positive integer")
        at = _refusing_bad_columns(lambda: server.null_required(table, columns, rows))
        return 200, {"table": table, "at": iso_z(at)}
    if (method, name) == ("POST", "reload"):
        table = _field(body, "table", (str,))
        return 200, {"table": table, "reload_at": iso_z(server.reload(table))}
    if (method, name) == ("GET", "state"):
        return 200, server.state()
    raise errors.route_not_found(f"/__fake__/{name}")


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise errors.validation(f"malformed JSON: {exc}") from None


def _field(body: bytes, key: str, types: tuple[type, ...]) -> Any:
    data = _json(body)
    if not isinstance(data, dict) or not isinstance(data.get(key), types) or isinstance(data.get(key), bool):
        raise errors.validation(f"expected a JSON object with '{key}'")
    return data[key]


def _optional_names(body: bytes, key: str) -> list[str] | None:
    value = _json(body).get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise errors.validation(f"'{key}' must be a list of column names")
    return value


def _refusing_bad_columns(change: Callable[[], T]) -> T:
    """``change()``, with an unknown, key or already nullable column answered as a 400."""
    try:
        return change()
    except (KeyError, ValueError) as exc:
        raise errors.validation(str(exc.args[0]) if exc.args else type(exc).__name__) from None
