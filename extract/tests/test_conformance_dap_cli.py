"""Conformance: Instructure's official ``dap`` CLI (2.3.1) against the fake DAP server.

The ``tiny`` institution, with the made-up ``new_quizzes`` tables of
``extract/tests/data/extra_schemas`` beside canvas, canvas_logs and catalog (generated into a
temporary directory), is served in-process (no rate limits, jobs complete at once, small part
files so results span several files). Then the real
client lists tables, downloads schemas, snapshots every table of the four namespaces in all four
formats and, after the institution has moved on (changes, a schema bump, a nullability-only bump
with rows holding NULLs in columns the schema calls required, a table reload), runs incrementals.
Every downloaded file is parsed by our own independent parsers and compared row by row, value by
value, with the ground truth computed by DuckDB from the store's change log.

A window test pins the incremental interval (``since < meta.ts <= until``) with both ends on
commit times, and a determinism test checks that two stores generated independently with the
same seed are served as byte-identical files with identical object ids. The parsers themselves
have small self-checks at the end.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer, ServerConfig
from extract.schema import EXTRA_SCHEMAS_ENV, Column, TableSchema
from extract.synth import Institution, ensure_generated, generate
from extract.synth.store import Store
from extract.tests.conformance.dapcli import (
    DapRun,
    DapTarget,
    PlainApiClient,
    TableOutcome,
    require_dap_client,
    run_dap,
)
from extract.tests.conformance.parse_files import (
    FORMATS,
    FileFormatError,
    ParsedFile,
    Record,
    canonical,
    gunzip_single_member,
    parse_directory,
    parse_wire_timestamp,
    records_by_key,
    split_csv,
    split_tsv,
    tabular_header,
)
from extract.tests.conformance.truth import RecordsByKey, describe_differences, snapshot_truth, window_truth
from extract.timeutil import iso_z

NAMESPACES = ("canvas", "canvas_logs", "catalog", "new_quizzes")
EXTRA_SCHEMAS = Path(__file__).parent / "data" / "extra_schemas"  # new_quizzes (not published: made up)
PROFILE = "tiny"
SEED = 1
ROWS_PER_FILE = 4_000  # web_logs and a few other tables span several part files
CLI_PARALLELISM = 8  # concurrent dap processes: each handles its tables one by one and mostly waits
ADVANCE_HOURS = (5.0, 7.0)
BUMPED_TABLE = "canvas.enrollments"
RELAXED_TABLE = "canvas.courses"  # CD2's 2026-04-27 kind of bump: required columns become nullable
NULLED_TABLES = (RELAXED_TABLE, "canvas_logs.web_logs")  # rows re-sent with their required columns NULL
NULLED_ROWS = 10
RELOADED_TABLE = "canvas.assignments"
EIO = 5  # the CLI's exit code for failed operations
FILE_SUFFIXES = {"jsonl": ".json.gz", "csv": ".csv.gz", "tsv": ".tsv.gz", "parquet": ".parquet"}


# ---- fixtures ------------------------------------------------------------------------------------------
@dataclass
class World:
    """One generated institution, served by one fake server, plus what the tests share."""

    institution: Institution
    server: FakeDapServer
    config: ServerConfig
    target: DapTarget
    workdir: Path
    snapshot_at: datetime  # the store's now before anything moved
    con: duckdb.DuckDBPyConnection

    @property
    def store(self) -> Store:
        """The server's store (the server re-opens it if a hook committed through another instance)."""
        return self.server.store

    def tables(self, namespace: str) -> list[str]:
        return [q.split(".", 1)[1] for q in self.store.tables(namespace)]


def serve_config(cache_dir: Path) -> ServerConfig:
    return ServerConfig(rate_limits=False, job_completion="immediate", rows_per_file=ROWS_PER_FILE, cache_dir=cache_dir)


