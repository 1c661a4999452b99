"""``cd2 run``: sync, then ``dbt build``, then the docs site and the report site, in one process.

DuckDB allows one writer per file, so the steps that use it run strictly one after the other and
each closes its connection before the next opens one (dbt runs in-process through ``dbtRunner``).
dbt parses the project once (``dbt parse``); the build and the docs site reuse that manifest
instead of loading it again. Importing dbt and its parse touch neither the DuckDB file nor the
API, so they run in a background thread while the sync runs: hidden while the sync waits for
the API's jobs (1.7 to 4.1 s a round against 4-second jobs), no gain when the sync keeps every core
busy (bench/README.md). dbt's JSON writing is off for both: the build's
``run_results.json`` is written here, and ``target/manifest.json`` (1,500 nodes, ~1 s to write)
only when the parse found the project changed or it is missing; the docs step writes its own.
Together a few seconds of fixed cost saved on every run.
The whole round holds the writer lock (``extract.writer_lock``): DuckDB's own lock lapses between
the sync's connection and dbt's, and another cd2 writer must not slip in there. Readers never open
the working file: after the build and docs, the round publishes a copy for them
(``extract.publish``), swapped in whole. Before that, once dbt has let go of the file, the round
writes the report site (``extract.report``) from the marts it just built.
The summary covers every step: tables synced, rows, models built, tests passed / warned /
failed, and how fresh each namespace's data is. Any failure makes the exit code non-zero, but
a sync failure of some tables still lets dbt build what did land.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from extract.config import DB_ENV, MEMORY_LIMIT_ENV, RunConfig
from extract.dap.client import DapClient
from extract.database import default_published_path, open_database
from extract.docs_state import SITE, docs_key, forget_site, record_site, site_is_current
from extract.failures import CannotStartError
from extract.freshness import freshness_by_namespace
from extract.lake.layout import LakeLayout
from extract.lake.state import LakeState
from extract.landing.diskfull import DiskFullError
from extract.publish import Published, publish
from extract.report import REPORT_NEEDS, SITE_DIR, ReportResult, build_report, project_settings
from extract.report.queries import has_relation
from extract.round_now import restamp
from extract.round_plan import BUILT_KINDS, RoundPlan, mark_pending, nodes_of, plan_round
from extract.round_tests import narrowed_tests, narrowed_to_no_row, recorded_marks
from extract.sync.destination import LakeDestination
from extract.sync.progress import Reporter
from extract.sync.results import SyncReport
from extract.sync.runner import SyncOptions, SyncRunner, work_dir_for
from extract.sync.selection import resolve_tables
from extract.unchanged import code_fingerprint, code_matches, dbt_vars, unchanged_models
from extract.writer_lock import duckdb_lock_error, hold_writer

log = logging.getLogger(__name__)


@dataclass
class DbtStepResult:
    command: str
    ok: bool
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)  # e.g. {"model:success": 230, "test:warn": 3}
    failures: list[str] = field(default_factory=list)
    nodes_seconds: float | None = None  # dbt's own time for the nodes and hooks ("Finished running ... in")


@dataclass
class RunSummary:
    sync: SyncReport | None = None
    dbt: list[DbtStepResult] = field(default_factory=list)
    freshness: dict[str, dict[str, Any]] = field(default_factory=dict)
    docs_path: Path | None = None
    unchanged_models: list[str] = field(default_factory=list)
    plan: RoundPlan | None = None  # cd2 run's DuckDB rounds (extract/round_plan.py)
    narrowed_tests: int = 0  # models whose tests checked only the rows the round changed (extract/round_tests.py)
    idle_tests: int = 0  # tests left out: narrowed, they would have checked no row
    restamped: list[str] = field(default_factory=list)  # left out under a new now, stamp moved (round_now)
    docs_kept: bool = False  # the last round's site still describes the project (extract/docs_state.py)
    published: Published | None = None
    publish_error: str | None = None  # readers keep the previous round's copy
    report: ReportResult | None = None  # the report site (extract/report)
    report_skipped: str | None = None  # why there is no report this round (no marts built)
    report_error: str | None = None  # the report could not be written: the round fails

    @property
    def ok(self) -> bool:
        return (
            (self.sync is None or self.sync.ok)
            and all(step.ok for step in self.dbt)
            and self.publish_error is None
            and self.report_error is None
        )


def select_tables(client: DapClient, config: RunConfig) -> list[str]:
    """The qualified tables the settings ask for (see ``resolve_tables``); an error names where
    the names came from (a flag, cd2.yml or the environment)."""
    return resolve_tables(
        client,
        config.namespaces,
        config.table_list,
        namespace_fix=f"fix namespaces ({_given_by(config, 'namespaces')}; e.g. canvas)",
        table_fix=f"fix tables ({_given_by(config, 'tables')}); `cd2 list` shows the tables the API offers",
    )


def _given_by(config: RunConfig, name: str) -> str:
    return config.origin(name).replace("env ", "$").replace("flag ", "")


def run_sync_step(
    client: DapClient, config: RunConfig, reporter: Reporter, *, tables: list[str] | None = None
) -> SyncReport:
    """The sync of ``cd2 sync`` and of ``cd2 run``: the tables the settings ask for (or ``tables``,
    already selected) into ``config.db``, under the caller's writer lock. An existing database is
    opened (and checked) before any API call; a new one is created only once the tables are known,
    so that a bad name creates nothing. With ``config.lake`` the batches go to that Parquet lake
    instead (``extract.lake``; the caller holds the lake's writer lock)."""
    if config.lake is not None:
        return _sync_into_lake(client, config, reporter, tables)
    con = _open_for_sync(config) if config.db.exists() else None
    try:
        if tables is None:
            tables = select_tables(client, config)
        if con is None:
            con = _open_for_sync(config)
        reporter.start(len(tables))
        try:
            report = SyncRunner(client, con, _sync_options(config, tables, config.db), reporter).run()
        finally:
            reporter.stop()
        report.checkpoint(con)  # a failure (a full disk) is an error, not swallowed by close()
        return report
    finally:
        if con is not None:
            con.close()


def _sync_into_lake(client: DapClient, config: RunConfig, reporter: Reporter, tables: list[str] | None) -> SyncReport:
    assert config.lake is not None
    if tables is None:
        tables = select_tables(client, config)
    config.lake.mkdir(parents=True, exist_ok=True)
    state = LakeState.load(LakeLayout(config.lake), remove_unfinished=True)
    # in memory: it only reads the job files and writes Parquet
    con = duckdb.connect(config={"memory_limit": config.memory_limit} if config.memory_limit else {})
    try:
        destination = LakeDestination(con, state)
        reporter.start(len(tables))
        try:
            report = SyncRunner(client, con, _sync_options(config, tables, config.lake), reporter, destination).run()
        finally:
            reporter.stop()
        report.finish(destination.finish)  # the cd2_meta files, rebuilt from the batch records
        return report
    finally:
        con.close()


def _sync_options(config: RunConfig, tables: list[str], written: Path) -> SyncOptions:
    return SyncOptions(
        tables=tables,
        fmt=config.format,
        csv_null=config.csv_null,
        concurrency=config.concurrency,
        download_concurrency=config.download_concurrency,
        auto_resnapshot=config.auto_resnapshot,
        work_dir=work_dir_for(written),
        max_jobs_in_flight=config.max_jobs_in_flight,
        cadence=config.cadence,
    )


def _open_for_sync(config: RunConfig) -> duckdb.DuckDBPyConnection:
    return open_database(config.db, memory_limit=config.memory_limit, allow_foreign=config.allow_foreign_db)


def _dbt_args(args: list[str], project_dir: Path) -> list[str]:
    return [*args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]


def dbt_target_dir(project_dir: Path) -> Path:
    """Where dbt writes its artifacts and the docs site: $DBT_TARGET_PATH (relative to the
    project) or ``target``."""
    target = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    return target if target.is_absolute() else project_dir / target


def hand_settings_to_dbt(db: Path, memory_limit: str | None = None) -> None:
    """The one place cd2's settings reach dbt: the environment variables ``profiles.yml`` reads.
    ``CD2_DB`` is always set (profiles.yml's fallback is only for dbt run by hand); the memory
    limit when one is set (else DuckDB's own default applies)."""
    os.environ[DB_ENV] = str(db.resolve())
    if memory_limit:
        os.environ[MEMORY_LIMIT_ENV] = memory_limit
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


PARTIAL_PARSE_FILE = "partial_parse.msgpack"


def manifest_is_current(target: Path) -> bool:
    """Whether ``manifest.json`` was written after dbt last rewrote its partial-parse file. dbt
    rewrites that file only when a parse finds the project (or its vars, profile, dbt version)
    changed, so a manifest newer than it describes the project as parsed now."""
    try:
        return (target / "manifest.json").stat().st_mtime_ns >= (target / PARTIAL_PARSE_FILE).stat().st_mtime_ns
    except FileNotFoundError:
        return False


def parse_project(
    project_dir: Path, db: Path, vars_: str | None = None, write_manifest: bool = True
) -> tuple[DbtStepResult, Any]:
    """``dbt parse`` in-process: the step's result and the parsed manifest (None when it failed).
    ``vars_`` must be what the later commands pass: vars are part of what dbt parses. With
    ``write_manifest``, ``target/manifest.json`` is written unless it is already current."""
    from dbt.cli.main import dbtRunner

    hand_settings_to_dbt(db)
    started = time.monotonic()
    args = ["parse", "--no-write-json", *(["--vars", vars_] if vars_ else [])]
    result = dbtRunner().invoke(_dbt_args(args, project_dir))
    failures = [str(result.exception)] if result.exception is not None else []
    ok = bool(result.success) and result.result is not None
    target = dbt_target_dir(project_dir)
    if ok and write_manifest and not manifest_is_current(target):
        from dbt.parser.manifest import write_manifest as write_dbt_manifest

        write_dbt_manifest(result.result, str(target))
    return DbtStepResult("parse", ok, time.monotonic() - started, {}, failures), result.result if ok else None


def start_parse(
    project_dir: Path, db: Path, vars_: str | None, write_manifest: bool
) -> Future[tuple[DbtStepResult, Any]]:
    """``parse_project`` in a thread of its own; ``.result()`` waits for it and re-raises its error.
    The thread is joined at interpreter exit, so a run that fails before asking for the result
    still leaves dbt's partial-parse file whole."""
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cd2-dbt-parse")
    try:
        return executor.submit(parse_project, project_dir, db, vars_, write_manifest)
    finally:
        executor.shutdown(wait=False)


# Put on nodes of the parsed manifest for one command: the unchanged current-state models a
# build leaves out, the models a round builds (extract/round_plan.py).
UNCHANGED_TAG = "cd2__unchanged_this_run"
ROUND_TAG = "cd2__built_this_round"
NO_NEW_ROWS_TAG = "cd2__no_new_rows_this_round"


@contextmanager
def tagging(manifest: Any, names: Sequence[str], tag: str, kinds: Sequence[str] = ("model",)) -> Iterator[bool]:
    """Puts ``tag`` on the nodes named ``names`` (of ``kinds``) of the parsed manifest for the
    duration (never written: the build writes no manifest); yields whether any node has it. dbt
    matches every ``--select``/``--exclude`` name against every node of the 1,500-node project,
    about 1.5 s per build for 93 names; a tag is one pass."""
    wanted = set(names)
    nodes = [n for n in manifest.nodes.values() if n.resource_type in kinds and n.name in wanted] if wanted else []
    with _tagged(nodes, tag):
        yield bool(nodes)


@contextmanager
def _tagged(nodes: Sequence[Any], tag: str) -> Iterator[None]:
    for node in nodes:
        node.tags.append(tag)
    try:
        yield
    finally:
        for node in nodes:
            node.tags.remove(tag)


@contextmanager
def excluding(manifest: Any, models: Sequence[str]) -> Iterator[list[str]]:
    """The arguments that leave ``models`` out of the next dbt command run with ``manifest``: one
    ``--exclude tag:…`` over a tag put on those nodes (see ``tagging``)."""
    with tagging(manifest, models, UNCHANGED_TAG) as tagged:
        yield ["--exclude", f"tag:{UNCHANGED_TAG}"] if tagged else []


@contextmanager
def round_selection(
    manifest: Any, plan: RoundPlan, user_select: str | None, idle_tests: Sequence[str] = ()
) -> Iterator[list[str]]:
    """The selection arguments of a round's build. Without a plan (build everything): none. With
    one: ``--select`` of the models to build, and dbt's default (eager) test selection runs every
    test touching one of them, relationship tests to a fresh model included, and every test touching
    a view the plan leaves standing (its inputs changed). Under the user's own
    ``dbt.select`` (built with cautious test selection), the fresh models are excluded instead.
    ``idle_tests`` (unique ids: tests narrowed to no row, ``extract.round_tests``) are left out."""
    if plan.build is None:
        yield []
        return
    idle_ids = set(idle_tests)
    idle = [node for unique_id, node in manifest.nodes.items() if unique_id in idle_ids] if idle_ids else []
    left_out = [f"tag:{NO_NEW_ROWS_TAG}"] if idle else []
    with _tagged(idle, NO_NEW_ROWS_TAG):
        if user_select:
            with tagging(manifest, plan.fresh, UNCHANGED_TAG, BUILT_KINDS) as tagged:
                left_out += [f"tag:{UNCHANGED_TAG}"] if tagged else []
                yield ["--exclude", *left_out] if left_out else []
            return
        standing_tests = tests_of(manifest, plan.standing)
        with tagging(manifest, plan.build, ROUND_TAG, BUILT_KINDS), _tagged(standing_tests, ROUND_TAG):
            # nothing to build still selects by the tag: dbt then runs no node
            yield ["--select", f"tag:{ROUND_TAG}", *(["--exclude", *left_out] if left_out else [])]


def tests_of(manifest: Any, models: Sequence[str]) -> list[Any]:
    """The data tests of the parsed manifest that read any of the models named ``models``."""
    if not models:
        return []
    wanted = set(models)
    ids = {uid for uid, node in manifest.nodes.items() if node.resource_type == "model" and node.name in wanted}
    return [
        node
        for node in manifest.nodes.values()
        if node.resource_type == "test" and ids.intersection(getattr(getattr(node, "depends_on", None), "nodes", ()))
    ]


def run_dbt(
    args: list[str],
    project_dir: Path,
    db: Path,
    manifest: Any = None,
    run_results: Path | None = None,
    label: str | None = None,
) -> DbtStepResult:
    """One dbt command in-process; returns node counts by type and status. With ``manifest`` (from
    ``parse_project``) dbt skips loading the project; with ``run_results`` the command runs with
    ``--no-write-json`` and only its run results are written, to that path."""
    from dbt.cli.main import dbtRunner

    hand_settings_to_dbt(db)
    started = time.monotonic()
    extra = ["--no-write-json"] if run_results is not None else []
    result = dbtRunner(manifest=manifest).invoke(_dbt_args([*args, *extra], project_dir))
    if run_results is not None and hasattr(result.result, "write"):
        run_results.parent.mkdir(parents=True, exist_ok=True)
        result.result.write(str(run_results))
    counts: Counter[str] = Counter()
    failures: list[str] = []
    for node_result in getattr(result.result, "results", None) or []:
        node = getattr(node_result, "node", None)
        kind = getattr(node, "resource_type", "node")
        status = str(getattr(node_result, "status", "unknown"))
        counts[f"{kind}:{status}"] += 1
        if status in ("error", "fail"):
            failures.append(f"{getattr(node, 'unique_id', '?')}: {getattr(node_result, 'message', '')}")
    ok = bool(result.success)
    if result.exception is not None:
        failures.append(str(result.exception))
    elapsed = getattr(result.result, "elapsed_time", None)
    name = label or " ".join(args)
    return DbtStepResult(name, ok, time.monotonic() - started, dict(counts), failures, elapsed)


def data_freshness(db: Path, readers_copy: Path | None = None) -> dict[str, dict[str, Any]]:
    """Per namespace: tables, oldest and newest watermark, hours since the oldest."""
    if not db.exists():  # nothing synced (yet): nothing to say
        return {}
    con = open_database(db, read_only=True, allow_foreign=True, readers_copy=readers_copy)
    try:
        rows = con.execute(
            """
            SELECT namespace, count(*), min(watermark), max(watermark),
                   count(*) FILTER (WHERE last_status = 'failed')
            FROM cd2_meta.table_state GROUP BY 1 ORDER BY 1
            """
        ).fetchall()
    except duckdb.CatalogException:
        return {}
    finally:
        con.close()
    return freshness_by_namespace(rows)


def run_all(
    client: DapClient | None,
    config: RunConfig,
    reporter: Reporter,
    project_dir: Path = Path(),
    skip_sync: bool = False,
    publish_to: Path | bool = True,
    before: Callable[[], None] | None = None,
) -> RunSummary:
    """One round: sync, dbt build, docs, then the copy for readers. ``publish_to``: that copy's
    path; True for ``<stem>.read.duckdb`` beside the DB, False for none. ``before`` runs once the
    writer lock is held, before any step (the CLI's checks of the DB file: a check made before the
    lock would open the file under another round). Raises ``CannotStartError`` at once when another
    process writes the DB (or has it open)."""
    published = default_published_path(config.db) if publish_to is True else None
    if isinstance(publish_to, Path):
        published = publish_to
    # Held from before the sync to after publishing: no other cd2 writer between sync and build.
    with hold_writer(config.db, "cd2 run --skip-sync" if skip_sync else "cd2 run"):
        if before is not None:
            before()
        try:
            summary = _round(client, config, reporter, project_dir, skip_sync, published)
        finally:
            close_dbt_duckdb()
        if config.report and any(step.command == "build" for step in summary.dbt):
            write_report(summary, config.db, project_dir)
        # Whole rounds only: a round whose build never ran (the parse failed) leaves readers where they were.
        if published is not None and any(step.command == "build" for step in summary.dbt):
            try:
                summary.published = publish(config.db, published)
            except DiskFullError as exc:
                summary.publish_error = exc.line()
            except (OSError, duckdb.Error, RuntimeError, ValueError) as exc:
                summary.publish_error = f"{type(exc).__name__}: {exc}"
            else:
                log.info("published %s for readers by %s", summary.published.path, summary.published.method)
    return summary


def write_report(summary: RunSummary, db: Path, project_dir: Path) -> None:
    """The report site from the marts just built, into ``<dbt target>/report``; into ``summary``.
    Runs once dbt has closed the file (its connection would clash with this one). A round that
    built no marts (a narrow ``dbt.select``) writes none and says so."""
    try:
        con = open_database(db, read_only=True)
        try:
            if not has_relation(con, "marts", REPORT_NEEDS):
                summary.report_skipped = f"no marts.{REPORT_NEEDS} in {db}"
                return
            project, min_cell = project_settings(project_dir)
            summary.report = build_report(con, dbt_target_dir(project_dir) / SITE_DIR, project, min_cell)
        finally:
            con.close()
    except (OSError, duckdb.Error, ValueError, KeyError, LookupError, CannotStartError) as exc:
        summary.report_error = f"{type(exc).__name__}: {exc}"


def close_dbt_duckdb() -> None:
    """Close the DuckDB instance dbt-duckdb keeps open for the rest of the process (its ``keep_open``
    default). Left open, it keeps DuckDB's lock on the working file after the writer lock is released,
    and the copy for readers, opened and closed by this process, would silently drop that lock
    (POSIX locks belong to the process, and closing any descriptor of the file releases them)."""
    connections = sys.modules.get("dbt.adapters.duckdb.connections")
    if connections is None:  # dbt never connected in this process
        return
    try:
        manager = connections.DuckDBConnectionManager
        with manager._LOCK:
            env, manager._ENV = manager._ENV, None
    except AttributeError:  # another dbt-duckdb version; publish() refuses to copy a file still open here
        log.warning("could not close dbt-duckdb's DuckDB connection", exc_info=True)
        return
    if env is not None:
        env.close()


def _round(
    client: DapClient | None,
    config: RunConfig,
    reporter: Reporter,
    project_dir: Path,
    skip_sync: bool,
    published: Path | None,
) -> RunSummary:
    summary = RunSummary()
    hand_settings_to_dbt(config.db, config.memory_limit)
    # the project's fingerprint, hashed once: the vars, the plan and the docs key all compare it
    fingerprint = code_fingerprint(project_dir) if config.dbt.skip_unchanged else None
    vars_ = dbt_vars(project_dir, fingerprint) if fingerprint else None
    # The docs step writes manifest.json itself (with the compiled code). The parse needs only the
    # project files, vars and profile: it runs alongside the sync, which it never waits for.
    parsing = start_parse(project_dir, config.db, vars_, write_manifest=not config.dbt.docs)
    code_ok = False
    tested: dict[str, tuple[str, int]] = {}
    try:
        if not skip_sync:
            assert client is not None
            summary.sync = run_sync_step(client, config, reporter)
        # Read before dbt runs: dbt keeps its own connection to the file open until the round ends.
        summary.freshness = data_freshness(config.db, published)
        if config.dbt.skip_unchanged:
            code_ok = code_matches(config.db, project_dir, fingerprint)
            summary.unchanged_models = unchanged_models(config.db, project_dir, fingerprint)
            tested = recorded_marks(config.db)
        # --build-all regenerates the docs site too
        docs_key_now = docs_key(config.db, project_dir, fingerprint) if config.dbt.docs and fingerprint else None
    except duckdb.IOException as exc:
        # another program (not a cd2 writer) has the working file open: one line, not a traceback
        busy = duckdb_lock_error(config.db, exc, published)
        if busy is None:
            raise
        raise busy from None
    parsed, manifest = parsing.result()
    summary.dbt.append(parsed)
    if not parsed.ok:
        return summary
    if config.dbt.skip_unchanged:
        summary.plan = plan_round(config.db, manifest, summary.unchanged_models, code_ok)
    else:
        summary.plan = RoundPlan(None, why_everything="every model asked for (--build-all)")
    # Due until built without error (the on-run-end hook clears them): a failed or killed round's
    # models are built again next round.
    mark_pending(config.db, _planned_names(manifest, summary.plan))
    if summary.plan.now is not None:
        summary.restamped = restamp(config.db, summary.plan.stamped, summary.plan.built_now, summary.plan.now)
    # every step gets the vars the project was parsed with
    vars_args = ["--vars", vars_] if vars_ else []
    # a round that builds everything (new code, first build, --build-all) tests every row
    narrowed = tested if summary.plan.build is not None else {}
    summary.narrowed_tests = len(narrowed)
    # a standing view's rows changed like a built model's
    read_anew = {*(summary.plan.build or ()), *summary.plan.standing}
    idle = narrowed_to_no_row(manifest, narrowed, read_anew) if manifest and narrowed else []
    summary.idle_tests = len(idle)
    with (
        round_selection(manifest, summary.plan, config.dbt.select, idle) as selection,
        narrowed_tests(narrowed),
    ):
        build_and_document(
            summary, config, project_dir, manifest, [*selection, *vars_args], vars_args, docs_key=docs_key_now
        )
    return summary


def _planned_names(manifest: Any, plan: RoundPlan) -> list[str]:
    if plan.build is not None:
        return plan.build
    if manifest is None:  # a stand-in parse (tests): nothing known to mark
        return []
    return sorted(node.name for node in nodes_of(manifest).values() if not node.ephemeral)


def build_and_document(
    summary: RunSummary,
    config: RunConfig,
    project_dir: Path,
    manifest: Path | None,
    build_extra: Sequence[str] = (),
    docs_extra: Sequence[str] = (),
    docs_key: str | None = None,
) -> None:
    """The dbt steps of a round after the parse, on any target: ``dbt build`` (with the run's
    threads, unit-test and selection settings), then the static docs site; into ``summary``.
    With ``docs_key`` (``extract.docs_state``), a site built under the same key is kept."""
    build = ["build", "--threads", str(config.dbt.threads)]
    if not config.dbt.unit_tests:
        build += ["--exclude-resource-type", "unit_test"]
    if config.dbt.select:
        # Only tests whose every parent is selected: a subset must not run tests of models it did not build.
        build += ["--select", config.dbt.select, "--indirect-selection", "cautious"]
    target = dbt_target_dir(project_dir)
    # the summary names the command, not its (long) --vars argument
    summary.dbt.append(
        run_dbt(
            [*build, *build_extra],
            project_dir,
            config.db,
            manifest,
            run_results=target / "run_results.json",
            label="build",
        )
    )
    if not config.dbt.docs:
        return
    if site_is_current(target, docs_key):
        summary.docs_path, summary.docs_kept = target / SITE, True
        return
    forget_site(target)
    docs_args = ["docs", "generate", "--static", *docs_extra]
    docs = run_dbt(docs_args, project_dir, config.db, manifest, label="docs generate --static")
    summary.dbt.append(docs)
    if docs.ok:
        summary.docs_path = target / SITE
        record_site(target, docs_key)


def format_summary(summary: RunSummary) -> list[str]:
    lines: list[str] = []
    if summary.sync is not None:
        ok = [r for r in summary.sync.results if r.status == "ok"]
        skipped = len(summary.sync.skipped)
        not_due = f", {skipped} skipped (not due by their cadence)" if skipped else ""
        lines.append(
            f"sync: {len(ok)} tables ok, {len(summary.sync.failed)} failed{not_due}, {sum(r.rows for r in ok):,} rows, "
            f"{sum(r.bytes for r in ok) / 1e6:,.1f} MB in {summary.sync.seconds:,.1f}s"
        )
        lines += summary.sync.failure_lines()
    if summary.unchanged_models:
        lines.append(
            f"current state: {len(summary.unchanged_models)} tables had nothing new to merge and were left out"
        )
    if summary.plan is not None:
        plan = summary.plan
        if plan.build is None:
            lines.append(f"round: every model built ({plan.why_everything})")
        else:
            lines.append(
                f"round: {len(plan.build)} models and seeds to build, {len(plan.fresh)} left out "
                "(nothing they read changed)"
            )
        if plan.standing:
            lines.append(
                f"round: {len(plan.standing)} views left standing (a view reads its inputs when queried): "
                "only their tests run"
            )
        if summary.restamped:
            lines.append(
                f"round: {len(summary.restamped)} tables left out read now only for their stamp or local day: "
                "data_as_of moved to the round's as_of"
            )
        if summary.narrowed_tests:
            lines.append(
                f"round: tests of {summary.narrowed_tests} models check only rows changed since they passed "
                f"({summary.idle_tests} such tests with no changed row left out)"
            )
    for step in summary.dbt:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(step.counts.items())) or "no nodes"
        lines.append(f"dbt {step.command}: {'ok' if step.ok else 'FAILED'} in {step.seconds:,.1f}s ({counts})")
        lines += [f"  {failure}" for failure in step.failures[:20]]
    for namespace, fresh in summary.freshness.items():
        lines.append(
            f"freshness {namespace}: {fresh['tables']} tables, oldest watermark {fresh['oldest_watermark']} "
            f"({fresh['stale_hours']} h ago), {fresh['failed_tables']} with a failed last attempt"
        )
    if summary.docs_path is not None:
        kept = " (kept: no code or schema change since it was built)" if summary.docs_kept else ""
        lines.append(f"docs site: {summary.docs_path}{kept}")
    if summary.report is not None:
        report = summary.report
        lines.append(
            f"report site: {report.path} ({report.pages} pages, {report.charts} charts in {report.seconds:,.1f}s)"
        )
    if summary.report_skipped is not None:
        lines.append(f"report site: not written ({summary.report_skipped})")
    if summary.report_error is not None:
        lines.append(f"report site: FAILED: {summary.report_error}")
    if summary.published is not None:
        copy = summary.published
        size = f"{copy.bytes / 1e9:,.1f} GB" if copy.bytes >= 1e9 else f"{copy.bytes / 1e6:,.1f} MB"
        lines.append(f"published for readers: {copy.path} ({size} in {copy.seconds:,.1f} s)")
    if summary.publish_error is not None:
        lines.append(f"published for readers: FAILED, readers keep the previous copy: {summary.publish_error}")
    return lines
