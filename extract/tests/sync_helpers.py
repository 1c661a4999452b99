"""Shared helpers for the end-to-end sync tests: a tiny institution, a fake server, a replay check."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from extract.config import RunConfig
from extract.dap.auth import Credentials
from extract.dap.client import DapClient, DownloadPolicy
from extract.dap.transport import RetryPolicy
from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer, Fault, ServerConfig
from extract.lake.duckdb_views import create_lake_views
from extract.lake.layout import TEMP_PREFIX, LakeLayout
from extract.lake.state import LakeState
from extract.landing.tables import quote, raw_schema_name
from extract.schema import Column
from extract.sync.destination import LakeDestination
from extract.sync.progress import LogReporter
from extract.sync.results import SyncReport
from extract.sync.runner import SyncOptions, SyncRunner
from extract.synth.store import Store

if TYPE_CHECKING:
    from extract.synth import Institution

WEB_LOGS = "canvas_logs.web_logs"
DEFAULT_NAMESPACES = tuple(RunConfig().namespaces)  # what cd2 syncs when nothing names namespaces


def default_tables(store: Store) -> list[str]:
    """The store's tables that a ``cd2 sync`` without namespace settings takes (not catalog)."""
    return [q for q in store.tables() if q.split(".", 1)[0] in DEFAULT_NAMESPACES]


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
        relax_schema=institution.relax_schema,
        null_required=institution.null_required,
        late_rows=institution.late_rows,
    ) as server:
        yield server


def cd2(*args: str, url: str, secret: str = DEFAULT_CLIENT_SECRET) -> subprocess.CompletedProcess[str]:
    """``cd2 <args>`` as a user runs it (a new process), against the API at ``url``."""
    env = dict(os.environ, DAP_API_URL=url, DAP_CLIENT_ID=DEFAULT_CLIENT_ID, DAP_CLIENT_SECRET=secret)
    return subprocess.run(
        [sys.executable, "-m", "extract.cli", *args], env=env, capture_output=True, text=True, timeout=600
    )


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


def run_lake_sync(server: FakeDapServer, lake: Path, tables: Sequence[str], fmt: str = "jsonl") -> SyncReport:
    """``run_sync`` into a Parquet lake (as ``cd2 sync --lake`` does, in this process)."""
    client = fast_client(server.url)
    con = duckdb.connect()
    try:
        lake.mkdir(parents=True, exist_ok=True)
        destination = LakeDestination(con, LakeState.load(LakeLayout(lake), remove_unfinished=True))
        opts = SyncOptions(tables=list(tables), fmt=fmt, work_dir=lake.parent / f"work-{lake.name}")
        report = SyncRunner(client, con, opts, LogReporter(), destination).run()
        report.finish(destination.finish)
        return report
    finally:
        con.close()
        client.close()


def lake_database(lake: Path, db: Path) -> Path:
    """The lake's raw and cd2_meta tables copied into a new DuckDB file ``db``, for comparisons."""
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    try:
        create_lake_views(con, LakeLayout(lake), materialize=True)
    finally:
        con.close()
    return db


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


# ---- a small filesystem, to fill the disk on purpose ------------------------------------------------
class CannotMountError(RuntimeError):
    """A small filesystem cannot be mounted here (not root, no tmpfs, a container without the right)."""


@contextmanager
def small_filesystem(path: Path, size_bytes: int) -> Iterator[Path]:
    """A tmpfs of ``size_bytes`` mounted at ``path`` for the block (root only; raises
    CannotMountError with the reason elsewhere). Unmounted, lazily if still busy, afterwards."""
    if os.geteuid() != 0:
        raise CannotMountError(f"mounting a tmpfs needs root; the tests run as uid {os.geteuid()}")
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise CannotMountError(f"mount -t tmpfs failed: {(done.stderr or done.stdout).strip()}")
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def fill_disk(folder: Path, leave_bytes: int = 0) -> Path:
    """A ballast file taking all but ``leave_bytes`` of the free space of ``folder``'s filesystem;
    delete it to free the space again."""
    import os

    ballast = folder / "ballast.bin"
    free = shutil.disk_usage(folder).free
    size = max(0, free - leave_bytes)
    with ballast.open("wb") as handle:
        if size:
            os.posix_fallocate(handle.fileno(), 0, size)
    return ballast


# ---- crash and fault trials (extract/tests/test_crash_suite.py, bench/soak.py) ------------------------
FAULT_TABLES = ("canvas.accounts", "canvas.courses", "canvas.submissions", "canvas_logs.web_logs")
FAULT_TARGET = "canvas.submissions"