def serve(institution: Institution, config: ServerConfig) -> FakeDapServer:
    """A fake server for ``institution`` whose hooks move it on (advance, schema bumps, NULLs, reload)."""
    return FakeDapServer(
        institution.store,
        config,
        advance=institution.advance,
        bump_schema=institution.bump_schema,
        reload=institution.reload,
        relax_schema=institution.relax_schema,
        null_required=institution.null_required,
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    require_dap_client()
    base = tmp_path_factory.mktemp("conformance-cli")
    config = serve_config(base / "render-cache")
    with pytest.MonkeyPatch.context() as patch:  # the whole module sees the extra namespace
        patch.setenv(EXTRA_SCHEMAS_ENV, str(EXTRA_SCHEMAS))
        institution = generate(base / "institution", PROFILE, SEED)
        yield from _served(institution, config, base)


def _served(institution: Institution, config: ServerConfig, base: Path) -> Iterator[World]:
    with serve(institution, config) as server:
        target = DapTarget(server.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
        con = duckdb.connect()
        try:
            yield World(institution, server, config, target, base, institution.store.now, con)
        finally:
            con.close()


def run_many(world: World, jobs: dict[Any, list[str]], folder: str) -> dict[Any, DapRun]:
    """Run several dap commands concurrently, each in its own working directory."""

    def one(name: Any, args: list[str]) -> DapRun:
        cwd = world.workdir / folder / "-".join(map(str, name))
        cwd.mkdir(parents=True, exist_ok=True)
        return run_dap(world.target, [*args, "--output-directory", str(cwd / "out")], cwd=cwd)

    with ThreadPoolExecutor(CLI_PARALLELISM) as pool:
        futures = {name: pool.submit(one, name, args) for name, args in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def every_table(command: str, namespace: str, fmt: str, *extra: str) -> list[str]:
    return [command, "--namespace", namespace, "--table", "all", "--format", fmt, *extra]


@pytest.fixture(scope="module")
def snapshot_runs(world: World) -> dict[tuple[str, str], DapRun]:
    """``dap snapshot --table all`` for both namespaces in all four formats, before any change."""
    assert world.store.now == world.snapshot_at, "the institution moved before the snapshots ran"
    jobs = {(fmt, ns): every_table("snapshot", ns, fmt) for fmt in FORMATS for ns in NAMESPACES}
    return run_many(world, jobs, "snapshot")


@dataclass(frozen=True)
class Changes:
    since: datetime
    until: datetime
    bumped_version: int
    relaxed_version: int
    reloaded_at: datetime
    runs: dict[tuple[str, str], DapRun]


@pytest.fixture(scope="module")
def changes(world: World, snapshot_runs: dict[tuple[str, str], DapRun]) -> Changes:
    """Move the institution on (changes, a schema bump, a nullability-only bump and rows with NULLs
    in required columns, a reload), then run every incremental."""
    since = world.snapshot_at
    world.server.advance(ADVANCE_HOURS[0])
    bumped_version = world.server.bump_schema(BUMPED_TABLE)
    relaxed_version = world.server.relax_schema(RELAXED_TABLE)
    for qname in NULLED_TABLES:
        world.server.null_required(qname, rows=NULLED_ROWS)
    world.server.advance(ADVANCE_HOURS[1])
    reloaded_at = world.server.reload(RELOADED_TABLE)
    jobs = {
        (fmt, ns): every_table("incremental", ns, fmt, "--since", iso_z(since)) for fmt in FORMATS for ns in NAMESPACES
    }
    runs = run_many(world, jobs, "incremental")
    return Changes(since, world.store.now, bumped_version, relaxed_version, reloaded_at, runs)


# ---- checks shared by the snapshot and incremental tests ----------------------------------------------
def job_timestamp(outcome: TableOutcome, name: str) -> datetime | None:
    value = (outcome.job or {}).get(name)
    return parse_wire_timestamp(value) if isinstance(value, str) else None


def file_problems(world: World, schema: TableSchema, fmt: str, files: list[ParsedFile], incremental: bool) -> list[str]:
    """Names and headers of the part files of one result."""
    qname = schema.qualified_name
    problems: list[str] = []
    if not files:
        return [f"{qname} [{fmt}]: the job directory holds no file"]
    expanded = world.config.default_mode == "expanded"
    want_header = tabular_header(schema, with_action=incremental, expanded=expanded)
    for parsed in files:
        if not parsed.path.name.endswith(FILE_SUFFIXES[fmt]):
            problems.append(f"{qname} [{fmt}]: file {parsed.path.name} does not end in {FILE_SUFFIXES[fmt]}")
        if parsed.header is not None and parsed.header != want_header:
            problems.append(f"{qname} [{fmt}]: header {list(parsed.header)} != {list(want_header)}")
        if fmt == "jsonl" and any((r.action is not None) != incremental for r in parsed.records):
            problems.append(f"{qname} [{fmt}]: meta.action presence does not match the query type")
    return problems


def table_problems(
    world: World,
    qname: str,
    fmt: str,
    outcome: TableOutcome | None,
    expected: RecordsByKey,
    as_of: datetime,
    incremental: bool,
) -> list[str]:
    """Everything wrong with one table's download, compared with ``expected`` records.

    ``as_of`` is the snapshot's ``at`` or the incremental's ``until``: the schema version in force then.
    """
    label = f"{qname} [{fmt}]"
    if outcome is None:
        return [f"{label}: the CLI never started this table"]
    if not outcome.finished or outcome.directory is None:
        return [f"{label}: the CLI did not finish it: {list(outcome.errors)}"]
    job = outcome.job or {}
    schema = world.store.schema(qname, as_of)
    problems: list[str] = []
    if job.get("schema_version") != schema.version:
        problems.append(f"{label}: job schema_version {job.get('schema_version')} != store's {schema.version}")
    try:
        files = parse_directory(outcome.directory, fmt, schema)
        actual = records_by_key(files)
    except FileFormatError as exc:
        return [*problems, f"{label}: {exc}"]
    problems += file_problems(world, schema, fmt, files, incremental)
    problems += [f"{label}: {line}" for line in describe_differences(expected, actual)]
    return problems


STRING_EDGE_CASES: dict[str, Callable[[str], bool]] = {
    "tab": lambda s: "\t" in s,
    "newline": lambda s: "\n" in s,
    "carriage return": lambda s: "\r" in s,
    "backslash": lambda s: "\\" in s,
    "double quote": lambda s: '"' in s,
    "comma": lambda s: "," in s,
    "non-ASCII": lambda s: not s.isascii(),
    "empty string": lambda s: s == "",
    "literal \\N": lambda s: s == "\\N",
}


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for member in value.values():
            yield from strings_in(member)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def missing_edge_cases(records: list[Record]) -> list[str]:
    """The string edge cases (escaping, quoting, NULL look-alikes) that no value exercises."""
    seen: set[str] = set()
    for record in records:
        for value in record.values.values():
            for text in strings_in(value):
                seen.update(name for name, test in STRING_EDGE_CASES.items() if test(text))
    return [name for name in STRING_EDGE_CASES if name not in seen]


# ---- 1. list and schema ---------------------------------------------------------------------------------
@pytest.mark.conformance
@pytest.mark.parametrize("namespace", NAMESPACES)
def test_list_prints_every_table_of_the_store(world: World, namespace: str) -> None:
    run = run_dap(world.target, ["list", "--namespace", namespace], cwd=world.workdir)
    assert run.returncode == 0, run.describe()
    listed = [line.strip() for line in run.stdout.splitlines() if line.strip()]
    assert len(listed) == len(set(listed)), f"duplicate table names: {listed}"
    assert sorted(listed) == sorted(world.tables(namespace))


@pytest.mark.conformance
@pytest.mark.parametrize("namespace", NAMESPACES)
def test_schema_files_hold_what_the_server_serves(world: World, namespace: str) -> None:
    out = world.workdir / "schemas" / namespace
    run = run_dap(
        world.target,
        ["schema", "--namespace", namespace, "--table", "all", "--output-directory", str(out)],
        cwd=out.parent,
    )
    assert run.returncode == 0, run.describe()
    api = PlainApiClient(world.target)
    expected_names = set()
    problems: list[str] = []
    for table in world.tables(namespace):
        version = world.store.schema(f"{namespace}.{table}", world.store.now).version
        name = f"{table}_schema_version_{version}.json"
        expected_names.add(name)
        path = out / name
        if not path.exists():
            problems.append(f"{namespace}.{table}: no file {name}")
            continue
        served = api.schema(namespace, table)
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved != served:
            problems.append(f"{namespace}.{table}: saved schema differs from the served one")
        if served.get("version") != version:
            problems.append(f"{namespace}.{table}: served version {served.get('version')} != store's {version}")
    extra = sorted(p.name for p in out.iterdir()) if out.exists() else []
    extra = [n for n in extra if n not in expected_names]
    assert not extra, f"unexpected files: {extra}"
    assert not problems, "\n".join(problems)


# ---- 2. snapshots -----------------------------------------------------------------------------------------
@pytest.mark.conformance
@pytest.mark.parametrize("fmt", FORMATS)
def test_snapshot_of_every_table_equals_the_truth(
    world: World, snapshot_runs: dict[tuple[str, str], DapRun], fmt: str
) -> None:
    problems: list[str] = []
    compared: list[Record] = []
    for namespace in NAMESPACES:
        run = snapshot_runs[fmt, namespace]
        assert run.returncode == 0, run.describe()
        outcomes = run.table_outcomes()
        assert sorted(outcomes) == sorted(world.tables(namespace)), run.describe()
        for table in world.tables(namespace):
            qname = f"{namespace}.{table}"
            outcome = outcomes.get(table)
            if outcome is not None and job_timestamp(outcome, "at") != world.snapshot_at:
                problems.append(f"{qname} [{fmt}]: job at {job_timestamp(outcome, 'at')} != {world.snapshot_at}")
            expected = snapshot_truth(world.con, world.store, qname, world.snapshot_at)
            compared += expected.values()
            problems += table_problems(world, qname, fmt, outcome, expected, world.snapshot_at, incremental=False)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])
    assert len(compared) > 1_000, f"only {len(compared)} rows compared: the tiny profile looks empty"
    assert not missing_edge_cases(compared), f"no value exercises {missing_edge_cases(compared)}"


# ---- 3. incrementals after changes, a schema bump and a reload ---------------------------------------------
@pytest.mark.conformance
def test_changes_exercise_updates_inserts_and_deletes(world: World, changes: Changes) -> None:
    actions: dict[str, int] = {"U": 0, "D": 0}
    for qname in world.store.tables():
        for record in window_truth(world.con, world.store, qname, changes.since, changes.until).values():
            actions[record.action or "?"] = actions.get(record.action or "?", 0) + 1
    assert actions["U"] > 0 and actions["D"] > 0, f"the advance produced {actions}; the test would prove little"
    assert changes.since < changes.reloaded_at <= changes.until


@pytest.mark.conformance
@pytest.mark.parametrize("fmt", FORMATS)
def test_incremental_of_every_table_equals_the_window(world: World, changes: Changes, fmt: str) -> None:
    problems: list[str] = []
    for namespace in NAMESPACES:
        run = changes.runs[fmt, namespace]
        outcomes = run.table_outcomes()
        assert sorted(outcomes) == sorted(world.tables(namespace)), run.describe()
        for table in world.tables(namespace):
            qname = f"{namespace}.{table}"
            if qname == RELOADED_TABLE:
                continue
            outcome = outcomes.get(table)
            if outcome is not None and (job_timestamp(outcome, "since"), job_timestamp(outcome, "until")) != (
                changes.since,
                changes.until,
            ):
                problems.append(f"{qname} [{fmt}]: job window {outcome.job} != ({changes.since}, {changes.until}]")
            expected = window_truth(world.con, world.store, qname, changes.since, changes.until)
            problems += table_problems(world, qname, fmt, outcome, expected, changes.until, incremental=True)
        reload_in_namespace = RELOADED_TABLE.startswith(f"{namespace}.")
        expected_exit = EIO if reload_in_namespace else 0
        if run.returncode != expected_exit:
            problems.append(f"{namespace} [{fmt}]: exit {run.returncode}, expected {expected_exit}\n{run.describe()}")
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])


