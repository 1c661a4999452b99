"""``cd2 sync``: bring every selected table up to date, job creation paced to the API's limit.

Per table: read the schema from the API, decide snapshot (no watermark yet) or incremental
(since the watermark), run the job, download, then land the files as one batch. A failure is
confined to its table: it is logged in ``cd2_meta.batches`` and the other tables go on.
``SnapshotRequired`` / ``OutOfRange`` start a new snapshot (recorded as such) unless auto
re-snapshot is off.

The plan. The API creates at most 5 jobs a minute and its jobs take from seconds to many
minutes, so a round cannot end before ``ceil(tables / 5) - 1`` minutes plus the last job's
duration; it ends close to that when job creation never idles and the slow jobs start first:

1. The destination's history is read once (``history``): watermarks, last attempts, how long
   each table's latest jobs took. Tables not due by their cadence (``extract.cadence``) are
   reported as skipped; the others are ordered slowest first (``order``).
2. Every table runs in a thread of its own: it reads its schema (a few at a time), then waits
   for its turn (``pacing``): tables post their first job in the plan's order, each as soon as
   the shared rate limiter (``extract.dap.ratelimit``) allows, so creation runs at the limit,
   with no gap while tables remain. At most ``max_jobs_in_flight`` jobs wait to finish at once,
   each polled by its own thread (500 status calls a minute allow many).
3. A finished job takes a files slot (``concurrency``: the tables whose files are on disk and not
   yet landed, so disk use stays bounded), asks for its URLs and downloads on the shared
   download pool (``download_concurrency``). Jobs are only deleted 24 h after creation, so a
   finished job can wait for a slot; its URLs (valid ~15 min) are asked for once it has one.
4. Landing is serialised on the one DuckDB connection (DuckDB parallelises each load itself);
   the files go and the slot frees once the batch is committed (or failed).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from extract import redact
from extract.cadence import Cadence, due_after, is_due
from extract.config import MEMORY_LIMIT_ENV
from extract.config_values import CSV_NULLS
from extract.dap.client import DapClient
from extract.dap.errors import DapError, OutOfRangeError, SnapshotRequiredError
from extract.landing.batch import BatchResult, BatchSpec, DiskFullError
from extract.landing.readers import CSV_NULL_WORD, FORMATS, parquet_columns
from extract.names import UnsafeNameError, UnsafePathError, check_qualified_name, inside, shown, shown_qualified
from extract.schema import TableSchema
from extract.sync.destination import Destination, DuckDBDestination
from extract.sync.fetch import FetchedJob, FetchPolicy, JobFetcher
from extract.sync.history import TableHistory
from extract.sync.order import creation_order
from extract.sync.pacing import Pacer
from extract.sync.progress import Reporter
from extract.sync.results import SyncReport, TableResult
from extract.timeutil import iso_z, utc_now

log = logging.getLogger(__name__)

MAX_LAND_ATTEMPTS = 3
SCHEMA_READS_AT_ONCE = 4  # tables reading their schema before their turn


def work_dir_for(db: Path) -> Path:
    """The sync's download folder for the DuckDB file ``db``: beside it, emptied on every run."""
    return db.parent / f".cd2_work_{db.stem}"


@dataclass
class SyncOptions:
    tables: Sequence[str]  # qualified names namespace.table
    fmt: str = "jsonl"
    csv_null: str = "empty"  # how CSV files write NULL in text columns: "empty" or "NULL"
    concurrency: int = 4  # tables whose files are on disk, not yet landed
    download_concurrency: int = 8
    auto_resnapshot: bool = True
    work_dir: Path = Path(".cd2_work")
    max_jobs_in_flight: int = 40
    cadence: Cadence = field(default_factory=Cadence)
    fetch: FetchPolicy = field(default_factory=FetchPolicy)

    def __post_init__(self) -> None:
        if self.fmt not in FORMATS:
            raise ValueError(f"unknown format {self.fmt!r}; choose one of {', '.join(FORMATS)}")
        if self.csv_null not in CSV_NULLS:
            raise ValueError(f"unknown csv_null {self.csv_null!r}; choose one of {', '.join(CSV_NULLS)}")
        if min(self.concurrency, self.download_concurrency, self.max_jobs_in_flight) < 1:
            raise ValueError("concurrency, download_concurrency and max_jobs_in_flight must be at least 1")