@dataclass(frozen=True)
class FaultClass:
    """A kind of server fault and what a sync must make of it.

    ``make`` returns fresh Fault objects (they count their firings). Recoverable classes end in a
    sync with every table ok; persistent ones (``expect`` set) fail ``FAULT_TARGET`` only, with
    ``expect`` in its error, and the next sync without the fault recovers."""

    name: str
    make: Callable[[], list[Fault]]
    expect: str | None = None

    @property
    def persistent(self) -> bool:
        return self.expect is not None


def _faults(**spec: Any) -> Callable[[], list[Fault]]:
    return lambda: [Fault(**spec)]


FAULT_CLASSES: tuple[FaultClass, ...] = (
    FaultClass("429 with Retry-After", _faults(kind="rate_limit", endpoint="create_job", retry_after=1)),
    FaultClass("429 on a job poll", _faults(kind="rate_limit", endpoint="get_job", retry_after=0, times=2)),
    FaultClass("503 with Retry-After", _faults(kind="http_status", endpoint="get_job", status=503, retry_after=1)),
    FaultClass("503 with a JSON body", _faults(kind="http_status", endpoint="get_job", status=503, times=2)),
    FaultClass("500 on object URLs", _faults(kind="http_status", endpoint="object_url", status=500, times=2)),
    FaultClass("non-JSON 502", _faults(kind="html_502", endpoint="schema", times=2)),
    FaultClass("504 gateway timeout", _faults(kind="gateway_timeout", endpoint="create_job", times=2)),
    FaultClass("dropped connection on an API call", _faults(kind="drop_connection", endpoint="create_job", times=2)),
    FaultClass("slow API answer", _faults(kind="delay", endpoint="schema", seconds=0.3)),
    FaultClass(
        "dropped connection mid-download", _faults(kind="drop_connection", endpoint="download", after_bytes=64, times=3)
    ),
    FaultClass("truncated gzip", _faults(kind="truncated_gzip", endpoint="download", table=FAULT_TARGET)),
    FaultClass(
        "slow download", _faults(kind="slow_download", endpoint="download", table=FAULT_TARGET, bytes_per_s=2e6)
    ),
    FaultClass("expired URL", _faults(kind="url_expiry", endpoint="object_url")),
    FaultClass("expired token", _faults(kind="token_expiry", endpoint="login", lifetime_s=0)),
    FaultClass("revoked token", _faults(kind="token_revoked", endpoint="schema")),
    FaultClass("expired job on create", _faults(kind="job_expiry", endpoint="create_job", table=FAULT_TARGET)),
    FaultClass("expired job on poll", _faults(kind="job_expiry", endpoint="get_job", table=FAULT_TARGET)),
    # persistent: that table fails with a clear error, the others go on, a re-run recovers
    FaultClass(
        "failed job",
        _faults(kind="job_failure", endpoint="create_job", table=FAULT_TARGET, message="simulated failure", times=None),
        expect="simulated failure",
    ),
    FaultClass(
        "500 for ever",
        _faults(kind="http_status", endpoint="create_job", table=FAULT_TARGET, status=500, times=None),
        "500",
    ),
    FaultClass(
        "429 for ever",
        _faults(kind="rate_limit", endpoint="create_job", table=FAULT_TARGET, retry_after=0, times=None),
        "429",
    ),
    FaultClass(
        "broken downloads",
        _faults(kind="drop_connection", endpoint="download", table=FAULT_TARGET, after_bytes=10, times=None),
        "download",
    ),
    FaultClass(
        "account not onboarded",
        _faults(kind="forbidden", endpoint="create_job", table=FAULT_TARGET, times=None),
        "AccountNotOnboarded",
    ),
)


@dataclass
class Damage:
    """How a landed database differs from the truth: rows missing or wrong (``lost``), rows the
    replay has beyond the truth (``extra``), raw rows landed more than once (``doubled``), and
    tables whose watermark names a batch that is not there whole (``orphans``)."""

    lost: int = 0
    extra: int = 0
    doubled: int = 0
    orphans: list[str] = field(default_factory=list)
    tables: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not (self.lost or self.extra or self.doubled or self.orphans)


