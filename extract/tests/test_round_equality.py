"""A round builds only what changed, and what it builds equals a full rebuild of the same data.

One institution, served by the fake API, goes through seven ``cd2 run`` rounds: a snapshot; then
inserts, updates and hard deletes (4 h of activity); a schema bump of ``canvas.courses``; a
server-side re-snapshot of ``canvas.enrollments``; web_logs requests logged late (event times two
days old); two days at once (the as_of moves across days and maybe a week); and a round with
nothing new. After every round a copy of the database is rebuilt whole (``dbt run
--full-refresh``, every model from the raw change logs) and every relation the project builds
(current state, staging, intermediate, marts, pii: tables and views) must hold the same rows in
both, row for row (doubles to 9 decimal places; the `_cd2_*` bookkeeping columns of incremental
builds, which say which round computed a row, left out). The history models (``full_refresh: false``:
daily grades, weekly risk) keep their earlier days in the copy too and rebuild the current one.

Rounds after the first must be selective (``extract/round_plan.py``): the test fails if a round
rebuilt everything, so the equality is not bought by building it all. Views whose inputs changed
are left standing (not created again) while the columns above them hold: the test checks that
some rounds did so and ran their tests, and that the round landing the bumped schema version of
``canvas.courses`` created the views below it again.

``tiny`` in ``make test``; ``CD2_ROUNDS_PROFILE=demo`` runs it on ``demo`` (``make rounds-demo``,
the weekly scheduled workflow).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer
from extract.landing.tables import quote
from extract.schema import namespaces
from extract.synth import Institution, ensure_generated
from extract.tests.dbt_helpers import DB_NAME, DbtProject
from extract.tests.marts_differential import synth_cache
from extract.tests.sync_helpers import serving

pytestmark = [pytest.mark.slow, pytest.mark.timeout(3600)]

PROFILE = os.environ.get("CD2_ROUNDS_PROFILE", "tiny")
SECRET = "cd2-tests-only-not-a-secret"
WEB_LOGS = "canvas_logs.web_logs"
# Schemas the project builds into; raw_* and cd2_meta are the extractor's own.
BUILT_SCHEMAS = ("canvas", "canvas_logs", "catalog", "cd2_audit", "staging", "intermediate", "marts", "pii")

Change = Callable[[FakeDapServer], object]
ROUNDS: list[tuple[str, Change]] = [
    ("snapshot", lambda server: None),
    ("inserts, updates, hard deletes", lambda server: server.advance(4.0)),
    ("schema bump", lambda server: (server.advance(4.0), server.bump_schema("canvas.courses"))),
    ("re-snapshot", lambda server: (server.advance(6.0), server.reload("canvas.enrollments"))),
    ("late web_logs", lambda server: (server.advance(4.0), server.late_rows(WEB_LOGS, 40, 48.0))),
    ("as_of two days on", lambda server: server.advance(50.0)),
    ("nothing new", lambda server: None),
]


def _cd2_run(url: str, db: Path, target: Path) -> str:
    env = dict(
        os.environ,
        DAP_API_URL=url,
        DAP_CLIENT_ID=DEFAULT_CLIENT_ID,
        DAP_CLIENT_SECRET=DEFAULT_CLIENT_SECRET,
        CD2_PSEUDONYM_SECRET=SECRET,
        CD2_TABLES="all",
        CD2_NAMESPACES=",".join(namespaces()),
        DBT_TARGET_PATH=str(target),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        COLUMNS="200",
    )
    env.pop("CD2_DB", None)
    command = [sys.executable, "-m", "extract.cli", "run", "--db", str(db), "--progress", "never"]
    command += ["--no-docs", "--no-publish", "--no-rate-limit"]
    done = subprocess.run(command, env=env, cwd=Path.cwd(), capture_output=True, text=True, timeout=1800)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    return output


def _built_and_tested_alone(target: Path) -> tuple[set[str], set[str]]:
    """The models the last round built, and those it did not build but ran a test of that reads
    nothing else (no built parent selected it: the round chose it), from its run results and the
    manifest cd2 run wrote."""
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    nodes = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["nodes"]
    ran = {result["unique_id"] for result in results}
    built = {nodes[uid]["name"] for uid in ran if uid.startswith("model.")}
    tested_alone = {
        nodes[node["depends_on"]["nodes"][0]]["name"]
        for uid, node in nodes.items()
        if uid in ran and uid.startswith("test.") and len(node["depends_on"]["nodes"]) == 1
    }
    return built, tested_alone - built


def _schema_version(db: Path, table: str) -> int:
    """The newest schema version of ``canvas.<table>`` a committed batch brought."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(
            "SELECT max(schema_version) FROM cd2_meta.batches "
            "WHERE namespace = 'canvas' AND table_name = ? AND status = 'committed'",
            [table],
        ).fetchone()
    finally:
        con.close()
    return int(row[0]) if row and row[0] is not None else 0


def _relations(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, str]:
    listed = ", ".join(f"'{s}'" for s in BUILT_SCHEMAS)
    rows = con.execute(
        f"""SELECT table_schema, table_name, table_type FROM information_schema.tables
            WHERE table_catalog = '{catalog}' AND table_schema IN ({listed})"""
    ).fetchall()
    return {f"{schema}.{name}": kind for schema, name, kind in rows}


