"""Every bad input a careless operator, a broken network or a wrong file gives ends the same way:
one line naming the cause and the fix, no traceback, a documented exit code, stored data unchanged.

The cases are one list (``CASES``); ``docs/reliability.md`` quotes the count. Each runs the real
CLI in a subprocess against the bundled fake API and a small synced database.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from extract.dap.auth import Credentials
from extract.dap.client import DapClient
from extract.failures import EXIT_CANNOT_START, EXIT_USAGE
from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer
from extract.synth import Institution
from extract.tests.sync_helpers import fresh_institution, run_sync, serving

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SYNCED = ["canvas.courses", "canvas.users", "canvas.accounts"]


@dataclass
class World:
    """What every case may use: the fake API, a synced database to copy, downloaded job folders."""

    url: str
    synced_db: Path
    jobs: dict[str, Path]  # table -> a dap-style job_<id> folder of its snapshot (jsonl)
    tmp: Path


@dataclass
class Case:
    args: list[str]
    code: int
    words: tuple[str, ...]  # each must appear (case-insensitive) in the error line
    env: dict[str, str | None] = field(default_factory=dict)
    setup: Callable[[Path, World], None] | None = None  # prepares the case's folder (cwd)
    stdin: str | None = None
    uses_db: bool = True  # the case's folder holds a copy of the synced database as cd2.duckdb


def _write(name: str, text: str) -> Callable[[Path, World], None]:
    def setup(folder: Path, world: World) -> None:
        (folder / name).write_text(text, encoding="utf-8")

    return setup


def _foreign_db(folder: Path, world: World) -> None:
    con = duckdb.connect(str(folder / "other.duckdb"))
    con.execute("CREATE TABLE sales (id INTEGER)")
    con.close()


def _read_only_db(folder: Path, world: World) -> None:
    (folder / "cd2.duckdb").chmod(0o444)


def _text_file_db(folder: Path, world: World) -> None:
    (folder / "notes.duckdb").write_text("these are notes, not a database\n" * 50)


def _job_as(table: str, name: str = "dl") -> Callable[[Path, World], None]:
    def setup(folder: Path, world: World) -> None:
        shutil.copytree(world.jobs[table].parent, folder / name)

    return setup


def _not_gzip(folder: Path, world: World) -> None:
    job = folder / "dl" / "job_x"
    job.mkdir(parents=True)
    (job / "part-00000.json.gz").write_text('{"key": {"id": 1}}\n')


def _mixed_formats(folder: Path, world: World) -> None:
    _job_as("canvas.courses")(folder, world)
    job = next((folder / "dl").iterdir())
    (job / "part-99999.csv.gz").write_bytes((next(job.glob("*.json.gz"))).read_bytes())


def _older_snapshot(folder: Path, world: World) -> None:
    """The courses job folder, and a watermark in the database later than its files."""
    _job_as("canvas.courses")(folder, world)
    con = duckdb.connect(str(folder / "cd2.duckdb"))
    con.execute("UPDATE cd2_meta.table_state SET watermark = watermark + INTERVAL 30 DAY WHERE table_name = 'courses'")
    con.close()


def _locked_db(folder: Path, world: World) -> None:
    """A second process holds the database open for writing while the case runs."""
    ready = folder / "holder.ready"
    script = (
        "import duckdb, pathlib, sys, time; c = duckdb.connect(sys.argv[1]); "
        "pathlib.Path(sys.argv[2]).touch(); time.sleep(120)"
    )
    holder = subprocess.Popen([sys.executable, "-c", script, str(folder / "cd2.duckdb"), str(ready)])
    HOLDERS.append(holder)
    while not ready.exists():
        assert holder.poll() is None, "the lock holder died"
        time.sleep(0.05)


HOLDERS: list[subprocess.Popen[bytes]] = []


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def http_only_port() -> Iterator[int]:
    """A port that answers plain HTTP garbage to anything (for https-to-http)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            try:
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            except OSError:
                pass
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    server.close()


def _bad_yaml(text: str, *words: str) -> Case:
    """``cd2 run`` with a ``cd2.yml`` holding ``text``: exit 2, ``words`` in the line."""
    return Case([*RUN, "--config", "bad.yml"], EXIT_USAGE, words, setup=_write("bad.yml", text))


SYNC = ["sync", "--db", "cd2.duckdb", "--no-rate-limit", "--table", "courses", "--namespace", "canvas"]
RUN = ["run", "--db", "cd2.duckdb", "--no-rate-limit", "--no-docs", "--project-dir", str(ROOT)]
IMPORT = ["import", "dl", "--kind", "snapshot", "--db", "cd2.duckdb"]

