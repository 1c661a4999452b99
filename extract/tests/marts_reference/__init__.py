"""An independent Python implementation of the mart definitions (docs/marts.md, DECISIONLOG.md).

It never reads our SQL or our dbt models: it starts from the synthetic generator's ground truth
(current rows of every CD2 table, web_logs history) and applies the written definitions in
plain Python. ``extract/tests/test_marts_differential.py`` compares it with the dbt marts.

Each area module exposes ``compute(truth: Truth) -> dict[str, MartRows]``.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

Row = dict[str, Any]


@dataclass
class MartRows:
    """The expected content of one mart: its key columns and every row (all columns but ``data_as_of``)."""

    key: tuple[str, ...]
    rows: list[Row]


@dataclass
class Truth:
    """Ground truth at one sync: CD2 rows by table name (``submissions``, ``users`` …; columns named as
    in CD2, values typed; enum sentinel and truncation placeholder already None), web_logs history
    since the first sync (one row per id), "now" and the dbt vars the marts use."""

    tables: dict[str, list[Row]]
    web_logs: list[Row]
    as_of: datetime  # UTC, naive
    time_zone: ZoneInfo
    secret: bytes
    params: dict[str, Any]
    earlier: list[Truth] = field(default_factory=list)  # earlier syncs, oldest first (for daily history)

    def rows(self, table: str) -> list[Row]:
        return self.tables[table]

    def user_key(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        return hmac.new(self.secret, str(user_id).encode(), hashlib.sha256).hexdigest()

    def local(self, ts: datetime | None) -> datetime | None:
        """A UTC timestamp as naive local time in the institution zone."""
        if ts is None:
            return None
        return ts.replace(tzinfo=ZoneInfo("UTC")).astimezone(self.time_zone).replace(tzinfo=None)
