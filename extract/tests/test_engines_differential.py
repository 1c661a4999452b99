"""The same marts from two loaders and two engines: dap syncdb + PostgreSQL == cd2 sync + DuckDB.

See ``extract/tests/engines_differential.py`` for the rounds and the normalisation. The
institution is ``tiny`` (``make test``); ``CD2_ENGINES_PROFILE=demo`` runs it on ``demo``
(``make engines-demo``, run by the scheduled workflow). The module also checks what
``cd2 run --target postgres`` does with bad input: a database without dap's tables, and a table
at an older schema version than the models are written for.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from extract.postgres import secret_options
from extract.synth import Institution, ensure_generated
from extract.tests.conformance.dapcli import require_dap_client
from extract.tests.engines_differential import (
    SECRET,
    Loaded,
    close_rows,
    config_file,
    dbt_env,
    differences,
    duckdb_relations,
    load_both,
    normalised,
    pg_environment,
    pg_execute,
    pg_query,
    postgres_relations,
    row_counts,
    run_cd2,
)
from extract.tests.marts_differential import synth_cache
from extract.tests.postgres_server import fresh_database, postgres_server
from extract.tests.sync_helpers import cli_env

pytestmark = pytest.mark.slow

PROFILE = os.environ.get("CD2_ENGINES_PROFILE", "tiny")
# relations that must hold rows for the comparison to mean something
MUST_HAVE_ROWS = (
    "dim_course",
    "dim_user",
    "fct_enrollment_status",
    "fct_submission",
    "fct_web_session",
    "fct_web_activity_daily",
    "mart_student_risk_weekly",
    "mart_course_grade_summary",
)


@pytest.fixture(scope="module")
def server_dsn() -> Iterator[str]:
    with postgres_server() as dsn:
        yield dsn


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory, server_dsn: str) -> Loaded:
    require_dap_client()
    dsn = fresh_database(server_dsn, f"engines_{PROFILE}")
    work = tmp_path_factory.mktemp(f"engines-{PROFILE}")
    template = ensure_generated(PROFILE, 1, synth_cache())
    shutil.copytree(template.store.root, work / "store")
    return load_both(Institution.open(work / "store"), work, dsn)


def pg_run(loaded: Loaded, dsn: str, name: str) -> tuple[int, str, Path]:
    """``cd2 run --target postgres`` on ``dsn`` with its own dbt folders; (exit, output, target)."""
    work = loaded.duckdb_path.parent
    env = {**cli_env(), **pg_environment(dsn), **dbt_env(work, name), "CD2_PSEUDONYM_SECRET": SECRET}
    step = run_cd2(["run", "--target", "postgres", "--config", str(config_file(work))], env, name)
    return step.returncode, step.output, work / name / "target"


def test_every_mart_dim_and_fact_is_equal_between_the_engines(loaded: Loaded) -> None:
    in_duckdb = duckdb_relations(loaded.duckdb_path, "marts")
    in_postgres = postgres_relations(loaded.pg_dsn, "marts")
    counts = row_counts(in_duckdb)
    print("\n".join(f"{s.name}: {s.seconds:.1f}s" for s in loaded.steps))
    print(f"dap loaded {sum(len(t) for t in loaded.dap_tables.values())} tables; rows per relation: {counts}")
    assert not differences(in_duckdb, in_postgres), "\n".join(differences(in_duckdb, in_postgres))
    empty = [name for name in MUST_HAVE_ROWS if not counts.get(name)]
    assert not empty, f"relations without rows make the comparison empty: {empty}"
    assert len(in_duckdb) >= 25, sorted(in_duckdb)


def test_the_docs_site_builds_from_the_postgres_target(loaded: Loaded) -> None:
    site = loaded.duckdb_path.parent / "postgres" / "target" / "static_index.html"
    text = site.read_text(encoding="utf-8")
    # the lineage of dap_syncdb mode: dap's tables are the sources of staging
    assert "source.cd2.dap_canvas.courses" in text and "model.cd2.stg_canvas__courses" in text
    # the catalog was read from the PostgreSQL database (its name is in every relation's entry)
    database = pg_environment(loaded.pg_dsn)["CD2_PG_DATABASE"]
    assert f'"database": "{database}"' in text or f'"database":"{database}"' in text


def test_a_database_without_daps_tables_builds_nothing_and_says_why(loaded: Loaded, server_dsn: str) -> None:
    empty = fresh_database(server_dsn, "engines_no_dap")
    returncode, output, _ = pg_run(loaded, empty, "no-dap")
    assert returncode == 1, output[-3000:]
    assert "instructure_dap.table_sync" in output and "dap initdb" in output, output[-3000:]
    assert "canvas." in output  # an example table is named
    # dbt may create its (empty) schemas before the hook runs: no table or view is in them
    built = pg_query(
        empty,
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ('staging', 'intermediate', 'marts', 'pii', 'utilities', 'cd2_reference')",
    )
    assert built == []


def test_an_older_schema_version_builds_nothing_and_names_the_table(loaded: Loaded) -> None:
    oids = (
        "select c.relname, c.oid from pg_class c join pg_namespace n on n.oid = c.relnamespace where nspname = 'marts'"
    )
    before = dict(pg_query(loaded.pg_dsn, oids))
    pg_execute(
        loaded.pg_dsn,
        "update instructure_dap.table_sync set schema_version = schema_version - 1 "
        "where source_namespace = 'canvas' and source_table = 'courses'",
    )
    try:
        returncode, output, _ = pg_run(loaded, loaded.pg_dsn, "older-version")
    finally:
        pg_execute(
            loaded.pg_dsn,
            "update instructure_dap.table_sync set schema_version = schema_version + 1 "
            "where source_namespace = 'canvas' and source_table = 'courses'",
        )
    assert returncode == 1, output[-3000:]
    assert "canvas.courses: at CD2 schema version" in output and "nothing was built" in output, output[-3000:]
    # every mart relation is the one the successful build made: none was rebuilt or dropped
    assert dict(pg_query(loaded.pg_dsn, oids)) == before


def test_the_secret_reaches_the_session_whole_through_pgoptions(
    server_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "a b\\c 'd' é"  # spaces, a backslash, quotes and non-ASCII survive libpq's parsing
    monkeypatch.setenv("PGOPTIONS", secret_options(secret))
    assert pg_query(server_dsn, "select current_setting('cd2.pseudonym_secret')") == [(secret,)]


def test_floats_match_within_the_tolerance_and_nothing_else_is_forgiven() -> None:
    left = Counter([(1, "a", -0.0847136804405), (2, "b", 8.12499999991e-05), (3, "c", 1.0), (4, 8, 3.954958130129182)])
    right = Counter([(1, "a", -0.0847136804404), (2, "b", 8.125e-05), (3, "c", 1.001), (4, 8.0, 3.9549581301291823)])
    only_left, only_right = close_rows(left - right, right - left)
    assert only_left == Counter([(3, "c", 1.0)]) and only_right == Counter([(3, "c", 1.001)])
    assert not differences({"m": (["k", "v", "x"], left)}, {"m": (["k", "v", "x"], left.copy())})
    assert differences({"m": (["k", "v", "x"], left)}, {"m": (["k", "v", "x"], right)})  # the 1.0 vs 1.001 row
    assert differences({"m": (["k"], Counter())}, {"m": (["id"], Counter())})  # a column's name differs
    assert normalised(0.5) == 0.5 and normalised(Decimal("0.50")) == 0.5  # read as floats, not text
