"""Background churn in the tables without a domain producer, and schema-bump re-stamps.

Each advance touches three generic tables (chosen by the step): a few rows are updated, one or
two are inserted, and in a table nothing references one row is hard-deleted. Tables whose
schema gained a column since the previous commit get some existing rows re-stamped with a
value for it (the way a real backfill arrives).
"""

from __future__ import annotations

import hashlib

from extract.synth.advance.refs import is_referenced
from extract.synth.advance.step import Step
from extract.synth.base.generic import generic_tables
from extract.synth.ids import model_name
from extract.synth.rows import quote

TABLES_PER_STEP = 3
RESTAMP_SHARE = 0.1


def produce(step: Step) -> None:
    for table in _chosen(step):
        _churn(step, table)
    _restamp_bumped(step)


def _chosen(step: Step) -> list[str]:
    candidates = [t for t in generic_tables() if len(step.changes.schema(t).columns) > 1]

    def rank(table: str) -> str:
        return hashlib.md5(f"{step.store.seed}|{step.index}|{table}".encode()).hexdigest()

    return sorted(candidates, key=rank)[:TABLES_PER_STEP]


def _churn(step: Step, table: str) -> None:
    r = step.rand
    names = {c.name for c in step.changes.schema(table).columns}
    stamp = {"updated_at": "src.event_at"} if "updated_at" in names else {}
    step.changes.upsert(
        table,
        f"""SELECT id, {step.event(f"{table}.touch_at", "id")} AS event_at FROM cur.{table}
            ORDER BY {r.h(f"{table}.touch", "id")}, id LIMIT 3""",
        stamp,
    )
    first = step.next_id(table)
    count = 1 + int(step.index % 2)
    created = {name: "src.event_at" for name in ("created_at", "updated_at") if name in names}
    step.changes.insert(
        table,
        f"""SELECT {first} + range AS id, range AS i, {step.event(f"{table}.new_at", "range")} AS event_at
            FROM range({count})""",
        created,
        sparse=False,
    )
    if not is_referenced(table):
        step.changes.delete(
            table,
            f"""SELECT id, {step.event(f"{table}.drop_at", "id")} AS event_at FROM cur.{table}
                WHERE id NOT IN (SELECT id FROM ({step.changes.staged_keys(table)}))
                ORDER BY {r.h(f"{table}.drop", "id")}, id LIMIT 1""",
        )


def _restamp_bumped(step: Step) -> None:
    last = max(step.store.commits, default=step.store.start)
    for qname in step.store.tables():
        versions = step.store.schema_versions(qname)
        if not any(at is not None and at > last for _, at in versions):
            continue
        table = model_name(qname)
        keys = step.changes.schema(table).primary_key
        key_sql = ", ".join(quote(k) for k in keys)
        step.changes.upsert(
            table,
            f"""SELECT {key_sql}, {step.event(f"{table}.restamp_at", *keys)} AS event_at FROM cur.{table}
                WHERE ({key_sql}) NOT IN (SELECT ({key_sql}) FROM ({step.changes.staged_keys(table)}))
                  AND ({step.rand.chance(RESTAMP_SHARE, f"{table}.restamp", *keys)}
                       OR ({key_sql}) IN (SELECT ({key_sql}) FROM cur.{table} ORDER BY {key_sql} LIMIT 1))""",
        )
