"""Conformance: the official ``dap initdb`` / ``dap syncdb`` replicate the fake server into PostgreSQL.

A few tables of the ``tiny`` institution (a tree-shaped one, a wide one with a nested JSON
column, a large one, and web_logs with its UUID key) are loaded with ``dap initdb``, the
institution then changes (updates, inserts, deletes, and a new column in courses), ``dap syncdb``
applies the changes (altering the table for the new column), and
after each step every row and every column of the PostgreSQL tables is compared with the store's
ground truth; the client's watermark (``instructure_dap.table_sync``) must be the job's
``at`` / ``until``.

PostgreSQL comes from ``CD2_PG_DSN`` (a scratch database: its schemas ``canvas``,
``canvas_logs`` and ``instructure_dap`` are dropped first) or from
``scripts/postgres_service.sh start``; without either the test is skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer, ServerConfig
from extract.schema import TableSchema
from extract.synth import ensure_generated
from extract.synth.store import Store
from extract.tests.conformance.dapcli import (
    DapRun,
    DapTarget,
    TableOutcome,
    pg_execute,
    pg_query,
    require_dap_client,
    run_dap,
)
from extract.tests.conformance.parse_files import Record, canonical, parse_wire_timestamp
from extract.tests.conformance.truth import (
    RecordsByKey,
    describe_differences,
    retention_floor,
    truth_at,
    window_truth,
)
from extract.tests.postgres_server import postgres_server

TABLES = {
    "canvas": ("accounts", "courses", "enrollments", "submissions"),
    "canvas_logs": ("web_logs",),
    "catalog": ("products", "enrollments"),  # a second namespace, with decimals and a table named like canvas's
}
ADVANCE_HOURS = (6.0, 6.0)
BUMPED_TABLE = "canvas.courses"  # syncdb must ALTER the replica to add the new column


# ---- PostgreSQL ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pg_dsn() -> Iterator[str]:
    """CD2_PG_DSN, else the private cluster of scripts/postgres_service.sh (shared, see postgres_server)."""
    with postgres_server() as dsn:
        yield dsn


def reset_database(dsn: str) -> None:
    pg_execute(
        dsn,
        "DROP SCHEMA IF EXISTS canvas CASCADE; DROP SCHEMA IF EXISTS canvas_logs CASCADE; "
        "DROP SCHEMA IF EXISTS instructure_dap CASCADE;",
    )


def replica_records(dsn: str, schema: TableSchema) -> tuple[list[str], RecordsByKey]:
    """The PostgreSQL table's column names and its rows as canonical records (no meta)."""
    names, rows = pg_query(dsn, f'SELECT * FROM "{schema.namespace}"."{schema.name}"')
    columns = {c.name: c for c in schema.columns}
    out: RecordsByKey = {}
    for row in rows:
        cells = dict(zip(names, row, strict=True))
        key = tuple(canonical(columns[k], cells[k]) for k in schema.primary_key)
        values = {c.name: canonical(c, cells.get(c.name)) for c in schema.value_columns}
        out[key] = Record(ts=datetime.min, action=None, key=key, values=values)
    return names, out


def watermarks(dsn: str) -> dict[str, tuple[datetime, int]]:
    """``namespace.table`` → (timestamp, schema_version) from the client's meta table."""
    _, rows = pg_query(
        dsn, "SELECT source_namespace, source_table, timestamp, schema_version FROM instructure_dap.table_sync"
    )
    return {f"{ns}.{table}": (ts, version) for ns, table, ts, version in rows}


# ---- the replicated institution ------------------------------------------------------------------------------
@dataclass
class Replica:
    server: FakeDapServer
    target: DapTarget
    dsn: str
    workdir: Path
    con: duckdb.DuckDBPyConnection
    snapshot_at: datetime

    @property
    def store(self) -> Store:
        return self.server.store

    def run_all(self, command: str) -> dict[str, DapRun]:
        """``dap <command>`` for the chosen tables, one run per namespace."""
        return {
            ns: run_dap(
                self.target,
                [command, "--namespace", ns, "--table", ",".join(tables), "--connection-string", self.dsn],
                cwd=self.workdir,
            )
            for ns, tables in TABLES.items()
        }


def qualified_tables() -> list[str]:
    return [f"{ns}.{table}" for ns, tables in TABLES.items() for table in tables]