def landing_damage(db: Path, store: Store, tables: Sequence[str]) -> Damage:
    """Compare the raw change logs of ``db`` with the store's truth at its ``now``."""
    damage = Damage()
    con = duckdb.connect(str(db), read_only=True)
    try:
        for qname in tables:
            namespace, table = qname.split(".", 1)
            replay, truth = replay_sql(con, store, qname), truth_sql(con, store, qname)
            keys = ", ".join(quote(k) for k in store.schema(qname).primary_key)
            start = con.execute(
                """SELECT coalesce(max(batch_id), 0) FROM cd2_meta.batches
                   WHERE namespace = ? AND table_name = ? AND kind = 'snapshot' AND status = 'committed'""",
                [namespace, table],
            ).fetchone()
            row = con.execute(
                f"""
                WITH r AS MATERIALIZED ({replay}), t AS MATERIALIZED ({truth})
                SELECT (SELECT count(*) FROM (FROM t EXCEPT ALL FROM r)),
                       (SELECT count(*) FROM (FROM r EXCEPT ALL FROM t)),
                       (SELECT count(*) - count(DISTINCT ({keys}, _meta_ts, _meta_action))
                          FROM {raw_schema_name(namespace)}.{quote(table)} WHERE _batch_id >= ?)
                """,
                [int(start[0]) if start else 0],
            ).fetchone()
            assert row is not None
            lost, extra, doubled = (int(v) for v in row)
            damage.lost += lost
            damage.extra += extra
            damage.doubled += doubled
            if lost or extra or doubled:
                damage.tables[qname] = (lost, extra, doubled)
        damage.orphans = orphan_watermarks(con)
    finally:
        con.close()
    return damage


def orphan_watermarks(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Tables whose watermark is not backed by its batch: a committed batch with that watermark
    whose raw rows are all there."""
    rows = con.execute(
        """
        SELECT s.namespace, s.table_name, s.last_batch_id, b.rows
        FROM cd2_meta.table_state s
        LEFT JOIN cd2_meta.batches b
          ON b.batch_id = s.last_batch_id AND b.status = 'committed' AND b.watermark = s.watermark
        WHERE s.watermark IS NOT NULL
        """
    ).fetchall()
    bad: list[str] = []
    for namespace, table, batch_id, expected in rows:
        if expected is None:
            bad.append(f"{namespace}.{table}")
            continue
        landed = con.execute(
            f"SELECT count(*) FROM {raw_schema_name(namespace)}.{quote(table)} WHERE _batch_id = ?", [batch_id]
        ).fetchone()
        if landed is None or int(landed[0]) != int(expected):
            bad.append(f"{namespace}.{table}")
    return bad


@dataclass
class FaultOutcome:
    name: str
    fired: int
    passed: bool
    damage: Damage
    detail: str = ""


def fault_trial(
    server: FakeDapServer, db: Path, fault_class: FaultClass, tables: Sequence[str] = FAULT_TABLES
) -> FaultOutcome:
    """One sync with the class's faults armed (and, if persistent, one without); then the landed
    data against the truth. The server must be otherwise well-behaved; faults are cleared after."""
    faults = fault_class.make()
    server.faults.add(*faults)
    try:
        report = run_sync(server, db, tables)
    finally:
        server.faults.clear()
    fired = sum(f.fired for f in faults)
    failed = {r.qualified_name: r.error or "" for r in report.failed}
    problems: list[str] = []
    if not fired:
        problems.append("the fault never fired")
    if fault_class.expect is None:
        if failed:
            problems.append(f"tables failed: {failed}")
    else:
        if set(failed) != {FAULT_TARGET}:
            problems.append(f"expected {FAULT_TARGET} alone to fail, got {sorted(failed)}")
        elif fault_class.expect.lower() not in failed[FAULT_TARGET].lower():
            problems.append(f"error does not say {fault_class.expect!r}: {failed[FAULT_TARGET][:300]}")
        again = run_sync(server, db, tables)
        if not again.ok:
            problems.append(f"the re-run failed: {[(r.qualified_name, r.error) for r in again.failed]}")
    damage = landing_damage(db, server.store, tables)
    if not damage.clean:
        problems.append(f"landed data differ from the truth: {damage}")
    return FaultOutcome(fault_class.name, fired, not problems, damage, "; ".join(problems))


# ---- subprocesses killed at a chosen moment -----------------------------------------------------------
def cli_env(url: str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a ``cd2`` subprocess against the fake server at ``url``."""
    env = dict(os.environ, DBT_SEND_ANONYMOUS_USAGE_STATS="false", DO_NOT_TRACK="1")
    env.setdefault("CD2_PSEUDONYM_SECRET", "cd2-tests-only-not-a-secret")
    env.pop("CD2_DB", None)
    env.pop("CD2_LAKE", None)
    if url is not None:
        env.update(DAP_API_URL=url, DAP_CLIENT_ID=DEFAULT_CLIENT_ID, DAP_CLIENT_SECRET=DEFAULT_CLIENT_SECRET)
    env.update(extra)
    return env


def cd2_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "extract.cli", *args]