def _differences(built: Path, rebuilt: Path) -> list[str]:
    """Relations whose rows differ (count of rows in one and not the other), or that only one has."""
    con = duckdb.connect(str(built), read_only=True)
    try:
        con.execute(f"ATTACH '{rebuilt}' AS rebuilt (READ_ONLY)")
        here = con.execute("SELECT current_database()").fetchone()
        assert here is not None
        ours, theirs = _relations(con, here[0]), _relations(con, "rebuilt")
        problems = [f"{name}: only in one database" for name in sorted(set(ours) ^ set(theirs))]
        for name in sorted(set(ours) & set(theirs)):
            schema, table = name.split(".", 1)
            relation = f"{quote(schema)}.{quote(table)}"
            # `_cd2_*` columns are the bookkeeping of incremental builds (which round computed a row)
            described = [
                (c, t) for c, t, *_ in con.execute(f"DESCRIBE {relation}").fetchall() if not c.startswith("_cd2_")
            ]
            columns = ", ".join(
                f"round({quote(c)}, 9)" if str(t).upper() in ("DOUBLE", "FLOAT") else quote(c) for c, t in described
            )
            a, b = f"SELECT {columns} FROM {relation}", f"SELECT {columns} FROM rebuilt.{relation}"
            row = con.execute(
                f"SELECT (SELECT count(*) FROM ({a} EXCEPT ALL {b})), (SELECT count(*) FROM ({b} EXCEPT ALL {a}))"
            ).fetchone()
            assert row is not None
            if row[0] or row[1]:
                problems.append(f"{name}: {row[0]} rows only in the round's build, {row[1]} only in the full rebuild")
        return problems
    finally:
        con.close()


def _row_counts(db: Path, relations: tuple[str, ...]) -> dict[str, int]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        counts: dict[str, int] = {}
        for name in relations:
            row = con.execute(f"SELECT count(*) FROM {name}").fetchone()
            counts[name] = int(row[0]) if row else 0
        return counts
    finally:
        con.close()


def test_every_round_equals_a_full_rebuild(tmp_path: Path) -> None:
    template = ensure_generated(PROFILE, 1, synth_cache())
    shutil.copytree(template.store.root, tmp_path / "store")
    institution = Institution.open(tmp_path / "store")
    db = tmp_path / "rounds" / "cd2.duckdb"
    db.parent.mkdir()
    full = DbtProject(tmp_path / "full" / DB_NAME, tmp_path / "full-dbt")
    failures: list[str] = []
    selective_rounds = 0
    restamped_rounds = 0
    standing_rounds = 0
    bumped_rounds = 0
    courses_version = 0
    with serving(institution) as server:
        for number, (what, change) in enumerate(ROUNDS):
            change(server)
            output = _cd2_run(server.url, db, tmp_path / "target")
            plan = re.search(r"round: (\d+) models and seeds to build, (\d+) left out", output)
            landed_version = _schema_version(db, "courses")
            if number == 0:
                assert "round: every model built" in output, output[-3000:]
            else:
                assert plan is not None, f"round {number} ({what}) was not selective:\n{output[-3000:]}"
                built, left_out = int(plan.group(1)), int(plan.group(2))
                assert left_out > 0 and built > 0, (what, built, left_out)
                # ... and tested only what changed (extract/round_tests.py)
                assert re.search(r"round: tests of [1-9]\d* models check only rows changed", output), output[-3000:]
                selective_rounds += 1
                # models that read now only for their stamp, left out, stamped anew (extract/round_now.py)
                restamped_rounds += bool(re.search(r"round: [1-9]\d* tables left out read now only", output))
                # views whose inputs changed stand; their tests run all the same
                built_models, tested_alone = _built_and_tested_alone(tmp_path / "target")
                if re.search(r"round: [1-9]\d* views left standing", output):
                    standing_rounds += 1
                    assert tested_alone, what
                # the round that lands the bumped version (it starts just after the bump's round)
                if landed_version > courses_version:
                    bumped_rounds += 1  # new columns above: the views below are created again
                    assert {"stg_canvas__courses", "int_enrollment__effective_enrollments"} <= built_models, what
            courses_version = landed_version
            shutil.rmtree(full.db.parent, ignore_errors=True)
            full.db.parent.mkdir()
            shutil.copyfile(db, full.db)
            rebuilt = full.run(
                "run", "--full-refresh", "--threads", "2", timeout=1800, extra_env={"CD2_PSEUDONYM_SECRET": SECRET}
            )
            assert rebuilt.ok, rebuilt.output[-4000:]
            failures += [f"round {number} ({what}): {p}" for p in _differences(db, full.db)]
    assert selective_rounds == len(ROUNDS) - 1
    assert restamped_rounds, "no round kept a model that reads now only for its stamp"
    assert standing_rounds >= 3, f"views stood in {standing_rounds} rounds"
    assert bumped_rounds == 1, bumped_rounds
    assert not failures, "\n".join(failures[:40])
    # the comparison means something: the marts hold rows and the late requests reached them
    counts = _row_counts(db, ("marts.fct_web_session", "marts.fct_submission", "marts.mart_student_risk_weekly"))
    assert all(counts.values()), counts