class SyncRunner:
    def __init__(
        self,
        client: DapClient,
        con: duckdb.DuckDBPyConnection,
        options: SyncOptions,
        reporter: Reporter,
        destination: Destination | None = None,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        """``con`` reads the downloaded files; the batches go to ``destination`` (default: the
        DuckDB file of ``con``). ``now``: the wall clock the cadence is judged by."""
        self.client = client
        self.con = con
        self.destination = destination or DuckDBDestination(con)
        self.options = options
        self.reporter = reporter
        self._now = now
        self._land_lock = threading.Lock()
        self._schema_reads = threading.Semaphore(SCHEMA_READS_AT_ONCE)
        self._refused: dict[str, str] = {}  # shown name -> why the real name is refused (see run)
        self._history: dict[str, TableHistory] = {}
        self._pacer = Pacer()

    def run(self) -> SyncReport:
        started = time.monotonic()
        report = SyncReport()
        work = _checked_work_dir(self.options.work_dir)
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)  # leftovers of an interrupted run hold nothing committed
        work.mkdir(parents=True, exist_ok=True)
        # Table names come from the API: an unsafe one is passed on (and so logged, recorded and
        # summarised) escaped, so a newline cannot forge a log line; _sync_table refuses it.
        display = {q: shown_qualified(q) for q in self.options.tables}
        self._refused = {display[q]: why for q in self.options.tables if (why := _unsafe(q)) is not None}
        with self._land_lock:
            self._history = self.destination.history()
        due: list[str] = []
        for qname in display.values():
            skipped = self._not_due(qname)
            if skipped is None:
                due.append(qname)
            else:
                report.results.append(skipped)
                self.reporter.table_done(skipped)
        order = creation_order(due, self._history)
        self._pacer = Pacer(
            order, self.options.max_jobs_in_flight, self.options.concurrency, self.reporter.table_started
        )
        # one thread per table: a table waiting for its turn, its job or a files slot holds no other
        with (
            ThreadPoolExecutor(self.options.download_concurrency, thread_name_prefix="download") as downloads,
            ThreadPoolExecutor(max(1, len(order)), thread_name_prefix="table") as tables,
        ):
            fetcher = JobFetcher(self.client, downloads, self.options.fetch, root=work, pacer=self._pacer)
            futures = [tables.submit(self._sync_table, qname, fetcher) for qname in order]
            for future in as_completed(futures):
                result = future.result()
                report.results.append(result)
                self.reporter.table_done(result)
        shutil.rmtree(work, ignore_errors=True)
        report.results.sort(key=lambda r: r.qualified_name)
        report.seconds = time.monotonic() - started
        return report

    def _not_due(self, qname: str) -> TableResult | None:
        """The skipped result of a table its cadence says is not due yet; None when it is due."""
        rule = self.options.cadence.rule_for(qname)
        past = self._history.get(qname)
        if rule is None or past is None or is_due(rule, past.last_success_at, past.last_status, self._now()):
            return None
        assert past.last_success_at is not None
        due = due_after(rule, past.last_success_at)
        reason = f"not due by its cadence ({rule.text}): last synced {iso_z(past.last_success_at)}, due {iso_z(due)}"
        return TableResult(qname, "skipped", reason=reason)

    def _sync_table(self, qname: str, fetcher: JobFetcher) -> TableResult:
        namespace, table = qname.split(".", 1)
        started = time.monotonic()
        kind, reason = "snapshot", "initial"
        try:
            # Before any request, path or SQL is made from the name: an unsafe name fails this table only.
            if qname in self._refused:
                raise UnsafeNameError(self._refused[qname])
            check_qualified_name(qname)
            with self._schema_reads:
                version, doc = self.client.get_schema(namespace, table)
            schema = TableSchema.from_dap_schema(namespace, table, doc, version)
            past = self._history.get(qname)
            watermark = past.watermark if past is not None else None
            if watermark is not None:
                kind, reason = "incremental", "scheduled"
            try:
                fetched, batch = self._fetch_and_land(schema, fetcher, kind, reason, watermark)
            except (SnapshotRequiredError, OutOfRangeError) as exc:
                if kind != "incremental" or not self.options.auto_resnapshot:
                    raise
                kind, reason = "snapshot", f"resnapshot: {type(exc).__name__.removesuffix('Error')}"
                log.warning("%s: %s; taking a new snapshot", qname, exc)
                self.reporter.note(qname, f"{type(exc).__name__}: new snapshot")
                fetched, batch = self._fetch_and_land(schema, fetcher, kind, reason, None)
        except Exception as exc:  # confined to this table: record it and let the others go on
            self._pacer.leave(qname)  # before waiting for the landing lock: the next table's turn
            self._pacer.release_files(qname)
            return self._failed(qname, exc, kind, reason, self._seconds(qname, started))
        finally:
            self._pacer.leave(qname)
        return TableResult(
            qname,
            "ok",
            kind=kind,
            reason=reason,
            rows=batch.rows,
            upserts=batch.upserts,
            deletes=batch.deletes,
            bytes=fetched.bytes,
            files=len(fetched.files),
            seconds=self._seconds(qname, started),
            batch_id=batch.batch_id,
            schema_version=schema.version,
            watermark=iso_z(fetched.job.watermark) if fetched.job.watermark else None,
        )

    def _seconds(self, qname: str, started: float) -> float:
        """The table's time from its turn (else from its start), not the time it queued before it."""
        return time.monotonic() - (self._pacer.turn_started(qname) or started)

    def _failed(self, qname: str, exc: Exception, kind: str, reason: str, seconds: float) -> TableResult:
        namespace, table = qname.split(".", 1)
        error_type = getattr(exc, "error_type", None) or type(exc).__name__
        # The API's error text may echo a secret, a token or a signed URL: scrubbed before it is
        # logged, stored in cd2_meta or printed; one line, so it cannot forge a log line.
        message = redact.one_line(str(exc) or type(exc).__name__, limit=2000)
        # Advice shared by many tables (raise memory_limit, free disk space) is printed once by the summary.
        advice = getattr(exc, "advice", None)
        if isinstance(exc, duckdb.OutOfMemoryException):
            advice = self._memory_advice()
        log.error("%s failed: %s", qname, message)
        with self._land_lock:
            try:
                self.destination.record_failure(
                    namespace,
                    table,
                    kind=kind,
                    reason=reason,
                    error_type=error_type,
                    message=f"{message} ({advice})" if advice else message,
                    fmt=self.options.fmt,
                )
            except (duckdb.Error, OSError) as log_error:  # never hide the original failure
                log.error("%s: could not record the failure: %s", qname, log_error)
        return TableResult(
            qname,
            "failed",
            kind=kind,
            reason=reason,
            seconds=seconds,
            error=message,
            error_type=error_type,
            advice=advice,
        )

    def _memory_advice(self) -> str:
        with self._land_lock:
            row = self.con.execute("SELECT current_setting('memory_limit')").fetchone()
        limit = row[0] if row else "?"
        return (
            f"DuckDB's memory_limit is {limit}: raise it (memory_limit in cd2.yml or ${MEMORY_LIMIT_ENV}) "
            "and run again; the watermarks of the tables that failed were not advanced"
        )

    def _query(self, kind: str, watermark: Any) -> dict[str, Any]:
        query: dict[str, Any] = {"format": self.options.fmt, "mode": "condensed"}
        if kind == "incremental":
            query["since"] = iso_z(watermark)
        return query

    def _fetch_and_land(
        self, schema: TableSchema, fetcher: JobFetcher, kind: str, reason: str, watermark: Any
    ) -> tuple[FetchedJob, BatchResult]:
        qname = schema.qualified_name
        dest = self._work_path(schema)
        query = self._query(kind, watermark)
        last_error: Exception | None = None
        for attempt in range(1, MAX_LAND_ATTEMPTS + 1):
            try:
                fetched = fetcher.fetch(
                    schema.namespace,
                    schema.name,
                    query,
                    dest,
                    on_job=lambda job: self.reporter.job_state(qname, job.status),
                    on_file=lambda size: self.reporter.file_downloaded(qname, size),
                )
                schema = self._schema_for_job(schema, fetched)
                job = fetched.job
                if job.watermark is None:
                    raise DapError(message=f"{qname}: job {job.id} reported neither 'at' nor 'until'")
                spec = BatchSpec(
                    schema=schema,
                    kind=kind,
                    reason=reason,
                    fmt=self.options.fmt,
                    files=fetched.files,
                    watermark=job.watermark,
                    job_id=job.id,
                    since=job.since,
                    until=job.until,
                    snapshot_at=job.at,
                    bytes=fetched.bytes,
                    started_at=fetched.started_at,
                    job_finished_at=fetched.job_finished_at,
                    downloaded_at=fetched.downloaded_at,
                    parquet_columns=self._parquet_columns(fetched) if self.options.fmt == "parquet" else (),
                    csv_null=CSV_NULL_WORD if self.options.csv_null == "NULL" else None,
                )
                self.reporter.landing(qname)
                try:
                    with self._land_lock:
                        batch = self.destination.land(spec)
                except DiskFullError:
                    raise  # not a damaged file: fetching the files again would fill the same disk
                except duckdb.IOException as exc:
                    # A file that arrived damaged (e.g. a truncated gzip with a plausible length) fails
                    # here; nothing was committed, so fetch the files again and retry.
                    last_error = exc
                    log.warning(
                        "%s: landing failed (%s); fetching the files again (attempt %d)",
                        qname,
                        _short(exc),
                        attempt,
                    )
                    continue
                return fetched, batch
            finally:
                # landed, failed or to be fetched again: the files go (room for other tables), and the slot
                shutil.rmtree(dest, ignore_errors=True)
                self._pacer.release_files(qname)
        raise DapError(
            message=f"{qname}: could not land the job's files after {MAX_LAND_ATTEMPTS} attempts: {_short(last_error)}"
        )

    def _work_path(self, schema: TableSchema) -> Path:
        """The table's download folder, emptied and removed after landing: so it is built from
        checked names only and proven to be inside the work folder."""
        namespace, table = check_qualified_name(schema.qualified_name)
        work = self.options.work_dir
        return inside(work, work / f"{namespace}.{table}")

    def _schema_for_job(self, schema: TableSchema, fetched: FetchedJob) -> TableSchema:
        """The job may have been produced with a newer schema version than we fetched."""
        version = fetched.job.schema_version
        if version is None or version <= schema.version:
            return schema
        new_version, doc = self.client.get_schema(schema.namespace, schema.name)
        return TableSchema.from_dap_schema(schema.namespace, schema.name, doc, new_version)

    def _parquet_columns(self, fetched: FetchedJob) -> list[str]:
        with self._land_lock:
            return parquet_columns(self.con, fetched.files)


def _unsafe(qname: str) -> str | None:
    """Why ``qname`` is refused (its message shows the real name with ``repr``), or None."""
    try:
        check_qualified_name(qname)
    except UnsafeNameError as exc:
        return str(exc)
    return None


def _checked_work_dir(work: Path) -> Path:
    """``work`` unless it is a folder whose removal would take more than the sync's leftovers:
    the filesystem root, the home folder, the current folder or one of its ancestors."""
    resolved = work.resolve()
    try:
        home: Path | None = Path.home().resolve()
    except RuntimeError:  # no home folder (e.g. a service account without one)
        home = None
    if resolved == home or Path.cwd().resolve().is_relative_to(resolved):
        raise UnsafePathError(f"refusing {shown(str(work))} as the sync's work folder: it is emptied on every run")
    return work


def _short(exc: BaseException | None) -> str:
    text = " ".join(str(exc).split()) if exc else "unknown error"
    return text[:300]