@pytest.mark.conformance
@pytest.mark.parametrize("fmt", FORMATS)
def test_incremental_of_a_reloaded_table_demands_a_snapshot(world: World, changes: Changes, fmt: str) -> None:
    namespace, table = RELOADED_TABLE.split(".", 1)
    run = changes.runs[fmt, namespace]
    assert run.returncode == EIO, run.describe()
    outcome = run.table_outcomes().get(table)
    assert outcome is not None, run.describe()
    assert not outcome.finished and outcome.directory is None, f"{RELOADED_TABLE} was downloaded: {outcome}"
    reason = " ".join(outcome.errors).lower()
    assert "snapshot" in reason or "range" in reason, f"unexpected failure reason: {outcome.errors}"
    summary = " ".join(run.messages())
    assert re.search(r"issues: 1 failed out of \d+ table", summary), f"not exactly one table failed:\n{run.describe()}"


@pytest.mark.conformance
def test_bumped_schema_is_served_with_its_new_version(world: World, changes: Changes) -> None:
    namespace, table = BUMPED_TABLE.split(".", 1)
    out = world.workdir / "schemas-after-bump"
    run = run_dap(
        world.target,
        ["schema", "--namespace", namespace, "--table", table, "--output-directory", str(out)],
        cwd=world.workdir,
    )
    assert run.returncode == 0, run.describe()
    bumped = world.store.schema(BUMPED_TABLE, world.store.now)
    assert changes.bumped_version == bumped.version > world.store.schema(BUMPED_TABLE, changes.since).version
    saved = json.loads((out / f"{table}_schema_version_{changes.bumped_version}.json").read_text(encoding="utf-8"))
    served_columns = set(saved["schema"]["properties"]["value"]["properties"])
    store_columns = {c.name for c in bumped.value_columns}
    assert served_columns == store_columns


