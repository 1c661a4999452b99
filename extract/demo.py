"""The end-to-end demo behind ``make demo`` / ``cd2 demo``.

1. Generate (or reuse) the deterministic synthetic institution and take a fresh working copy.
2. Serve it with the bundled fake DAP API on a free loopback port.
3. ``cd2 run`` (the command users schedule, in its own process): snapshot sync of every table,
   ``dbt build``.
4. A few rounds of: advance the institution's clock, ``cd2 run`` again (incremental sync, the
   build leaving out current-state tables with nothing new); the last round also builds the
   docs site (``dbt docs generate --static``); every round writes the report site.
5. Say where everything is, the report site last.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from extract.pseudonym import SECRET_ENV
from extract.report import SITE_DIR
from extract.run import dbt_target_dir
from extract.schema import namespaces
from extract.timeutil import iso_z

DEMO_DIR = Path("data/demo")
# The demo's pseudonym key: fine for synthetic people, never for a real institution.
DEMO_SECRET = "cd2-demo-only-not-a-secret"
# The lines of `cd2 run`'s summary the demo repeats.
SUMMARY_PREFIXES = (
    "sync:",
    "  failed",
    "current state:",
    "dbt ",
    "  model.",
    "  test.",
    "freshness",
    "docs site:",
    "report site:",
    "published for readers:",
)


def _say(message: str) -> None:
    print(message, flush=True)


def _cd2_run(server_url: str, client_id: str, client_secret: str, db: Path, project_dir: Path, docs: bool) -> None:
    """``cd2 run`` against the fake API, every table of the bundled namespaces (Catalog too: the
    demo institution has it), whatever cd2.yml says."""
    env = dict(
        os.environ,
        DAP_API_URL=server_url,
        DAP_CLIENT_ID=client_id,
        DAP_CLIENT_SECRET=client_secret,
        CD2_TABLES="all",
        CD2_NAMESPACES=",".join(namespaces()),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        COLUMNS="200",  # the summary is printed by rich: no wrapping at 80 columns
    )
    env.setdefault(SECRET_ENV, DEMO_SECRET)
    # the bundled server does not enforce the real API's limits, so neither side throttles
    args = ["run", "--db", str(db), "--project-dir", str(project_dir), "--progress", "never", "--no-rate-limit"]
    args += [] if docs else ["--no-docs"]
    _say(f"      $ cd2 {' '.join(args)}")
    command = [sys.executable, "-m", "extract.cli", *args]
    result = subprocess.run(command, env=env, cwd=project_dir, capture_output=True, text=True)
    for line in (result.stdout + result.stderr).splitlines():  # the summary goes to stderr
        if line.startswith(SUMMARY_PREFIXES):
            _say(f"        {line}")
    if result.returncode != 0:
        _say(result.stdout[-4000:] + result.stderr[-4000:])
        raise SystemExit(f"cd2 run failed (exit {result.returncode})")


def run_demo(profile: str = "demo", seed: int = 1, data_dir: Path | None = None, rounds: int = 2) -> int:
    from extract.database import default_published_path
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

        _say(f"[3/5] cd2 run: snapshot of {len(tables)} tables into {db}, then dbt build")
        _cd2_run(server.url, config.client_id, config.client_secret, db, project_dir, docs=rounds == 0)

        for round_number in range(1, rounds + 1):
            now = server.advance(4)
            _say(f"[4/5] Round {round_number}: the institution moved 4 hours on (now {iso_z(now)}); cd2 run")
            last = round_number == rounds
            _cd2_run(server.url, config.client_id, config.client_secret, db, project_dir, docs=last)

    docs = dbt_target_dir(project_dir) / "static_index.html"
    report = dbt_target_dir(project_dir) / SITE_DIR / "index.html"
    _say(f"[5/5] The last cd2 run also built the docs site: {docs}")
    _say("")
    _say(f"Demo finished in {time.monotonic() - started:.0f}s.")
    _say(f"  DuckDB file:   {db}   (the round's working file; cd2 writes it)")
    _say(f"  Read copy:     {default_published_path(db)}   (for BI tools and notebooks, replaced whole each round)")
    _say(f"  Docs site:     {docs}   (open it in a browser)")
    query = "select risk_level, count(*) from marts.mart_student_risk_weekly group by 1 order by 2 desc"
    # readers open the copy published at the end of each round, never the working file
    read_copy = default_published_path(db)
    snippet = f"import duckdb; duckdb.connect('{read_copy}', read_only=True).sql('{query}').show()"
    _say(f'  Example query: .venv/bin/python -c "{snippet}"')
    _say("  Ready questions: analyses/*.sql (dbt compile --select students_at_risk_this_week)")
    _say(f"  Sync status:   .venv/bin/cd2 status --db {db}")
    _say("  Fake API:      .venv/bin/cd2 fake-server --profile demo   (then point DAP_API_URL at it)")
    # last, so that it is what the terminal shows when the demo ends
    _say(f"  Report site:   {report.resolve()}   (open it in a browser; works offline)")
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