@pytest.fixture(scope="module")
def replica(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str) -> Iterator[Replica]:
    require_dap_client()
    reset_database(pg_dsn)
    base = tmp_path_factory.mktemp("conformance-pg")
    institution = ensure_generated(profile="tiny", seed=1).copy_to(base / "institution")
    config = ServerConfig(rate_limits=False, job_completion="immediate", cache_dir=base / "render-cache")
    with FakeDapServer(
        institution.store, config, advance=institution.advance, bump_schema=institution.bump_schema
    ) as server:
        con = duckdb.connect()
        target = DapTarget(server.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        try:
            yield Replica(server, target, pg_dsn, base, con, server.store.now)
        finally:
            con.close()


@pytest.fixture(scope="module")
def initdb_runs(replica: Replica) -> dict[str, DapRun]:
    return replica.run_all("initdb")


@dataclass(frozen=True)
class Sync:
    since: datetime
    until: datetime
    bumped_version: int
    runs: dict[str, DapRun]


@pytest.fixture(scope="module")
def sync(replica: Replica, initdb_runs: dict[str, DapRun]) -> Sync:
    """Changes (updates, inserts, deletes) around a schema bump, then ``dap syncdb``."""
    replica.server.advance(ADVANCE_HOURS[0])
    bumped_version = replica.server.bump_schema(BUMPED_TABLE)
    replica.server.advance(ADVANCE_HOURS[1])
    runs = replica.run_all("syncdb")
    return Sync(replica.snapshot_at, replica.store.now, bumped_version, runs)


# ---- checks ---------------------------------------------------------------------------------------------------
def outcome_of(runs: dict[str, DapRun], qname: str) -> TableOutcome | None:
    namespace, table = qname.split(".", 1)
    return runs[namespace].table_outcomes().get(table)


def replica_problems(replica: Replica, qname: str, at: datetime, min_ts: datetime | None) -> list[str]:
    """Rows and columns of the PostgreSQL table against the store's truth at ``at``."""
    store = replica.store
    schema = store.schema(qname, at)
    expected = truth_at(replica.con, store, qname, at, min_ts)
    columns = {c.name for c in schema.columns}
    pg_columns, actual = replica_records(replica.dsn, schema)
    problems = []
    if sorted(pg_columns) != sorted(columns):
        problems.append(f"{qname}: PostgreSQL columns {sorted(pg_columns)} != schema {sorted(columns)}")
    problems += [f"{qname}: {line}" for line in describe_differences(expected, actual, compare_meta=False)]
    if not expected:
        problems.append(f"{qname}: the truth is empty, the comparison proves nothing")
    return problems


def run_problems(runs: dict[str, DapRun]) -> list[str]:
    return [f"{ns}: {run.describe()}" for ns, run in runs.items() if run.returncode != 0]


def watermark_problems(replica: Replica, runs: dict[str, DapRun], field: str, expected: datetime) -> list[str]:
    marks = watermarks(replica.dsn)
    problems: list[str] = []
    for qname in qualified_tables():
        outcome = outcome_of(runs, qname)
        job_value = (outcome.job or {}).get(field) if outcome else None
        if job_value is None or parse_wire_timestamp(job_value) != expected:
            problems.append(f"{qname}: job {field} {job_value} != {expected}")
        mark = marks.get(qname)
        if mark is None or mark[0] != expected:
            problems.append(f"{qname}: table_sync timestamp {mark and mark[0]} != {expected}")
        version = replica.store.schema(qname, expected).version
        if mark is not None and mark[1] != version:
            problems.append(f"{qname}: table_sync schema_version {mark[1]} != {version}")
    return problems


# ---- tests -------------------------------------------------------------------------------------------------------
@pytest.mark.conformance
@pytest.mark.postgres
def test_initdb_loads_the_snapshot_and_its_watermark(replica: Replica, initdb_runs: dict[str, DapRun]) -> None:
    problems = run_problems(initdb_runs)
    problems += watermark_problems(replica, initdb_runs, "at", replica.snapshot_at)
    for qname in qualified_tables():
        problems += replica_problems(replica, qname, replica.snapshot_at, retention_floor(qname, replica.snapshot_at))
    assert not problems, "\n".join(problems)


@pytest.mark.conformance
@pytest.mark.postgres
def test_changes_include_updates_inserts_and_deletes(replica: Replica, sync: Sync) -> None:
    store = replica.store
    kinds = {"update": 0, "insert": 0, "delete": 0}
    for qname in qualified_tables():
        before = truth_at(replica.con, store, qname, sync.since)
        for key, record in window_truth(replica.con, store, qname, sync.since, sync.until).items():
            if record.action == "D":
                kinds["delete"] += 1
            else:
                kinds["update" if key in before else "insert"] += 1
    assert all(kinds.values()), f"the advance produced {kinds}: syncdb would not be exercised fully"


@pytest.mark.conformance
@pytest.mark.postgres
def test_syncdb_applies_the_changes_and_moves_the_watermark(replica: Replica, sync: Sync) -> None:
    problems = run_problems(sync.runs)
    problems += watermark_problems(replica, sync.runs, "until", sync.until)
    store = replica.store
    for qname in qualified_tables():
        # web_logs: initdb loaded the retention window of the snapshot; nothing ages out of a replica.
        floor = retention_floor(qname, replica.snapshot_at)
        problems += replica_problems(replica, qname, sync.until, floor)
    assert store.now == sync.until
    assert sync.bumped_version == store.schema(BUMPED_TABLE, sync.until).version > 1
    assert not problems, "\n".join(problems)