@pytest.mark.conformance
def test_relaxed_schema_is_served_with_its_new_version_and_only_nullability_changed(
    world: World, changes: Changes
) -> None:
    namespace, table = RELAXED_TABLE.split(".", 1)
    out = world.workdir / "schemas-after-relax"
    run = run_dap(
        world.target,
        ["schema", "--namespace", namespace, "--table", table, "--output-directory", str(out)],
        cwd=world.workdir,
    )
    assert run.returncode == 0, run.describe()
    before = world.store.schema(RELAXED_TABLE, changes.since)
    assert changes.relaxed_version == world.store.schema(RELAXED_TABLE, world.store.now).version == before.version + 1
    saved = json.loads((out / f"{table}_schema_version_{changes.relaxed_version}.json").read_text(encoding="utf-8"))
    value, old_value = saved["schema"]["properties"]["value"], before.to_dap_schema()["properties"]["value"]
    assert old_value["required"] and "required" not in value  # every required value column relaxed
    assert value["properties"] == old_value["properties"]
    assert saved["schema"]["properties"]["key"] == before.to_dap_schema()["properties"]["key"]


@pytest.mark.conformance
def test_changes_hold_rows_with_nulls_in_required_columns(world: World, changes: Changes) -> None:
    """The incrementals compared above carry them (the comparison would not notice their absence)."""
    for qname in NULLED_TABLES:
        required = [c.name for c in world.store.schema(qname, world.snapshot_at).required_value_columns]
        window = window_truth(world.con, world.store, qname, changes.since, changes.until)
        nulled = [r for r in window.values() if r.action == "U" and all(r.values[c] is None for c in required)]
        assert len(nulled) >= NULLED_ROWS // 2, f"{qname}: only {len(nulled)} rows with NULLs in {required}"


