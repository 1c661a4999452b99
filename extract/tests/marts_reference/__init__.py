"""An independent Python implementation of the mart definitions (docs/marts.md, DECISIONLOG.md).

It never reads our SQL or our dbt models: it starts from the synthetic generator's ground truth
(current rows of every CD2 table, web_logs history) and applies the written definitions in
plain Python. ``extract/tests/test_marts_differential.py`` compares it with the dbt marts.

Each area module exposes ``compute(truth: Truth) -> dict[str, MartRows]``.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

Row = dict[str, Any]
T = TypeVar("T")


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
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)  # see `per_truth`

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


def per_truth(function: Callable[[Truth], T]) -> Callable[[Truth], T]:
    """Computes ``function(truth)`` once per Truth. The area modules reuse each other's building
    blocks (student courses, requests, whole areas) for every sync the history marts replay; the
    results are read-only by convention."""
    name = f"{function.__module__}.{function.__qualname__}"

    @functools.wraps(function)
    def cached(truth: Truth) -> T:
        if name not in truth.memo:
            truth.memo[name] = function(truth)
        return truth.memo[name]  # type: ignore[no-any-return]

    return cached
