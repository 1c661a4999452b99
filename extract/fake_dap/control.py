"""``/__fake__/*`` control endpoints (no auth; the server only listens on loopback).

POST   /__fake__/advance      {"hours": N}           -> {"now": "<iso Z>"}       (advance hook)
GET    /__fake__/faults                              -> {"faults": [...]}
POST   /__fake__/faults       [fault spec, ...] or one spec -> {"faults": [...]}
DELETE /__fake__/faults                              -> {"faults": []}
GET    /__fake__/requests                            -> {"requests": [record, ...]}
DELETE /__fake__/requests                            -> {"requests": []}
POST   /__fake__/bump_schema  {"table": "canvas.x"}  -> {"table", "version"}      (bump hook)
POST   /__fake__/reload       {"table": "canvas.x"}  -> {"table", "reload_at"}    (reload hook)
GET    /__fake__/state                               -> {"now", "tables": {...}, "jobs": N}
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from extract.fake_dap import errors
from extract.fake_dap.faults import Fault, FaultSet
from extract.fake_dap.reqlog import RequestLog
from extract.timeutil import iso_z


class ControlledServer(Protocol):
    """What the control endpoints reach of the server (``FakeDapServer`` is one)."""

    faults: FaultSet
    request_log: RequestLog

    def advance(self, hours: float) -> datetime: ...
    def bump_schema(self, qname: str) -> int: ...
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