def change_times(world: World, qname: str, since: datetime, until: datetime) -> list[datetime]:
    """Distinct commit times of ``qname``'s changes inside ``since < ts <= until``."""
    sql = (
        f"SELECT DISTINCT meta_ts FROM ({world.store.changes_sql(qname)}) "
        "WHERE meta_ts > ? AND meta_ts <= ? AND meta_action IN ('U', 'D') ORDER BY 1"
    )
    return [row[0] for row in world.con.execute(sql, [since, until]).fetchall()]


def boundary_window(world: World, changes: Changes) -> tuple[str, datetime, datetime]:
    """A table and a window whose both ends are commit times, where open-closed ≠ closed-open."""
    for qname in world.store.tables("canvas"):
        if qname == RELOADED_TABLE:
            continue
        times = change_times(world, qname, changes.since, changes.until)
        if len(times) < 3:
            continue
        lo, hi = times[0], times[-1]
        closed_open = world.con.execute(world.store.window_sql(qname, lo, hi, closed_open=True)).fetchall()
        open_closed = world.con.execute(world.store.window_sql(qname, lo, hi)).fetchall()
        if sorted(map(repr, closed_open)) != sorted(map(repr, open_closed)):
            return qname, lo, hi
    pytest.fail("no table has changes at both ends of a window: the generator's advance is too sparse")


