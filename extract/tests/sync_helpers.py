"""Shared helpers for the end-to-end sync tests: a tiny institution, a fake server, a replay check."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from extract.dap.auth import Credentials
from extract.dap.client import DapClient, DownloadPolicy
from extract.dap.transport import RetryPolicy
from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer, ServerConfig
from extract.landing.tables import quote, raw_schema_name
from extract.schema import Column
from extract.sync.progress import LogReporter
from extract.sync.runner import SyncOptions, SyncReport, SyncRunner
from extract.synth.store import Store

if TYPE_CHECKING:
    from extract.synth import Institution

WEB_LOGS = "canvas_logs.web_logs"
RETENTION = timedelta(days=30)


def fresh_institution(template_dir: Path, dest: Path, seed: int = 1) -> Institution:
    """A private copy of the cached tiny institution (tests advance it, so they must not share it)."""
    from extract.synth import Institution, ensure_generated

    template = ensure_generated("tiny", seed, template_dir)
    shutil.copytree(template.store.root, dest)
    return Institution.open(dest)


@contextmanager
def serving(institution: Institution, **config: object) -> Iterator[FakeDapServer]:
    cfg = ServerConfig(**config)  # type: ignore[arg-type]
    with FakeDapServer(
        institution.store,
        cfg,
        advance=institution.advance,
        bump_schema=institution.bump_schema,
        reload=institution.reload,
    ) as server:
        yield server


def fast_client(url: str, **kwargs: object) -> DapClient:
    """A client with short back-offs and no client-side throttling (the server's limits are off)."""
    credentials = Credentials(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    options: dict[str, object] = {
        "retry": RetryPolicy(max_attempts=6, base_delay_s=0.01, max_delay_s=0.2, default_retry_after_s=1.0),
        "download": DownloadPolicy(max_attempts=4, base_delay_s=0.01),
        "limits": {},
    }
    options.update(kwargs)
    return DapClient(credentials, **options)  # type: ignore[arg-type]


def run_sync(
    server: FakeDapServer,
    db: Path,
    tables: Sequence[str],
    fmt: str = "jsonl",
    duckdb_config: dict[str, str] | None = None,
    **options: object,
) -> SyncReport:
    client = fast_client(server.url)
    con = duckdb.connect(str(db), config=duckdb_config or {})
    try:
        opts = SyncOptions(tables=list(tables), fmt=fmt, work_dir=db.parent / f"work-{db.stem}", **options)  # type: ignore[arg-type]
        return SyncRunner(client, con, opts, LogReporter()).run()
    finally:
        con.close()
        client.close()


def replay_sql(con: duckdb.DuckDBPyConnection, store: Store, qname: str) -> str:
    """The current state the raw change log implies: latest row per key, deletes removed.

    Rows count from the latest snapshot batch on (a new snapshot replaces what came before),
    except web_logs, whose history is kept whole.
    """
    schema = store.schema(qname)
    namespace, table = qname.split(".", 1)
    keys = ", ".join(quote(k) for k in schema.primary_key)
    start = 0
    if qname != WEB_LOGS:
        row = con.execute(
            """SELECT coalesce(max(batch_id), 0) FROM cd2_meta.batches
               WHERE namespace = ? AND table_name = ? AND kind = 'snapshot' AND status = 'committed'""",
            [namespace, table],
        ).fetchone()
        start = int(row[0]) if row else 0
    cols = ", ".join(f"{_typed(c)} AS {quote(c.name)}" for c in schema.columns)
    return f"""
        SELECT {cols} FROM (
            SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY _meta_ts DESC, _batch_id DESC) AS _rn
            FROM {raw_schema_name(namespace)}.{quote(table)} WHERE _batch_id >= {start}
        ) WHERE _rn = 1 AND _meta_action = 'U'
    """


def _typed(column: Column) -> str:
    """Landed JSON back to the generator's STRUCT/LIST types (absent keys are NULL)."""
    if column.is_nested:
        structure = json.dumps(column.json_structure()).replace("'", "''")
        return f"json_transform({quote(column.name)}, '{structure}')"
    return f"CAST({quote(column.name)} AS {column.duckdb_type()})"


def truth_sql(con: duckdb.DuckDBPyConnection, store: Store, qname: str) -> str:
    schema = store.schema(qname)
    min_ts = None
    if qname == WEB_LOGS:
        row = con.execute(
            """SELECT min(snapshot_at) FROM cd2_meta.batches
               WHERE namespace = 'canvas_logs' AND table_name = 'web_logs' AND status = 'committed'"""
        ).fetchone()
        min_ts = row[0] - RETENTION if row and row[0] else None
    cols = ", ".join(f"{_null_if_empty(c)} AS {quote(c.name)}" for c in schema.columns)
    return f"SELECT {cols} FROM ({store.truth_sql(qname, store.now, min_ts)})"


def _null_if_empty(column: Column) -> str:
    """The API sends an object whose properties are all null as null; compare it that way."""
    name = quote(column.name)
    if column.type != "object" or not column.properties:
        return name
    all_null = " AND ".join(f"{name}.{quote(p.name)} IS NULL" for p in column.properties)
    return f"CASE WHEN {all_null} THEN NULL ELSE {name} END"


def replay_mismatches(db: Path, store: Store, tables: Sequence[str]) -> dict[str, tuple[int, int, int]]:
    """Tables whose replayed raw change log differs from the ground truth at the store's now.

    Returns ``{table: (replayed rows, truth rows, rows in the symmetric difference)}``.
    """
    con = duckdb.connect(str(db), read_only=True)
    bad: dict[str, tuple[int, int, int]] = {}
    try:
        for qname in tables:
            replay, truth = replay_sql(con, store, qname), truth_sql(con, store, qname)
            counts = con.execute(
                f"""
                SELECT (SELECT count(*) FROM ({replay})), (SELECT count(*) FROM ({truth})),
                       (SELECT count(*) FROM (({replay}) EXCEPT ALL ({truth})))
                       + (SELECT count(*) FROM (({truth}) EXCEPT ALL ({replay})))
                """
            ).fetchone()
            assert counts is not None
            if counts[0] != counts[1] or counts[2]:
                bad[qname] = (int(counts[0]), int(counts[1]), int(counts[2]))
    finally:
        con.close()
    return bad
