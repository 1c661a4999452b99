"""Models that read "now" (``int_core__as_of``) without depending on its exact value.

Every round moves "now" (the latest watermark). Left at that, every model downstream of
``int_core__as_of`` would be rebuilt each round, though most use now only to stamp their rows.
A model that reads ``int_core__as_of`` directly says in its config how its rows depend on it
(``meta: {cd2_now: ...}``):

* ``stamp``: only through ``data_as_of`` (every row stamped with ``as_of_ts``);
* ``local_date``: through the local calendar day of now (``as_of_local_date``) and the stamp;
* nothing said: through the exact time (a due date plus grace, 30 days back …), so it is built
  whenever now moves.

The round's plan (``extract/round_plan.py``) counts ``int_core__as_of`` as unchanged for a model
when its bucket holds the same value for the now it was last built with (``cd2_meta.round_now``,
written by the on-run-end hook ``cd2_record_round_built``) and for the round's now (read from the
``int_core__as_of`` view after the sync, the same view dbt reads). A model left out that way, and
every left-out model after it, still carries the old stamp: ``restamp`` sets ``data_as_of`` to the
round's now in the rows that carried the stamp of their last build, in one transaction before dbt
starts, so every relation equals a full rebuild of the same data.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from extract.database import open_database
from extract.landing.tables import quote

NOW_MODEL = "int_core__as_of"
NOW_TABLE = "cd2_meta.round_now"
STAMP_COLUMN = "data_as_of"
BUCKETS = ("stamp", "local_date")


@dataclass(frozen=True)
class Now:
    as_of_ts: datetime | None
    as_of_local_date: date | None


@dataclass(frozen=True)
class Stamped:
    """A model left out of a round that reads now somewhere upstream."""

    name: str
    schema: str
    relation: str


def bucket_of(meta: Mapping[str, object], name: str) -> str | None:
    """The model's declared ``cd2_now`` bucket; an unknown value is a mistake in the project."""
    bucket = meta.get("cd2_now")
    if bucket is None:
        return None
    if bucket not in BUCKETS:
        raise ValueError(f"model {name}: meta cd2_now must be one of {', '.join(BUCKETS)}, not {bucket!r}")
    return str(bucket)


def same_bucket(bucket: str | None, built: Now | None, now: Now | None) -> bool:
    """Whether a model of ``bucket``, last built at ``built``, would give the same rows at ``now``
    apart from its stamp. Unknown or null nows never match (nothing synced yet: build)."""
    if bucket is None or built is None or now is None or built.as_of_ts is None or now.as_of_ts is None:
        return False
    if bucket == "stamp":
        return True
    return built.as_of_local_date == now.as_of_local_date  # local_date


def create_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS cd2_meta")
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {NOW_TABLE} (model VARCHAR PRIMARY KEY, as_of_ts TIMESTAMP, as_of_local_date DATE)"
    )


def read_now(con: duckdb.DuckDBPyConnection, schema: str, relation: str) -> Now | None:
    """The round's now, from the ``int_core__as_of`` view the last build made (it reads the
    watermarks the sync just moved); None when it cannot be read (then nothing is kept for it)."""
    try:
        row = con.execute(f"SELECT as_of_ts, as_of_local_date FROM {quote(schema)}.{quote(relation)}").fetchone()
    except duckdb.Error:
        return None
    return Now(row[0], row[1]) if row else None


def built_with(con: duckdb.DuckDBPyConnection) -> dict[str, Now]:
    """The now each model was last built with (model name -> now); empty before the first record."""
    try:
        rows = con.execute(f"SELECT model, as_of_ts, as_of_local_date FROM {NOW_TABLE}").fetchall()
    except duckdb.CatalogException:
        return {}
    return {model: Now(ts, day) for model, ts, day in rows}


def restamp(db: Path, kept: Iterable[Stamped], built: Mapping[str, Now], now: Now) -> list[str]:
    """Bring the models a round leaves out under a new now up to it: ``data_as_of`` of the rows
    stamped at their last build becomes the round's now (tables; a view computes it), and their
    record moves on. One transaction: a crash leaves every stamp and record as it was, and the
    next round does it again. Returns the names of the tables whose rows were restamped."""
    kept = [model for model in kept if model.name in built and built[model.name] != now]
    if not kept:
        return []
    con = open_database(db, allow_foreign=True)
    try:
        stamped_tables = {
            (schema.lower(), name.lower())
            for schema, name in con.execute(
                """SELECT c.table_schema, c.table_name
                   FROM information_schema.columns AS c
                   JOIN information_schema.tables AS t USING (table_catalog, table_schema, table_name)
                   WHERE c.table_catalog = current_database() AND c.column_name = ?
                     AND t.table_type = 'BASE TABLE'""",
                [STAMP_COLUMN],
            ).fetchall()
        }
        restamped: list[str] = []
        con.execute("BEGIN TRANSACTION")  # closed without COMMIT (a failure): rolled back
        for model in kept:
            if (model.schema.lower(), model.relation.lower()) in stamped_tables:
                con.execute(
                    f"UPDATE {quote(model.schema)}.{quote(model.relation)} SET {STAMP_COLUMN} = ? "
                    f"WHERE {STAMP_COLUMN} IS NOT DISTINCT FROM ?",
                    [now.as_of_ts, built[model.name].as_of_ts],
                )
                restamped.append(model.name)
            con.execute(
                f"UPDATE {NOW_TABLE} SET as_of_ts = ?, as_of_local_date = ? WHERE model = ?",
                [now.as_of_ts, now.as_of_local_date, model.name],
            )
        con.execute("COMMIT")
        return restamped
    finally:
        con.close()
