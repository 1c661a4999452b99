"""The freshness a round reports: per namespace, the spread of the tables' watermarks."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from extract.timeutil import utc_now

FreshnessRow = tuple[str, int, datetime | None, datetime | None, int]


def freshness_by_namespace(rows: Iterable[FreshnessRow]) -> dict[str, dict[str, Any]]:
    """``(namespace, tables, oldest watermark, newest watermark, failed tables)`` rows → per
    namespace: those figures and the hours since the oldest watermark (naive UTC datetimes)."""
    now = utc_now()
    return {
        namespace: {
            "tables": tables,
            "oldest_watermark": oldest,
            "newest_watermark": newest,
            "stale_hours": round((now - oldest).total_seconds() / 3600, 1) if oldest else None,
            "failed_tables": failed,
        }
        for namespace, tables, oldest, newest, failed in rows
    }
