"""Deterministic randomness as DuckDB SQL expressions.

Every random choice is a pure function of (seed, tag, row keys): no ``random()``, no row order
dependence, so the same (profile, seed) always yields the same rows whatever the thread count.
``tag`` names the decision (e.g. ``'submissions.score'``) so two columns of one row draw
independent values.

DuckDB's multi-argument ``hash(a, b, …)`` XORs the arguments' hashes, so ``hash(seed, tag1, k)``
and ``hash(seed, tag2, k)`` differ by a constant and would be perfectly dependent. Keys are
therefore chained through the (non-linear) single-value hash, starting from a per-tag constant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

_TWO_53 = "9007199254740992.0"


def sql_literal(value: Any) -> str:
    """A SQL literal for a Python scalar (str, int, float, bool, datetime, None)."""
    if value is None:
        return "NULL"
    if isinstance(value, datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("'", "''")
    return f"'{text}'"


def list_literal(values: Sequence[Any]) -> str:
    return "[" + ", ".join(sql_literal(v) for v in values) + "]"


class Rand:
    """Builds hash-based SQL expressions for one seed (and an optional salt, e.g. an advance step)."""

    def __init__(self, seed: int, salt: str = "") -> None:
        self.seed = int(seed)
        self.salt = salt

    def h(self, tag: str, *keys: str) -> str:
        """A UBIGINT hash of the seed, the decision tag and the row keys (in order)."""
        start = int.from_bytes(hashlib.md5(f"{self.seed}|{self.salt}{tag}".encode()).digest()[:8], "big")
        acc = f"{start}::UBIGINT"
        for key in keys:
            acc = f"hash(xor({acc}, hash({key})))"
        return acc if keys else f"hash({acc})"

    def u(self, tag: str, *keys: str) -> str:
        """A uniform DOUBLE in [0, 1)."""
        return f"(({self.h(tag, *keys)} >> 11) / {_TWO_53})"

    def chance(self, p: float | str, tag: str, *keys: str) -> str:
        """A BOOLEAN that is true with probability ``p`` (a number or a SQL expression)."""
        return f"({self.u(tag, *keys)} < {p})"

    def int_between(self, lo: int | str, hi: int | str, tag: str, *keys: str) -> str:
        """A BIGINT uniform in [lo, hi] (bounds may be SQL expressions)."""
        return f"(({lo}) + CAST({self.h(tag, *keys)} % CAST(({hi}) - ({lo}) + 1 AS UBIGINT) AS BIGINT))"

    def index(self, n: int | str, tag: str, *keys: str) -> str:
        """A BIGINT uniform in [0, n)."""
        return f"CAST({self.h(tag, *keys)} % CAST(greatest({n}, 1) AS UBIGINT) AS BIGINT)"

    def pick(self, values: Sequence[Any], tag: str, *keys: str, weights: Sequence[int] | None = None) -> str:
        """One of ``values`` (optionally weighted by small integer weights)."""
        if weights is not None:
            expanded: list[Any] = []
            for value, weight in zip(values, weights, strict=True):
                expanded.extend([value] * int(weight))
            values = expanded
        if len(values) == 1:
            return sql_literal(values[0])
        return f"({list_literal(values)})[1 + {self.index(len(values), tag, *keys)}]"

    def ts_between(self, lo: str, hi: str, tag: str, *keys: str) -> str:
        """A TIMESTAMP uniform in [lo, hi) at millisecond precision (lo, hi are SQL timestamps)."""
        span = f"(epoch_ms({hi}) - epoch_ms({lo}))"
        return f"({lo} + to_milliseconds(CAST(floor({self.u(tag, *keys)} * greatest({span}, 0)) AS BIGINT)))"

    def uuid(self, tag: str, *keys: str) -> str:
        """A version-4 UUID (DuckDB ``UUID``) from the 128-bit md5 of the keys."""
        parts = ", ".join([sql_literal(str(self.seed)), sql_literal(self.salt + tag), *keys])
        digest = f"md5_number(concat_ws('|', {parts}))"
        # clear the version and variant bits, then set version 4 and variant 10xx
        cleared = f"({digest} & ~((15::UHUGEINT << 76) | (12::UHUGEINT << 60)))"
        return f"CAST({cleared} | (4::UHUGEINT << 76) | (8::UHUGEINT << 60) AS UUID)"

    def token(self, length: int, tag: str, *keys: str) -> str:
        """A lowercase hex token of ``length`` characters (≤ 64), like Canvas' uuid/lti ids."""
        m = f"md5(concat_ws('|', {sql_literal(str(self.seed))}, {sql_literal(self.salt + tag)}, {', '.join(keys)}))"
        if length <= 32:
            return f"substr({m}, 1, {length})"
        m2 = f"md5({m})"
        return f"substr({m} || {m2}, 1, {length})"
