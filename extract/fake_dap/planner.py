"""Turn a validated query on a table into a job plan: range checks, window, rows SQL, render spec.

Time semantics (all on the store's synthetic clock, ``store.now``):
  snapshot     rows = ``store.truth_sql(at=now)``; web_logs keeps only rows with
               ``meta_ts > now - retention``; the job's ``at`` is ``now``
  incremental  rows = ``store.window_sql(since, until)``: ``since < ts <= until`` by default,
               ``since <= ts < until`` with ``window="closed-open"``; ``until`` defaults to now
  errors       since or until after now, or until before since -> OutOfRange;
               since before the table's last reload -> SnapshotRequired;
               web_logs since before now - retention -> OutOfRange

A plan also carries an estimate of its result's rows (``estimated_rows``), which a job's
simulated duration grows with (``Completion.for_rows``): the store's change files' row counts,
each prorated by how much of its time span falls in the job's window. It is cheap (no rendering)
and counts changes, not distinct keys, so it over-estimates tables whose rows change often.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from extract.fake_dap import errors
from extract.fake_dap.config import ServerConfig
from extract.fake_dap.query import DataQuery
from extract.fake_dap.render import RenderSpec
from extract.synth.store import Store
from extract.timeutil import iso_z

WEB_LOGS = "canvas_logs.web_logs"


@dataclass(frozen=True)
class JobPlan:
    qname: str
    query: DataQuery
    reuse_key: str  # identical query on an identical store state -> same job
    spec: RenderSpec
    schema_version: int
    at: datetime | None = None
    since: datetime | None = None
    until: datetime | None = None
    estimated_rows: int = 0


def store_fingerprint(store: Store, qname: str) -> str:
    """A hash of everything in the store that can change what a query on ``qname`` returns."""
    state = {
        "now": iso_z(store.now),
        "files": [f.to_json() for f in store.files(qname)],
        "versions": [[v, iso_z(t) if t else None] for v, t in store.schema_versions(qname)],
        "reloads": [iso_z(t) for t in store.reloads(qname)],
    }
    return _sha(state)


def retention_start(qname: str, now: datetime, config: ServerConfig) -> datetime | None:
    if qname != WEB_LOGS:
        return None
    return now - timedelta(days=config.web_logs_retention_days)


def plan_job(store: Store, qname: str, query: DataQuery, config: ServerConfig) -> JobPlan:
    now = store.now
    retained_from = retention_start(qname, now, config)
    fingerprint = store_fingerprint(store, qname)
    reuse_key = _sha({"table": qname, "query": query.normalized(), "state": fingerprint})
    if query.since is None:
        schema = store.schema(qname, now)
        source = store.truth_sql(qname, now, retained_from)
        window = {"at": iso_z(now)}
        at, since, until = now, None, None
    else:
        since = query.since
        until = query.until if query.until is not None else now
        _check_range(store, qname, since, until, now, retained_from)
        schema = store.schema(qname, until)
        source = store.window_sql(qname, since, until, closed_open=config.closed_open)
        window = {"since": iso_z(since), "until": iso_z(until), "window": config.window}
        at = None
    render_key = _sha(
        {
            "table": qname,
            "format": query.format,
            "mode": query.mode,
            **window,
            "state": fingerprint,
            "retention": config.web_logs_retention_days if retained_from else None,
            "rows_per_file": config.rows_per_file,
            "csv_null": config.csv_null,
            "jsonl_nulls": config.jsonl_nulls,
            "parquet_codec": config.parquet_codec,
            "gzip_level": config.gzip_level,
        }
    )
    spec = RenderSpec(
        render_key=render_key,
        schema=schema,
        source_sql=source,
        incremental=query.incremental,
        format=query.format,
        mode=query.mode,
        rows_per_file=config.rows_per_file,
        csv_null=config.csv_null,
        jsonl_nulls=config.jsonl_nulls,
        parquet_codec=config.parquet_codec,
        gzip_level=config.gzip_level,
    )
    lower = since if since is not None else retained_from
    rows = estimated_rows(store, qname, lower, until or now)
    return JobPlan(qname, query, reuse_key, spec, schema.version, at, since, until, rows)


def estimated_rows(store: Store, qname: str, after: datetime | None, upto: datetime) -> int:
    """The change rows of ``qname`` stamped after ``after`` (None: from the start) up to ``upto``,
    each change file prorated by the share of its time span inside that window."""
    total = 0.0
    for change_file in store.files(qname):
        first, last = change_file.min_ts, change_file.max_ts
        if first is None or last is None or first > upto or (after is not None and last <= after):
            continue
        start, end = max(first, after) if after is not None else first, min(last, upto)
        span = (last - first).total_seconds()
        share = (end - start).total_seconds() / span if span > 0 else 1.0
        total += change_file.rows * min(1.0, max(0.0, share))
    return round(total)


def _check_range(
    store: Store, qname: str, since: datetime, until: datetime, now: datetime, retained_from: datetime | None
) -> None:
    reload = store.last_reload(qname, now)
    earliest = max([t for t in (reload, retained_from) if t is not None], default=store.start)
    if since > now:
        raise errors.out_of_range(
            f"'since' {iso_z(since)} is later than the latest data ({iso_z(now)}).", earliest, now
        )
    if until > now:
        raise errors.out_of_range(
            f"'until' {iso_z(until)} is later than the latest data ({iso_z(now)}).", earliest, now
        )
    if until < since:
        raise errors.out_of_range(f"'until' {iso_z(until)} is earlier than 'since' {iso_z(since)}.", since, now)
    if reload is not None and since < reload:
        raise errors.snapshot_required(
            f"The table was reloaded at {iso_z(reload)}; a new snapshot is required.", reload, now
        )
    if retained_from is not None and since < retained_from:
        raise errors.out_of_range(
            f"'since' {iso_z(since)} is outside the retention window of {qname}.", retained_from, now
        )


def _sha(payload: object) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
