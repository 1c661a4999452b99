"""UTC timestamp helpers shared by the extractor, the synthetic generator and the fake server.

All timestamps inside the project are naive ``datetime`` objects in UTC (what DuckDB's TIMESTAMP
holds); on the wire they are ISO-8601 with a ``Z`` and at most 6 fractional digits.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Wall-clock now, naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc_naive(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def iso_z(value: datetime) -> str:
    """``2024-01-02T03:04:05Z`` or ``2024-01-02T03:04:05.123456Z`` (the official client's rendering)."""
    value = to_utc_naive(value)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


def parse_iso(text: str) -> datetime:
    """Parse an RFC 3339 timestamp; it must carry a zone (``Z`` or an offset). Returns naive UTC."""
    if not isinstance(text, str) or not text:
        raise ValueError("timestamp must be a non-empty string")
    candidate = text.strip()
    if candidate.endswith(("Z", "z")):
        candidate = candidate[:-1] + "+00:00"
    parsed = datetime.fromisoformat(candidate)
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone designator")
    return to_utc_naive(parsed)
