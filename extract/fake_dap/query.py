"""Parse and validate the body of ``POST /dap/query/{ns}/table/{table}/data`` (a ``Query``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from extract.fake_dap import errors
from extract.fake_dap.config import FORMATS, MODES
from extract.timeutil import iso_z, parse_iso

ALLOWED_KEYS = ("format", "mode", "since", "until")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class DataQuery:
    """A validated query; ``mode`` is already resolved to the server default when omitted."""

    format: str
    mode: str
    since: datetime | None = None
    until: datetime | None = None

    @property
    def incremental(self) -> bool:
        return self.since is not None

    def normalized(self) -> dict[str, Any]:
        """Canonical form used to recognise identical queries (job reuse)."""
        out: dict[str, Any] = {"format": self.format, "mode": self.mode}
        if self.since is not None:
            out["since"] = iso_z(self.since)
        if self.until is not None:
            out["until"] = iso_z(self.until)
        return out


def parse_query(raw: bytes, default_mode: str) -> DataQuery:
    """Validate a request body; raises a 400 ValidationError ApiError with a location."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise errors.validation(f"request body is not UTF-8: {exc.reason}", 1, 1, exc.start + 1) from None
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.validation(f"malformed JSON: {exc.msg}", exc.lineno, exc.colno, exc.pos + 1) from None
    if not isinstance(body, dict):
        raise errors.validation_at("the query must be a JSON object", text, _first_token(text))
    for key in body:
        if key not in ALLOWED_KEYS:
            raise errors.validation_at(
                f"unknown property '{key}' (allowed: {', '.join(ALLOWED_KEYS)})", text, _key_offset(text, key)
            )
    if "format" not in body:
        raise errors.validation_at("missing required property 'format'", text, _first_token(text))
    fmt = body["format"]
    if fmt not in FORMATS:
        raise errors.validation_at(
            f"'format' must be one of {', '.join(FORMATS)}, got {json.dumps(fmt)}", text, _key_offset(text, "format")
        )
    mode = body.get("mode", default_mode)
    if "mode" in body and mode not in MODES:
        raise errors.validation_at(
            f"'mode' must be one of {', '.join(MODES)}, got {json.dumps(mode)}", text, _key_offset(text, "mode")
        )
    since = _timestamp(body, "since", text)
    until = _timestamp(body, "until", text)
    if until is not None and since is None:
        raise errors.validation_at("'until' requires 'since' (an incremental query)", text, _key_offset(text, "until"))
    return DataQuery(format=fmt, mode=mode, since=since, until=until)


def _timestamp(body: dict[str, Any], key: str, text: str) -> datetime | None:
    if key not in body:
        return None
    value = body[key]
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise errors.validation_at(
            f"'{key}' must be an RFC 3339 date-time with a time zone, got {json.dumps(value)}",
            text,
            _key_offset(text, key),
        )
    # Python parses at most 6 fractional digits; DAP resolution is microseconds anyway.
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", value)
    try:
        return parse_iso(trimmed)
    except ValueError as exc:
        raise errors.validation_at(f"'{key}': {exc}", text, _key_offset(text, key)) from None


def _key_offset(text: str, key: str) -> int:
    found = text.find(json.dumps(key))
    return found if found >= 0 else 0


def _first_token(text: str) -> int:
    return len(text) - len(text.lstrip())