CASES: dict[str, Case] = {
    # --- cd2.yml (read by cd2 run) ---
    "yaml: malformed": _bad_yaml("db: [1\n", "not valid yaml", "line"),
    "yaml: db is a list": _bad_yaml("db: [1, 2]\n", "db", "path"),
    "yaml: concurrency true": _bad_yaml("concurrency: true\n", "concurrency", "positive integer"),
    "yaml: concurrency negative": _bad_yaml("concurrency: -3\n", "concurrency"),
    "yaml: boolean as the string no": _bad_yaml('auto_resnapshot: "no"\n', "auto_resnapshot", "boolean"),
    "yaml: dbt.docs as a string": _bad_yaml("dbt: {docs: 'yes'}\n", "dbt.docs", "boolean"),
    "yaml: unknown key": _bad_yaml("concurency: 2\n", "concurency", "unknown"),
    "yaml: unknown dbt key": _bad_yaml("dbt: {thread: 2}\n", "thread", "unknown"),
    "yaml: threads a string": _bad_yaml("dbt: {threads: two}\n", "dbt.threads"),
    "yaml: bad memory_limit": _bad_yaml("memory_limit: lots\n", "memory_limit"),
    "yaml: unknown format": _bad_yaml("format: xml\n", "format"),
    "yaml: a list at the top": _bad_yaml("- db\n- x\n", "mapping"),
    "yaml: a secret in the file": _bad_yaml("client_secret: abc\n", "credentials", "DAP_CLIENT_SECRET"),
    "yaml: namespaces a number": _bad_yaml("namespaces: 5\n", "namespaces"),
    "yaml: a table no namespace has": _bad_yaml("tables: [coursez]\n", "coursez", "tables"),
    "config file missing": Case([*RUN, "--config", "missing.yml"], EXIT_USAGE, ("missing.yml", "does not exist")),
    # --- flags and environment ---
    "flag: negative concurrency": Case([*SYNC, "--concurrency", "-1"], EXIT_USAGE, ("--concurrency", "at least 1")),
    "flag: zero download concurrency": Case([*SYNC, "--download-concurrency", "0"], EXIT_USAGE, ("at least 1",)),
    "flag: concurrency not a number": Case([*SYNC, "--concurrency", "many"], EXIT_USAGE, ("whole number",)),
    "flag: unknown format": Case([*SYNC, "--format", "xml"], EXIT_USAGE, ("--format", "invalid choice")),
    "flag: a secret value flag": Case([*SYNC, "--client-secret", "abc"], EXIT_USAGE, ("no --client-secret", "ps")),
    "flag: a secret value flag (fake server)": Case(
        ["fake-server", "--client-secret", "abc"], EXIT_USAGE, ("no --client-secret",), uses_db=False
    ),
    "env: bad CD2_MEMORY_LIMIT": Case(
        ["status", "--db", "cd2.duckdb"], EXIT_USAGE, ("CD2_MEMORY_LIMIT",), env={"CD2_MEMORY_LIMIT": "lots"}
    ),
    "run: no pseudonym secret": Case(RUN, EXIT_USAGE, ("CD2_PSEUDONYM_SECRET",), env={"CD2_PSEUDONYM_SECRET": None}),
    "run: no dbt project": Case(
        [*RUN[:-1], "elsewhere"], EXIT_USAGE, ("dbt_project.yml",), setup=lambda f, w: (f / "elsewhere").mkdir()
    ),
    # --- credentials and the API ---
    "no client id": Case(SYNC, EXIT_CANNOT_START, ("DAP_CLIENT_ID",), env={"DAP_CLIENT_ID": None}),
    "no client secret": Case(SYNC, EXIT_CANNOT_START, ("DAP_CLIENT_SECRET",), env={"DAP_CLIENT_SECRET": None}),
    "wrong client secret": Case(
        SYNC, EXIT_CANNOT_START, ("credentials", "client secret"), env={"DAP_CLIENT_SECRET": "wrong-secret-987"}
    ),
    "secret file missing": Case(
        [*SYNC, "--client-secret-file", "nope.txt"], EXIT_USAGE, ("nope.txt",), env={"DAP_CLIENT_SECRET": None}
    ),
    "secret file empty": Case(
        [*SYNC, "--client-secret-file", "empty.txt"],
        EXIT_USAGE,
        ("empty",),
        env={"DAP_CLIENT_SECRET": None},
        setup=_write("empty.txt", "\n"),
    ),
    "secret on empty stdin": Case(
        [*SYNC, "--client-secret-file", "-"], EXIT_USAGE, ("empty",), env={"DAP_CLIENT_SECRET": None}, stdin=""
    ),
    "API unreachable": Case(SYNC, EXIT_CANNOT_START, ("cannot reach", "DAP_API_URL"), env={"DAP_API_URL": "closed"}),
    "https to an http port": Case(SYNC, EXIT_CANNOT_START, ("https", "http://"), env={"DAP_API_URL": "tls"}),
    "API URL not a URL": Case(SYNC, EXIT_CANNOT_START, ("not an http(s) url",), env={"DAP_API_URL": "localhost:99"}),
    "no such table": Case([*SYNC[:4], "--table", "coursez"], EXIT_USAGE, ("coursez", "cd2 list"), uses_db=False),
    "no such namespace": Case([*SYNC[:4], "--namespace", "canvass"], EXIT_USAGE, ("canvass",), uses_db=False),
    "namespace with a path": Case([*SYNC[:4], "--namespace", "../x"], EXIT_USAGE, ("namespace",), uses_db=False),
    "schema of no such table": Case(["schema", "--table", "coursez"], EXIT_USAGE, ("coursez",), uses_db=False),
    # --- the database file ---
    "sync: database locked": Case(SYNC, EXIT_CANNOT_START, ("in use", "pid"), setup=_locked_db),
    "run: database locked": Case(RUN, EXIT_CANNOT_START, ("in use", "pid"), setup=_locked_db),
    "run --skip-sync: database locked": Case(
        [*RUN, "--skip-sync"], EXIT_CANNOT_START, ("in use", "pid"), setup=_locked_db
    ),
    "sync: database read-only": Case(SYNC, EXIT_CANNOT_START, ("read-only", "chmod"), setup=_read_only_db),
    "run: database read-only": Case(RUN, EXIT_CANNOT_START, ("read-only",), setup=_read_only_db),
    "sync: another tool's database": Case(
        [*SYNC[:2], "other.duckdb", *SYNC[3:]],
        EXIT_CANNOT_START,
        ("not a cd2 database", "--allow-foreign-db"),
        setup=_foreign_db,
    ),
    "run: another tool's database": Case(
        [*RUN[:2], "other.duckdb", *RUN[3:]], EXIT_CANNOT_START, ("not a cd2 database",), setup=_foreign_db
    ),
    "sync: not a DuckDB file": Case(
        [*SYNC[:2], "notes.duckdb", *SYNC[3:]], EXIT_CANNOT_START, ("not a duckdb",), setup=_text_file_db
    ),
    "sync: database path is a folder": Case(
        [*SYNC[:2], "afolder", *SYNC[3:]], EXIT_CANNOT_START, ("folder",), setup=lambda f, w: (f / "afolder").mkdir()
    ),
    "status: mistyped path": Case(["status", "--db", "nowhere/cd2.duckdb"], EXIT_CANNOT_START, ("does not exist",)),
    "status: another tool's database": Case(
        ["status", "--db", "other.duckdb"], EXIT_CANNOT_START, ("not a cd2 database",), setup=_foreign_db
    ),
    "codegen --db: missing file": Case(
        ["codegen", "--check", "--db", "nowhere.duckdb", "--project-dir", str(ROOT)], EXIT_CANNOT_START, ("nowhere",)
    ),
    # --- cd2 import ---
    "import: users files as courses": Case(
        [*IMPORT, "--table", "courses"], EXIT_USAGE, ("another table's", "--table"), setup=_job_as("canvas.users")
    ),
    "import: not gzip": Case([*IMPORT, "--table", "courses"], EXIT_USAGE, ("not a gzip",), setup=_not_gzip),
    "import: no such folder": Case([*IMPORT, "--table", "courses"], EXIT_USAGE, ("not a folder",)),
    "import: empty folder": Case(
        [*IMPORT, "--table", "courses"], EXIT_USAGE, ("no dap data files",), setup=lambda f, w: (f / "dl").mkdir()
    ),
    "import: no such table": Case(
        [*IMPORT, "--table", "coursez"], EXIT_USAGE, ("coursez",), setup=_job_as("canvas.courses")
    ),
    "import: schema file not JSON": Case(
        [*IMPORT, "--table", "courses", "--schema-file", "s.json"],
        EXIT_USAGE,
        ("s.json", "dap schema"),
        setup=lambda f, w: (_job_as("canvas.courses")(f, w), (f / "s.json").write_text("not json"))[0],
    ),
    "import: mixed formats": Case(
        [*IMPORT, "--table", "courses"], EXIT_USAGE, ("mixes formats",), setup=_mixed_formats
    ),
    "import: older than the watermark": Case(
        [*IMPORT, "--table", "courses"], EXIT_USAGE, ("move it back", "--allow-older"), setup=_older_snapshot
    ),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("bad-inputs")
    institution: Institution = fresh_institution(tmp / "synth", tmp / "store")
    with serving(institution) as server:
        synced = tmp / "synced.duckdb"
        assert run_sync(server, synced, SYNCED).ok
        yield World(server.url, synced, _download_jobs(server, tmp / "jobs"), tmp)
    for holder in HOLDERS:
        holder.kill()


def _download_jobs(server: FakeDapServer, root: Path) -> dict[str, Path]:
    jobs: dict[str, Path] = {}
    with DapClient(Credentials(server.url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET), limits={}) as client:
        for qname in ("canvas.courses", "canvas.users"):
            table = qname.split(".")[1]
            job = client.wait_for_job(client.start_job("canvas", table, {"format": "jsonl"}))
            folder = root / table / f"job_{job.id}"
            folder.mkdir(parents=True)
            for object_id, url in client.object_urls(job.objects).items():
                client.download(url, folder / object_id.rsplit("/", 1)[-1])
            jobs[qname] = folder
    return jobs


def api_env(world: World, **extra: str) -> dict[str, str]:
    """The environment of a command against the fake API, without the caller's cd2 settings."""
    env = dict(
        os.environ,
        DAP_API_URL=world.url,
        DAP_CLIENT_ID=DEFAULT_CLIENT_ID,
        DAP_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
        CD2_PSEUDONYM_SECRET="bad-inputs-pseudonym-key",
        COLUMNS="200",
    )
    for key in ("CD2_DB", "CD2_CONFIG", "CD2_MEMORY_LIMIT", "CD2_TABLES", "CD2_NAMESPACES"):
        env.pop(key, None)
    return {**env, **extra}


def fingerprint(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with its content hash. The writer lock file (``<db>.lock``, empty
    once its holder is gone; it holds no data) and the lock-holder test process's signal aside."""
    out: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.name.endswith(".ready"):
            continue
        if path.name.endswith(".duckdb.lock"):
            assert path.stat().st_size == 0, f"{path} still names a holder"
            continue
        out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gives_one_clear_line(world: World, tmp_path: Path, name: str, http_only_port: int) -> None:
    case = CASES[name]
    folder = tmp_path / "case"
    folder.mkdir()
    if case.uses_db:
        shutil.copy(world.synced_db, folder / "cd2.duckdb")
        (folder / "cd2.duckdb").chmod(stat.S_IRUSR | stat.S_IWUSR)
    if case.setup is not None:
        case.setup(folder, world)
    env = api_env(world)
    for key, value in case.env.items():
        if value is None:
            env.pop(key, None)
        elif key == "DAP_API_URL" and value == "closed":
            env[key] = f"http://127.0.0.1:{_free_port()}"
        elif key == "DAP_API_URL" and value == "tls":
            env[key] = f"https://127.0.0.1:{http_only_port}"
        else:
            env[key] = value
    before = fingerprint(folder)
    done = subprocess.run(
        [sys.executable, "-m", "extract.cli", *case.args],
        cwd=folder,
        env=env,
        input=case.stdin if case.stdin is not None else "",
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output[-3000:]
    assert done.returncode == case.code, f"{name}: exit {done.returncode}\n{output[-3000:]}"
    error_lines = [line for line in done.stderr.splitlines() if line.startswith("cd2 ")]
    assert len(error_lines) == 1, f"{name}: expected one error line, got\n{done.stderr[-3000:]}"
    line = error_lines[0].lower()
    for word in case.words:
        assert word.lower() in line, f"{name}: {word!r} not in {error_lines[0]!r}"
    after = fingerprint(folder)
    assert after == before, f"{name}: files changed: {set(after.items()) ^ set(before.items())}"


def test_advice_shared_by_many_failed_tables_is_printed_once(world: World, tmp_path: Path) -> None:
    """Every table fails for want of memory: one line per table, the advice once (not once per table)."""
    tables = ["courses", "users", "accounts", "enrollments", "assignments"]
    env = api_env(world, CD2_MEMORY_LIMIT="16MB")  # too little for one JSON reader buffer
    done = subprocess.run(
        [sys.executable, "-m", "extract.cli", *SYNC[:3], "--no-rate-limit", "--table", ",".join(tables)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    failed = [line for line in done.stderr.splitlines() if line.startswith("  failed canvas.")]
    assert len(failed) == len(tables), done.stderr[-3000:]
    advice = [line for line in done.stderr.splitlines() if "raise it (memory_limit" in line]
    assert len(advice) == 1 and f"({len(tables)} tables)" in advice[0], done.stderr[-3000:]


def test_files_the_commands_create_are_the_owners_only(world: World, tmp_path: Path) -> None:
    """The database (student data), its folder and the writer's lock file are created 0600/0700,
    whatever the caller's umask."""
    env = api_env(world)
    db = tmp_path / "data" / "cd2.duckdb"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; os.umask(0o022); from extract.cli import main; sys.exit(main())",
            "sync",
            "--db",
            str(db),
            "--no-rate-limit",
            "--namespace",
            "canvas",
            "--table",
            "courses",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (db.parent, db, db.with_name("cd2.duckdb.lock"))}
    assert modes == {"data": 0o700, "cd2.duckdb": 0o600, "cd2.duckdb.lock": 0o600}
