"""The working context of one generation run: DuckDB connection, randomness, ids, clock.

Model tables (full CD2 row images plus ``meta_ts``) live in the DuckDB schema ``m``; helper
relations the generators share (rosters, due dates, …) live in ``h``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from extract.schema import TableSchema, bundled_schemas
from extract.synth.ids import IdRegistry, id_base, qualified_name
from extract.synth.profiles import Profile
from extract.synth.rand import Rand
from extract.synth.rows import BuildEnv, RowBuilder
from extract.synth.text import install_text_macros


def ts_sql(value: datetime) -> str:
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


def connect(profile: Profile, temp_dir: Path) -> duckdb.DuckDBPyConnection:
    """A scratch DuckDB in ``temp_dir`` (in memory unless the profile is big enough to spill;
    a database file keeps spilled tables compressed) with settings that keep results stable."""
    temp_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(temp_dir / "work.duckdb") if profile.on_disk else ":memory:")
    con.execute(f"SET memory_limit = '{profile.memory_limit}'")
    con.execute(f"SET threads = {min(profile.threads, os.cpu_count() or 1)}")
    con.execute(f"SET temp_directory = '{temp_dir.as_posix()}'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    con.execute("CREATE SCHEMA IF NOT EXISTS m")
    con.execute("CREATE SCHEMA IF NOT EXISTS h")
    install_text_macros(con)
    con.execute(f"CREATE OR REPLACE MACRO syn_local_to_utc(ts) AS timezone('UTC', timezone('{profile.time_zone}', ts))")
    con.execute(f"CREATE OR REPLACE MACRO syn_utc_to_local(ts) AS timezone('{profile.time_zone}', timezone('UTC', ts))")
    return con


@dataclass
class GenContext:
    """Shared state of a base generation: every domain builder receives one."""

    con: duckdb.DuckDBPyConnection
    profile: Profile
    seed: int
    progress: Callable[[str], None] | None = None
    rand: Rand = field(init=False)
    registry: IdRegistry = field(init=False)
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rand = Rand(self.seed)
        self.registry = IdRegistry(self.con, lambda table: f"m.{table}")

    @property
    def start(self) -> datetime:
        return self.profile.start

    @property
    def now(self) -> str:
        """The profile start time as SQL: the clock of the initial state."""
        return ts_sql(self.profile.start)

    @property
    def env(self) -> BuildEnv:
        return BuildEnv(con=self.con, rand=self.rand, registry=self.registry, clock=self.now)

    def schema(self, table: str) -> TableSchema:
        return bundled_schemas()[qualified_name(table)]

    def base(self, table: str) -> int:
        return id_base(table)

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)

    def sql(self, statement: str) -> None:
        self.con.execute(statement)

    def scalar(self, query: str) -> object:
        rows = self.con.execute(query).fetchall()
        return rows[0][0] if rows else None

    def build(
        self,
        table: str,
        source: str,
        values: dict[str, str] | None = None,
        *,
        meta_ts: str | None = None,
        pick_nullable_fks: bool = False,
    ) -> int:
        """Materialise ``m.<table>`` with complete rows; register its ids. Returns the row count."""
        schema = self.schema(table)
        select = RowBuilder(
            self.env, schema, source, values, meta_ts=meta_ts, pick_nullable_fks=pick_nullable_fks
        ).select_sql()
        self.con.execute(f"CREATE OR REPLACE TABLE m.{table} AS {select}")
        if schema.primary_key == ("id",) and schema.namespace != "canvas_logs":
            return self.registry.register(table)
        return int(self.scalar(f"SELECT count(*) FROM m.{table}") or 0)