@pytest.mark.conformance
def test_incremental_window_excludes_since_and_includes_until(world: World, changes: Changes) -> None:
    qname, lo, hi = boundary_window(world, changes)
    namespace, table = qname.split(".", 1)
    out = world.workdir / "boundary"
    args = ["incremental", "--namespace", namespace, "--table", table, "--format", "jsonl"]
    args += ["--since", iso_z(lo), "--until", iso_z(hi), "--output-directory", str(out)]
    run = run_dap(world.target, args, cwd=world.workdir)
    assert run.returncode == 0, run.describe()
    outcome = run.table_outcomes()[table]
    assert (job_timestamp(outcome, "since"), job_timestamp(outcome, "until")) == (lo, hi), outcome.job
    expected = window_truth(world.con, world.store, qname, lo, hi)
    problems = table_problems(world, qname, "jsonl", outcome, expected, hi, incremental=True)
    assert not problems, "\n".join(problems)


# ---- 4. determinism: same seed, same bytes -----------------------------------------------------------------
DETERMINISM_TABLES = ("canvas.accounts", "canvas.courses", "canvas.submissions", "canvas_logs.web_logs")


def download_snapshot(institution: Institution, qname: str, fmt: str, cache_dir: Path) -> dict[str, bytes]:
    """Object id (``<job id>/<file name>``) → bytes of one snapshot, fetched by hand from a fresh server."""
    namespace, table = qname.split(".", 1)
    with serve(institution, serve_config(cache_dir)) as server:
        api = PlainApiClient(DapTarget(server.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET))
        job = api.run_job(namespace, table, {"format": fmt})
        assert job["status"] == "complete", job
        return api.download_objects(job)


@pytest.mark.conformance
def test_same_seed_serves_identical_files(tmp_path: Path) -> None:
    first = ensure_generated(profile=PROFILE, seed=SEED, base_dir=tmp_path / "a")
    second = ensure_generated(profile=PROFILE, seed=SEED, base_dir=tmp_path / "b")
    assert first.store.root != second.store.root
    for qname in DETERMINISM_TABLES:
        for fmt in ("jsonl", "tsv"):
            left = download_snapshot(first, qname, fmt, tmp_path / "cache-a")
            right = download_snapshot(second, qname, fmt, tmp_path / "cache-b")
            assert sorted(left) == sorted(right), f"{qname} [{fmt}]: object names differ"
            assert left, f"{qname} [{fmt}]: no object"
            for name in left:
                assert left[name] == right[name], f"{qname} [{fmt}]: bytes of {name} differ"


# ---- self-checks of the independent parsers ----------------------------------------------------------------
def test_tsv_parser_unescapes_copy_text() -> None:
    text = "a\tb\tc\n" + "x\\ty\t\\N\t\\\\N\\n\\101\\xe2\\x82\\xac\n"
    assert split_tsv(text) == [["a", "b", "c"], ["x\ty", None, "\\N\nA€"]]


def test_csv_parser_tells_null_from_empty_string() -> None:
    text = 'h1,h2,h3\r\n,"",x\n"a,""b""\nc",y,\n'
    assert split_csv(text) == [["h1", "h2", "h3"], [None, "", "x"], ['a,"b"\nc', "y", None]]
    with pytest.raises(FileFormatError):
        split_csv('a"b,c\n')


def test_gzip_reader_refuses_a_second_member() -> None:
    import gzip

    one = gzip.compress(b"x\n", mtime=0)
    assert gunzip_single_member(one) == b"x\n"
    with pytest.raises(FileFormatError, match="more than one gzip member"):
        gunzip_single_member(one + one)


def test_timestamps_must_be_utc_with_z() -> None:
    assert parse_wire_timestamp("2024-01-02T03:04:05.12Z") == datetime(2024, 1, 2, 3, 4, 5, 120000)
    for bad in ("2024-01-02T03:04:05+00:00", "2024-01-02 03:04:05Z", "2024-01-02T03:04:05.1234567Z"):
        with pytest.raises(FileFormatError):
            parse_wire_timestamp(bad)


def test_nested_objects_drop_nulls_and_all_null_is_null() -> None:
    column = Column(
        name="settings",
        type="object",
        properties=(Column(name="a", type="integer", format="int32"), Column(name="b", type="string")),
    )
    assert canonical(column, '{"a":1}') == {"a": 1}
    assert canonical(column, {"a": 1, "b": None}) == {"a": 1}
    assert canonical(column, {"a": None, "b": None}) is None
    assert canonical(column, {"a": 1, "zz": 2}) != {"a": 1}
