"""Collecting one advance's change rows per table and writing them as one batch each.

Producers add complete row images (``upsert`` from the current truth with some columns
changed, ``insert`` of new rows, ``delete`` of live keys), each with an event time
``event_at`` inside the window. Per table, one row per key survives (a delete wins, then
the latest event). Commit times (``meta_ts``) are the window's ticks (every ~15 minutes,
the last one being the new ``now``): an event is committed at the first tick at or after it,
as DAP commits changes in batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import duckdb

from extract.schema import TableSchema
from extract.synth.ids import qualified_name
from extract.synth.rows import BuildEnv, RowBuilder, quote
from extract.synth.store import Store

TICKS_PER_HOUR = 4


def _us(value: datetime) -> int:
    return round((value - datetime(1970, 1, 1)).total_seconds() * 1_000_000)


@dataclass
class ChangeSet:
    """Staged changes of one advance, in DuckDB tables ``chg.<table>``."""

    con: duckdb.DuckDBPyConnection
    store: Store
    env: BuildEnv
    lo: datetime  # every event is strictly after this
    hi: datetime  # ... and at most this (the new now)
    _staged: dict[str, int] = field(default_factory=dict)
    _prio: int = 0

    def __post_init__(self) -> None:
        self.con.execute("CREATE SCHEMA IF NOT EXISTS chg")

    # ---- producers' API ---------------------------------------------------------------------------
    def schema(self, table: str) -> TableSchema:
        return self.store.schema(qualified_name(table))

    def upsert(self, table: str, source: str, values: dict[str, str] | None = None) -> None:
        """Re-write live rows. ``source`` yields the key(s), ``event_at`` and helper columns (whose
        names must differ from the table's); each row is the current truth image with ``values``
        applied, where ``src.<name>`` is the truth column or the source's helper column."""
        self._from_truth(table, source, values or {}, "U")

    def delete(self, table: str, source: str) -> None:
        """Hard-delete live keys (``source`` yields the key(s) and ``event_at``)."""
        self._from_truth(table, source, {}, "D")

    def insert(self, table: str, source: str, values: dict[str, str] | None = None, *, sparse: bool = True) -> None:
        """New rows: ``source`` yields the key(s), ``event_at`` and anything ``values`` use (``src.``).

        ``sparse``: nullable columns without a value are NULL (domain rows); otherwise they get
        schema-driven defaults (generic rows). Columns added by schema bumps always get values."""
        builder = RowBuilder(
            self.env, self.schema(table), source, values, meta_ts="src.event_at",
            fill=self.added_columns(table), sparse=sparse,
        )  # fmt: skip
        self._stage(table, builder.select_sql(), "U")

    def post_state(self, table: str) -> str:
        """The table as it will be after this advance (so far): truth with staged changes applied."""
        schema = self.schema(table)
        cols = ", ".join(quote(c.name) for c in schema.columns)
        if table not in self._staged:
            return f"SELECT {cols} FROM cur.{table}"
        keys = ", ".join(quote(k) for k in schema.primary_key)
        return f"""
            SELECT {cols} FROM cur.{table} WHERE ({keys}) NOT IN (SELECT ({keys}) FROM chg.{table})
            UNION ALL
            SELECT {cols} FROM ({self._consolidated(table)}) WHERE meta_action = 'U'
        """

    def staged_keys(self, table: str) -> str:
        """SQL of the keys staged so far for ``table`` (an empty relation when none)."""
        keys = ", ".join(quote(k) for k in self.schema(table).primary_key)
        if table not in self._staged:
            return f"SELECT {keys} FROM cur.{table} WHERE false"
        return f"SELECT DISTINCT {keys} FROM chg.{table}"

    def tables(self) -> list[str]:
        return sorted(self._staged)

    # ---- internals ----------------------------------------------------------------------------------
    def _from_truth(self, table: str, source: str, values: dict[str, str], action: str) -> None:
        schema = self.schema(table)
        names = {c.name for c in schema.columns}
        on = " AND ".join(f"t.{quote(k)} = s.{quote(k)}" for k in schema.primary_key)
        helpers = [c for c in _columns(self.con, source) if c not in names]
        picked = "".join(f", s.{quote(c)}" for c in helpers)
        joined = f"SELECT t.* EXCLUDE (meta_ts){picked} FROM ({source}) s JOIN cur.{table} t ON {on}"
        builder = RowBuilder(self.env, schema, joined, values, meta_ts="src.event_at", fill=self.added_columns(table))
        self._stage(table, builder.select_sql(), action)

    def added_columns(self, table: str) -> frozenset[str]:
        """Columns a schema bump added to ``table`` (old rows hold NULL there)."""
        qname = qualified_name(table)
        base = {c.name for c in self.store.schema(qname, datetime.min).columns}
        return frozenset(c.name for c in self.store.schema(qname).columns if c.name not in base)

    def _stage(self, table: str, select: str, action: str) -> None:
        self._prio += 1
        rows = f"SELECT *, '{action}' AS meta_action, {self._prio} AS prio FROM ({select})"
        if table in self._staged:
            self.con.execute(f"INSERT INTO chg.{table} {rows}")
        else:
            self.con.execute(f"CREATE OR REPLACE TABLE chg.{table} AS {rows}")
        self._staged[table] = self._staged.get(table, 0) + 1

    def _consolidated(self, table: str) -> str:
        keys = ", ".join(quote(k) for k in self.schema(table).primary_key)
        return f"""
            SELECT * EXCLUDE (prio) FROM chg.{table}
            QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY meta_action = 'D' DESC, meta_ts DESC, prio DESC) = 1
        """

    def write(self) -> int:
        """Write every staged table as one batch with tick commit times; returns the row count.

        Ticks divide (now, hi] evenly; events (clamped into (lo, hi]) commit at the next tick."""
        origin_us, lo_us, hi_us = _us(self.store.now), _us(self.lo), _us(self.hi)
        hours = (hi_us - origin_us) / 3_600_000_000
        n_ticks = max(1, math.ceil(hours * TICKS_PER_HOUR))
        tick_us = max(1, (hi_us - origin_us) // n_ticks)
        total = 0
        for table in self.tables():
            # meta_ts holds the event time here
            event_us = f"least(greatest(epoch_us(meta_ts), {lo_us + 1}), {hi_us})"
            tick = f"least(CAST(ceil(({event_us} - {origin_us}) / {tick_us}) AS BIGINT), {n_ticks})"
            commit = f"CASE WHEN {tick} >= {n_ticks} THEN {hi_us} ELSE {origin_us} + {tick} * {tick_us} END"
            select = (
                f"SELECT * EXCLUDE (meta_ts), make_timestamp({commit}) AS meta_ts FROM ({self._consolidated(table)})"
            )
            written = self.store.write_changes(qualified_name(table), self.con, select)
            total += written.rows if written else 0
        return total


def _columns(con: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    return list(con.sql(f"SELECT * FROM ({source}) LIMIT 0").columns)
