"""Human-readable summary of a change-log store (used by ``cd2 synth`` and the demo)."""

from __future__ import annotations

import duckdb

from extract.synth.store import Store
from extract.timeutil import iso_z


def store_disk_bytes(store: Store) -> int:
    return sum(p.stat().st_size for p in store.root.rglob("*") if p.is_file())


def live_row_counts(store: Store, con: duckdb.DuckDBPyConnection | None = None) -> dict[str, int]:
    """Live rows per table at the store's ``now`` (the ground truth's size)."""
    con = con or duckdb.connect()
    counts: dict[str, int] = {}
    for qname in store.tables():
        row = con.execute(f"SELECT count(*) FROM ({store.truth_sql(qname)})").fetchone()
        counts[qname] = int(row[0]) if row else 0
    return counts


def describe_store(store: Store, top: int = 12) -> str:
    counts = live_row_counts(store)
    total = sum(counts.values())
    lines = [
        f"institution: profile={store.profile} seed={store.seed} at {store.root}",
        f"clock: start={iso_z(store.start)} now={iso_z(store.now)} commits={len(store.commits)}",
        f"tables: {len(counts)} ({sum(1 for n in counts.values() if n)} non-empty), "
        f"live rows: {total:,}, on disk: {store_disk_bytes(store) / 1e6:,.1f} MB",
        f"largest tables (live rows at now, top {top}):",
    ]
    for qname, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]:
        lines.append(f"  {qname:<45} {n:>12,}")
    return "\n".join(lines)