@dataclass
class ChildRun:
    returncode: int
    seconds: float
    killed: bool  # SIGKILLed while still running
    max_rss_kb: int  # peak resident memory of the process itself (VmHWM)
    output: str = ""


def run_child(
    cmd: Sequence[str],
    env: dict[str, str],
    *,
    kill_after_s: float | None = None,
    cwd: Path | None = None,
    timeout_s: float = 900.0,
    log: Path | None = None,
) -> ChildRun:
    """Run ``cmd``; with ``kill_after_s``, SIGKILL its process group at that moment if it still runs.
    Output goes to ``log`` (or is kept and returned if None)."""
    path = log
    if path is None:  # a scratch file, read back and removed
        handle, name = tempfile.mkstemp(prefix="cd2-child-", suffix=".log")
        os.close(handle)
        path = Path(name)
    try:
        with path.open("wb") as sink:
            started = time.monotonic()
            proc = subprocess.Popen(
                list(cmd), env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
            killed = False
            deadline = started + (kill_after_s if kill_after_s is not None else timeout_s)
            peak_kb, polls = 0, 0
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if polls % 5 == 0:
                    peak_kb = max(peak_kb, _peak_rss_kb(proc.pid))
                polls += 1
                if time.monotonic() >= deadline:
                    os.killpg(proc.pid, signal.SIGKILL)  # the whole group: nothing of it may live on
                    killed = kill_after_s is not None
                    pid, status, usage = os.wait4(proc.pid, 0)
                    break
                time.sleep(0.01)
            proc.returncode = os.waitstatus_to_exitcode(status)
            seconds = time.monotonic() - started
        output = path.read_text(encoding="utf-8", errors="replace") if log is None else ""
    finally:
        if log is None:
            path.unlink(missing_ok=True)
    # wait4's ru_maxrss counts the forked copy of this process before exec: the child's own peak
    # is its VmHWM, read while it runs (a high-water mark, so only its last ~50 ms can be missed).
    return ChildRun(proc.returncode, seconds, killed, peak_kb or int(usage.ru_maxrss), output)


def _peak_rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii", errors="replace").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


# ---- the reliability record ---------------------------------------------------------------------------
RELIABILITY_DIR = Path(__file__).resolve().parents[2] / ".cache" / "reliability"


@dataclass
class ClassTally:
    trials: int = 0
    passes: int = 0
    rows_lost: int = 0
    rows_doubled: int = 0
    interrupted: int = 0  # kill trials: the kill came while the process still ran
    failures: list[str] = field(default_factory=list)

    def add(self, passed: bool, lost: int = 0, doubled: int = 0, failure: str = "", interrupted: bool = False) -> None:
        self.trials += 1
        self.passes += int(passed)
        self.rows_lost += lost
        self.rows_doubled += doubled
        self.interrupted += int(interrupted)
        if not passed and failure:
            self.failures.append(failure[:500])


def record_reliability(path: Path, tallies: dict[str, ClassTally], **meta: Any) -> None:
    """Merge ``tallies`` (per fault class) into the JSON file at ``path`` (classes not given are
    kept; several test processes may write it, so under a lock)."""
    import fcntl
    from datetime import UTC, datetime

    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f".{path.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        data: dict[str, Any] = {}
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                data = {}
        classes = data.setdefault("classes", {})
        when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        for name, tally in tallies.items():
            classes[name] = {**asdict(tally), "recorded_at": when}
        data.update(meta)
        data["updated_at"] = when
        path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# ---- comparing two databases row for row -----------------------------------------------------------
LOAD_COLUMNS = ("_batch_id", "_loaded_at")  # differ between runs by design; the data must not
RAW_SCHEMAS = ("raw_canvas", "raw_canvas_logs")
BUILT_SCHEMAS = ("canvas", "canvas_logs", "cd2_audit")


def _fingerprints(con: duckdb.DuckDBPyConnection, catalog: str, schemas: Sequence[str]) -> dict[str, tuple]:
    """Per table of ``schemas`` in ``catalog``: (its columns but the load bookkeeping, rows, a hash
    summed over its rows), in one query: equal multisets of rows give equal sums."""
    listed = ", ".join(f"'{s}'" for s in schemas)
    columns: dict[str, list[str]] = {}
    for schema, table, column in con.execute(
        f"""SELECT table_schema, table_name, column_name FROM information_schema.columns
            WHERE table_catalog = '{catalog}' AND table_schema IN ({listed})
              AND (table_schema, table_name) IN (
                  SELECT (table_schema, table_name) FROM information_schema.tables
                  WHERE table_catalog = '{catalog}' AND table_type = 'BASE TABLE')
            ORDER BY table_schema, table_name, ordinal_position"""
    ).fetchall():
        if column not in LOAD_COLUMNS:
            columns.setdefault(f"{schema}.{table}", []).append(str(column))
    if not columns:
        return {}
    parts = []
    for name, cols in sorted(columns.items()):
        schema, table = name.split(".", 1)
        hashed = ", ".join(quote(c) for c in sorted(cols))  # by name: column order may differ
        parts.append(
            f"SELECT '{name}', count(*), coalesce(sum(hash({hashed})::HUGEINT), 0) "
            f"FROM {quote(catalog)}.{quote(schema)}.{quote(table)}"
        )
    found = con.execute(" UNION ALL ".join(parts)).fetchall()
    return {str(name): (tuple(sorted(columns[str(name)])), int(rows), int(total)) for name, rows, total in found}


def row_differences(db: Path, reference: Path, schemas: Sequence[str]) -> dict[str, tuple[int, int]]:
    """Per table of ``schemas`` that differs: (rows of the reference missing from ``db``, rows of
    ``db`` beyond the reference), all columns compared but the load bookkeeping (batch ids, load
    times); (-1, -1) for a table on one side only. Fingerprints first, rows only where they differ."""
    con = duckdb.connect(str(db), read_only=True)
    out: dict[str, tuple[int, int]] = {}
    try:
        con.execute(f"ATTACH '{reference}' AS ref (READ_ONLY)")
        here = con.execute("SELECT current_database()").fetchone()
        assert here is not None
        mine, theirs = _fingerprints(con, str(here[0]), schemas), _fingerprints(con, "ref", schemas)
        for name in sorted(set(mine) | set(theirs)):
            if mine.get(name) == theirs.get(name):
                continue
            if name not in mine or name not in theirs or mine[name][0] != theirs[name][0]:
                out[name] = (-1, -1)  # on one side only, or other columns
                continue
            schema, table = name.split(".", 1)
            rel = f"{quote(schema)}.{quote(table)}"
            cols = ", ".join(quote(c) for c in mine[name][0])
            row = con.execute(
                f"""SELECT
                    (SELECT count(*) FROM (SELECT {cols} FROM ref.{rel} EXCEPT ALL SELECT {cols} FROM {rel})),
                    (SELECT count(*) FROM (SELECT {cols} FROM {rel} EXCEPT ALL SELECT {cols} FROM ref.{rel}))"""
            ).fetchone()
            assert row is not None
            out[name] = (int(row[0]), int(row[1]))
    finally:
        con.close()
    return out


def lost_and_doubled(differences: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """Rows missing and rows beyond, summed over ``row_differences``'s tables."""
    return sum(max(0, a) for a, _ in differences.values()), sum(max(0, b) for _, b in differences.values())


def watermarks(db: Path) -> dict[str, object]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT namespace || '.' || table_name, watermark FROM cd2_meta.table_state").fetchall()
    finally:
        con.close()
    return {str(q): w for q, w in rows}


def orphans_in(db: Path) -> list[str]:
    """``orphan_watermarks`` of a database file (none if nothing landed yet)."""
    if not db.exists():
        return []
    con = duckdb.connect(str(db), read_only=True)
    try:
        return orphan_watermarks(con)
    except duckdb.CatalogException:
        return []
    finally:
        con.close()


# ---- kill -9 trials -----------------------------------------------------------------------------------
@dataclass
class TrialResult:
    name: str
    seed: int
    passed: bool
    lost: int = 0
    doubled: int = 0
    interrupted: bool = False  # the kill came while the process ran
    detail: str = ""
    max_rss_kb: int = 0

    def tally(self, tallies: dict[str, ClassTally]) -> None:
        message = f"seed {self.seed}: {self.detail}"
        tallies.setdefault(self.name, ClassTally()).add(self.passed, self.lost, self.doubled, message, self.interrupted)


class SyncKillBench:
    """``kill -9`` of ``cd2 sync`` (the CLI) at a seeded moment, then a re-run, compared row for row
    with a clean run. Set up once (clean references, checked against the truth, and the time a warm
    run takes); the server's clock must not move between the set-up and the trials. With ``lake``
    the sync writes a Parquet lake (``--lake``), compared through DuckDB views of it."""

    KINDS = ("snapshot", "incremental")

    def __init__(
        self, server: FakeDapServer, work: Path, tables: Sequence[str] | None = None, *, lake: bool = False
    ) -> None:
        self.work = work
        self.lake = lake
        self.suffix = ".lake" if lake else ".duckdb"
        work.mkdir(parents=True, exist_ok=True)
        self.env = cli_env(server.url)
        self.table_args = ("--table", ",".join(t.split(".", 1)[1] for t in tables)) if tables else ()
        store = server.store
        checked = list(tables or default_tables(store))
        self.base = work / f"base{self.suffix}"
        done = self._sync(self.base)
        assert done.returncode == 0, done.output[-3000:]
        server.advance(4)
        store = server.store
        self.references: dict[str, Path] = {}
        self.seconds: dict[str, float] = {}
        for kind in self.KINDS:
            # the first clean run renders the jobs; the second, warm like the trials, times the kill window
            for copy in ("reference", "warm"):
                target = work / f"{kind}-{copy}{self.suffix}"
                self._start(target, kind)
                done = self._sync(target)
                assert done.returncode == 0, done.output[-3000:]
                self.seconds[kind] = done.seconds
                if copy == "reference":
                    self.references[kind] = self.comparable(target)
                    damage = landing_damage(self.references[kind], store, checked)
                    assert damage.clean, f"a clean {kind} run differs from the truth: {damage}"
                else:
                    differences = row_differences(self.comparable(target), self.references[kind], RAW_SCHEMAS)
                    assert differences == {}, f"two clean {kind} runs"
        self._count = 0

    def _sync(self, target: Path, kill_after_s: float | None = None) -> ChildRun:
        where = ("--lake" if self.lake else "--db", str(target))
        command = cd2_command("sync", *where, "--no-rate-limit", "--progress", "never", *self.table_args)
        return run_child(command, self.env, kill_after_s=kill_after_s)

    def comparable(self, target: Path) -> Path:
        """A DuckDB file to compare: the database itself, or the lake's tables copied into one."""
        return lake_database(target, target.with_name(target.name + ".duckdb")) if self.lake else target

    def _remove(self, target: Path) -> None:
        if target.is_dir():
            shutil.rmtree(target)
        for old in target.parent.glob(target.name + "*"):
            if old.is_dir():
                shutil.rmtree(old)
            else:
                old.unlink()

    def _start(self, target: Path, kind: str) -> None:
        self._remove(target)
        if kind == "incremental":
            if self.lake:
                shutil.copytree(self.base, target)
            else:
                shutil.copyfile(self.base, target)

    def trial(self, seed: int, kind: str) -> TrialResult:
        self._count += 1
        target = self.work / f"trial{self._count}{self.suffix}"
        self._start(target, kind)
        at = random.Random(seed).uniform(0.15, 0.95) * self.seconds[kind]
        first = self._sync(target, kill_after_s=at)
        again = self._sync(target)
        db = self.comparable(target)
        # row for row the clean run's raw data, which equal the truth (checked at set-up)
        differences = row_differences(db, self.references[kind], RAW_SCHEMAS)
        lost, doubled = lost_and_doubled(differences)
        problems = []
        if again.returncode != 0:
            problems.append(f"re-run exit {again.returncode}: {again.output[-1500:]}")
        if differences:
            problems.append(f"raw data differ from a clean run: {differences}")
        if orphans := orphans_in(db):
            problems.append(f"watermarks without their data: {orphans}")
        if watermarks(db) != watermarks(self.references[kind]):
            problems.append("watermarks differ from a clean run's")
        if self.lake and (unfinished := sorted(p.name for p in target.glob(f"raw/*/*/{TEMP_PREFIX}*"))):
            problems.append(f"unfinished batch folders left after the re-run: {unfinished[:5]}")
        self._remove(target)
        detail = f"{kind}, killed at {at:.2f}s (while running: {first.killed})" + "".join(f"; {p}" for p in problems)
        name = "kill -9 of cd2 sync --lake" if self.lake else "kill -9 of cd2 sync"
        return TrialResult(
            f"{name} ({kind})", seed, not problems, lost, doubled, first.killed, detail,
            max(first.max_rss_kb, again.max_rss_kb),
        )  # fmt: skip


# The current state of a few tables (the big ones among them), their tests and the tombstone log.
BUILD_TABLES = ("canvas.accounts", "canvas.courses", "canvas.enrollments", "canvas.submissions", "canvas_logs.web_logs")
BUILD_SELECT = " ".join(q.replace(".", "__") for q in BUILD_TABLES) + " cd2__deleted_rows"


class BuildKillBench:
    """``kill -9`` of ``cd2 run --skip-sync`` (dbt in-process) at a seeded moment, then a re-run,
    compared row for row (current state and tombstones) with a clean build of the same data.

    Every run uses one database path, so dbt's partial parse stays valid (the profile names it);
    the first clean run parses the project (~15-30 s)."""

    KINDS = ("first build", "incremental build")

    def __init__(self, server: FakeDapServer, work: Path, tables: Sequence[str], select: str) -> None:
        self.work = work
        run = work / "run"
        run.mkdir(parents=True, exist_ok=True)
        self.db = run / "cd2.duckdb"
        config = run / "run.yml"
        config.write_text(f"db: {self.db}\ndbt: {{select: '{select}', docs: false}}\n", encoding="utf-8")
        self.env = cli_env(DBT_TARGET_PATH=str(run / "target"))
        self.command = cd2_command("run", "--skip-sync", "--config", str(config), "--progress", "never", "--no-docs")
        self.states = {"first build": work / "landed.duckdb", "incremental build": work / "landed-again.duckdb"}
        self.references = {k: work / f"{k.replace(' ', '-')}-reference.duckdb" for k in self.states}
        self.seconds: dict[str, float] = {}
        assert run_sync(server, self.states["first build"], tables).ok
        for kind, state in self.states.items():
            if kind == "incremental build":
                # the first build's result, then new data: an incremental merge
                shutil.copyfile(self.references["first build"], state)
                server.advance(6)
                assert run_sync(server, state, tables).ok
            # the first run parses the project: a second clean first build times the kill window
            for copy in ("reference", "warm") if kind == "first build" else ("reference",):
                self._place(state)
                done = self._build()
                assert done.returncode == 0, done.output[-4000:]
                self.seconds[kind] = done.seconds
                if copy == "reference":
                    shutil.copyfile(self.db, self.references[kind])
                else:
                    assert row_differences(self.db, self.references[kind], BUILT_SCHEMAS) == {}, f"two clean {kind}s"

    def _place(self, state: Path) -> None:
        for leftover in self.db.parent.glob("cd2*.duckdb*"):
            leftover.unlink()
        shutil.copyfile(state, self.db)

    def _build(self, kill_after_s: float | None = None) -> ChildRun:
        return run_child(self.command, self.env, kill_after_s=kill_after_s, cwd=Path(__file__).resolve().parents[2])

    def trial(self, seed: int, kind: str) -> TrialResult:
        self._place(self.states[kind])
        at = random.Random(seed).uniform(0.25, 0.95) * self.seconds[kind]
        first = self._build(kill_after_s=at)
        again = self._build()
        differences = row_differences(self.db, self.references[kind], BUILT_SCHEMAS)
        lost, doubled = lost_and_doubled(differences)
        problems = []
        if again.returncode != 0:
            problems.append(f"re-run exit {again.returncode}: {again.output[-2000:]}")
        if differences:
            problems.append(f"current state differs from a clean build: {differences}")
        detail = f"{kind}, killed at {at:.2f}s (while running: {first.killed})" + "".join(f"; {p}" for p in problems)
        return TrialResult(
            f"kill -9 of the dbt build ({kind})", seed, not problems, lost, doubled, first.killed, detail,
            max(first.max_rss_kb, again.max_rss_kb),
        )  # fmt: skip


# ---- a full disk --------------------------------------------------------------------------------------
DISK_PHASES = {
    # what must meet the full disk -> free space left. On the tiny institution: the snapshot's biggest
    # download (web_logs, ~2.3 MB) cannot be written; an incremental's first batch with rows cannot
    # be committed (its WAL needs more than 8 KiB; a few KiB of small files still fit).
    "download": 1_200_000,
    "database": 8192,
}
RETRY_LINES = re.compile(r"retrying in|fetching the files again|failed \d+ times")


def disk_full_trial(server: FakeDapServer, disk: Path, phase: str, seed: int = 0) -> TrialResult:
    """``cd2 sync`` of ``FAULT_TABLES`` (one table at a time: the same write meets the full disk on
    every run) into ``disk``, a small filesystem, filled but ``DISK_PHASES[phase]`` bytes; then the
    space freed and a re-run. "download" starts from an empty disk, "database" from a synced one."""
    db = disk / "cd2.duckdb"
    command = cd2_command(
        "sync", "--db", str(db), "--no-rate-limit", "--progress", "never", "--concurrency", "1",
        "--download-concurrency", "1", "--table", ",".join(q.split(".", 1)[1] for q in FAULT_TABLES),
    )  # fmt: skip
    env = cli_env(server.url)
    if phase == "download":
        for old in disk.glob("cd2.duckdb*"):
            old.unlink()
    else:
        ready = run_child(command, env)
        assert ready.returncode == 0, ready.output[-3000:]
        server.advance(4)
    ballast = fill_disk(disk, leave_bytes=DISK_PHASES[phase])
    downloads_before = len(server.request_log.select("download"))
    try:
        full = run_child(command, env)
        downloads = len(server.request_log.select("download")) - downloads_before
        orphans = orphans_in(db)
    finally:
        ballast.unlink()
    again = run_child(command, env)
    damage = landing_damage(db, server.store, FAULT_TABLES)
    problems = []
    errors = [line for line in full.output.splitlines() if " failed: " in line]
    if full.returncode != 1 or not errors:
        problems.append(f"the full-disk run did not fail: exit {full.returncode}")
    if any("disk full" not in line for line in errors):
        problems.append(f"a failure does not say the disk is full: {errors}")
    if not any(f"could not write the {phase}" in line for line in errors):
        problems.append(f"no {phase} write met the full disk: {errors}")
    if RETRY_LINES.search(full.output):
        problems.append(f"retried: {RETRY_LINES.findall(full.output)}")
    if "no transaction is active" in full.output:
        problems.append("the ROLLBACK's error replaced the real one")
    if downloads > len(FAULT_TABLES) * 2:  # one file per table here, at most one job restart
        problems.append(f"{downloads} downloads: files were fetched again")
    if orphans:
        problems.append(f"watermarks advanced without their data: {orphans}")
    if again.returncode != 0 or not damage.clean:
        problems.append(f"after freeing space: exit {again.returncode}, {damage}; {again.output[-1500:]}")
    detail = "; ".join(problems) + (f"\n{full.output[-3000:]}" if problems else "")
    return TrialResult(
        f"disk full ({phase})", seed, not problems, damage.lost, damage.doubled, False, detail,
        max(full.max_rss_kb, again.max_rss_kb),
    )  # fmt: skip


def temp_dir_full_trial(server: FakeDapServer, work: Path, seed: int = 0) -> TrialResult:
    """Anywhere (no mount needed): DuckDB's own cap on its temporary directory, met by the load of
    web_logs when memory is short, into a fresh database; then a re-run with the usual settings."""
    db = work / f"temp-limit-{seed}.duckdb"
    for old in work.glob(db.name + "*"):
        old.unlink()
    target = "canvas_logs.web_logs"
    cramped = {"memory_limit": "48MB", "threads": "2", "max_temp_directory_size": "0KB"}
    downloads_before = _downloads(server, target)
    report = run_sync(server, db, [target], duckdb_config={**cramped, "temp_directory": str(work / "tmp")})
    downloads = _downloads(server, target) - downloads_before
    again = run_sync(server, db, [target])
    damage = landing_damage(db, server.store, [target])
    problems = []
    failed = report.failed[0] if report.failed else None
    if failed is None or failed.error_type != "DiskFull" or "temporary directory" not in (failed.error or ""):
        problems.append(f"not reported as a full temporary directory: {failed}")
    elif "max_temp_directory_size" not in (failed.error or ""):
        problems.append("the message does not name the setting")
    if downloads != 1:
        problems.append(f"{downloads} downloads of one file: fetched again")
    if not again.ok or not damage.clean:
        problems.append(f"the re-run: {[(r.qualified_name, r.error) for r in again.failed]}, {damage}")
    name = "disk full (DuckDB temporary directory limit)"
    return TrialResult(name, seed, not problems, damage.lost, damage.doubled, False, "; ".join(problems))


def _downloads(server: FakeDapServer, table: str) -> int:
    return sum(1 for r in server.request_log.select("download") if r.table == table)
