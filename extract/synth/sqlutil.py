"""Small SQL-text helpers shared by the generators."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from extract.synth.rand import sql_literal


def values_source(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """``SELECT * FROM (VALUES …) t(cols)`` for a small Python-side table."""
    if not rows:
        raise ValueError("values_source needs at least one row")
    body = ", ".join("(" + ", ".join(sql_literal(v) for v in row) + ")" for row in rows)
    return f"SELECT * FROM (VALUES {body}) AS t({', '.join(columns)})"
