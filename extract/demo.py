"""The end-to-end demo behind ``make demo`` / ``cd2 demo``.

1. Generate (or reuse) the deterministic synthetic institution and take a fresh working copy.
2. Serve it with the bundled fake DAP API on a free loopback port.
3. ``cd2 sync`` every table into a fresh DuckDB file, then ``dbt build``.
4. A few rounds of: advance the institution's clock, sync the incrementals, ``dbt build``.
5. ``dbt docs generate --static`` and say where everything is.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from extract.dbt_plugin import SECRET_ENV
from extract.timeutil import iso_z

DEMO_DIR = Path("data/demo")
# The demo's pseudonym key: fine for synthetic people, never for a real institution.
DEMO_SECRET = "cd2-demo-only-not-a-secret"


def _say(message: str) -> None:
    print(message, flush=True)


def _dbt(args: list[str], db: Path, project_dir: Path) -> None:
    dbt = Path(sys.executable).with_name("dbt")
    env = dict(os.environ, CD2_DB=str(db.resolve()), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    env.setdefault(SECRET_ENV, DEMO_SECRET)
    command = [str(dbt), *args, "--project-dir", str(project_dir), "--profiles-dir", str(project_dir)]
    _say(f"      $ dbt {' '.join(args)}")
    result = subprocess.run(command, env=env, cwd=project_dir, capture_output=True, text=True)
    summary = [line for line in result.stdout.splitlines() if "Done." in line or "ERROR" in line or "WARN" in line]
    for line in summary[-8:]:
        _say(f"        {line.strip()}")
    if result.returncode != 0:
        _say(result.stdout[-4000:])
        raise SystemExit(f"dbt {args[0]} failed (exit {result.returncode})")


def _sync(server_url: str, db: Path, client_id: str, client_secret: str, tables: list[str]) -> None:
    from extract.dap.auth import Credentials
    from extract.dap.client import DapClient
    from extract.sync.progress import LogReporter
    from extract.sync.runner import SyncOptions, SyncRunner

    client = DapClient(Credentials(server_url, client_id, client_secret), limits={})
    con = duckdb.connect(str(db))
    try:
        options = SyncOptions(tables=tables, work_dir=db.parent / ".cd2_work_demo")
        report = SyncRunner(client, con, options, LogReporter()).run()
    finally:
        con.close()
        client.close()
    ok = [r for r in report.results if r.status == "ok"]
    rows = sum(r.rows for r in ok)
    snapshots = sum(1 for r in ok if r.kind == "snapshot")
    _say(
        f"      synced {len(ok)} tables ({snapshots} snapshots, {len(ok) - snapshots} incrementals): "
        f"{rows:,} rows, {sum(r.bytes for r in ok) / 1e6:,.1f} MB in {report.seconds:.1f}s"
    )
    if report.failed:
        raise SystemExit(f"sync failed for {[r.qualified_name for r in report.failed]}")


def run_demo(profile: str = "demo", seed: int = 1, data_dir: Path | None = None, rounds: int = 2) -> int:
    from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer, ServerConfig
    from extract.synth import Institution, ensure_generated
    from extract.synth.report import describe_store

    started = time.monotonic()
    project_dir = Path.cwd()
    _say(f"[1/5] Synthetic institution: profile '{profile}', seed {seed}")
    pristine = ensure_generated(profile, seed, data_dir, progress=lambda m: _say(f"      {m}"))
    work = DEMO_DIR / f"{profile}-seed{seed}"
    if work.exists():
        shutil.rmtree(work)
    work.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(pristine.store.root, work / "institution")
    institution = Institution.open(work / "institution")
    _say(describe_store(institution.store))
    db = work / "cd2.duckdb"

    _say("[2/5] Starting the bundled fake DAP API on a free loopback port")
    config = ServerConfig(port=0, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET)
    with FakeDapServer(
        institution.store,
        config,
        advance=institution.advance,
        bump_schema=institution.bump_schema,
        reload=institution.reload,
    ) as server:
        _say(f"      DAP_API_URL={server.url}  DAP_CLIENT_ID={config.client_id}")
        tables = institution.store.tables()

        _say(f"[3/5] cd2 sync: snapshot of {len(tables)} tables into {db}, then dbt build")
        _sync(server.url, db, config.client_id, config.client_secret, tables)
        _dbt(["build"], db, project_dir)

        for round_number in range(1, rounds + 1):
            now = server.advance(4)
            _say(f"[4/5] Round {round_number}: the institution moved 4 hours on (now {iso_z(now)}); incremental sync")
            _sync(server.url, db, config.client_id, config.client_secret, tables)
            _dbt(["build"], db, project_dir)

    _say("[5/5] dbt docs generate --static")
    _dbt(["docs", "generate", "--static"], db, project_dir)
    docs = project_dir / "target" / "static_index.html"
    _say("")
    _say(f"Demo finished in {time.monotonic() - started:.0f}s.")
    _say(f'  DuckDB file:   {db}   (e.g. duckdb {db} "select * from cd2_meta.table_state limit 5")')
    _say(f"  Docs site:     {docs}   (open it in a browser)")
    query = "select risk_level, count(*) from marts.mart_student_risk_weekly group by 1 order by 2 desc"
    snippet = f"import duckdb; duckdb.connect('{db}', read_only=True).sql('{query}').show()"
    _say(f'  Example query: .venv/bin/python -c "{snippet}"')
    _say("  Ready questions: analyses/*.sql (dbt compile --select students_at_risk_this_week)")
    _say(f"  Sync status:   .venv/bin/cd2 status --db {db}")
    _say("  Fake API:      .venv/bin/cd2 fake-server --profile demo   (then point DAP_API_URL at it)")
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
