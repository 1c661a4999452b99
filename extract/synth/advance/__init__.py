"""Advancing the institution: one change batch per call, deterministic in (seed, step, hours).

Producers run in a fixed order over the current truth and stage complete row images in a
:class:`~extract.synth.advance.changes.ChangeSet`; each touched table is then written as one
batch whose commit times fall on the window's ticks, and the store's clock moves to the end
of the window.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime, timedelta

from extract.synth.advance import activity, content, coursework, discussions, generic, people
from extract.synth.advance.changes import ChangeSet
from extract.synth.advance.step import Step, install_shared, install_state
from extract.synth.context import connect, ts_sql
from extract.synth.ids import IdRegistry
from extract.synth.profiles import Profile
from extract.synth.rand import Rand
from extract.synth.rows import BuildEnv
from extract.synth.store import Store

PRODUCERS: list[Callable[[Step], None]] = [
    activity.produce,
    people.produce,
    coursework.produce,
    discussions.produce,
    content.produce,
    generic.produce,
]


def window_start(store: Store) -> datetime:
    """Events of the next batch come after the clock and after any pending schema bump."""
    bumps = [at for qname in store.tables() for _, at in store.schema_versions(qname) if at is not None]
    return max([store.now, *bumps])


def advance(store: Store, profile: Profile, hours: float) -> datetime:
    if not hours > 0:
        raise ValueError(f"advance needs a positive number of hours, got {hours!r}")
    lo = window_start(store)
    hi = store.now + timedelta(microseconds=round(hours * 3_600_000_000))
    if hi <= lo:
        raise ValueError(f"advancing {hours} h from {store.now} does not pass the pending schema bump at {lo}")
    index = len(store.commits)
    rand = Rand(store.seed, salt=f"step{index}:")
    work = store.root / f".advance-{index}"
    con = connect(profile, work)
    try:
        install_state(con, store, hi)
        registry = IdRegistry(con, lambda table: f"cur.{table}")
        env = BuildEnv(con=con, rand=rand, registry=registry, clock=ts_sql(hi))
        changes = ChangeSet(con=con, store=store, env=env, lo=lo, hi=hi)
        step = Step(con=con, store=store, profile=profile, rand=rand, registry=registry, changes=changes,
                    lo=lo, hi=hi, index=index)  # fmt: skip
        install_shared(step)
        for produce in PRODUCERS:
            produce(step)
        changes.write()
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
    store.commit(hi)
    return hi
