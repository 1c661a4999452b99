"""A namespace this release does not bundle, end to end: served from schema files, synced by name,
generated from the schemas the sync recorded, built by dbt.

The namespace is ``new_quizzes`` with two made-up tables (``extract/tests/data/extra_schemas``:
Instructure has not published the real ones). Only the synthetic institution and the fake API see
the schema files (``CD2_EXTRA_SCHEMAS``); ``cd2 sync`` and ``cd2 codegen`` run without them, as
against the real API.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from extract.dap.errors import NotFoundError
from extract.failures import UsageError
from extract.schema import EXTRA_SCHEMAS_ENV, TRUNCATION_MARKERS
from extract.sync.selection import resolve_tables
from extract.synth import Institution, generate
from extract.synth.store import Store
from extract.tests.dbt_helpers import ROOT, DbtProject
from extract.tests.sync_helpers import cd2_command, cli_env, serving

FIXTURE = Path(__file__).parent / "data" / "extra_schemas"
NAMESPACE = "new_quizzes"
TABLES = ("quiz_sessions", "quizzes")
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "models", "macros", "seeds", "tests", "analyses", "snapshots")


def cd2(*args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = cli_env(url)
    env.pop(EXTRA_SCHEMAS_ENV, None)  # the extractor knows only what the API tells it
    return subprocess.run(cd2_command(*args), env=env, capture_output=True, text=True, timeout=600, check=False)


def scalar(db: Path, sql: str) -> object:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute(sql).fetchone()
    finally:
        con.close()
    assert row is not None
    return row[0]


def truth(store: Store, sql: str, qname: str) -> tuple:
    """``sql`` over the ground truth of ``qname`` (the relation is called ``t``)."""
    con = duckdb.connect()
    try:
        row = con.execute(sql.replace("{t}", f"({store.truth_sql(qname)}) as t")).fetchone()
    finally:
        con.close()
    assert row is not None
    return tuple(row)


def project_copy(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, dest / name)
    return dest


@pytest.fixture(scope="module")
def institution(tmp_path_factory: pytest.TempPathFactory) -> Institution:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(EXTRA_SCHEMAS_ENV, str(FIXTURE))
        return generate(tmp_path_factory.mktemp("store") / "tiny", "tiny", 1)


def test_the_fake_serves_the_namespace_from_the_schema_files(institution: Institution) -> None:
    store = institution.store
    assert sorted(q.split(".", 1)[1] for q in store.tables(NAMESPACE)) == sorted(TABLES)
    assert NAMESPACE in store.namespaces() and "catalog" in store.namespaces()
    schema = store.schema("new_quizzes.quiz_sessions")
    assert schema.to_dap_schema()["properties"]["value"]["required"] == [
        "quiz_id",
        "user_id",
        "status",
        "created_at",
        "updated_at",
    ]
    # foreign keys resolve into canvas and within the namespace
    quizzes = truth(store, "select count(*), count(*) filter (where course_id >= 0) from {t}", "new_quizzes.quizzes")
    assert quizzes[0] > 0 and quizzes[0] == quizzes[1]
    canvas_courses = truth(store, "select list(id) from {t}", "canvas.courses")[0]
    orphan = truth(
        store, f"select count(*) from {{t}} where not list_contains({canvas_courses}, course_id)", "new_quizzes.quizzes"
    )
    assert orphan == (0,)


def test_sync_codegen_and_dbt_build_a_namespace_nobody_bundled(institution: Institution, tmp_path: Path) -> None:
    db = tmp_path / "cd2.duckdb"
    store = institution.store
    with serving(institution) as server:
        synced = cd2("sync", "--db", str(db), "--namespace", NAMESPACE, "--no-rate-limit", url=server.url)
        assert synced.returncode == 0, synced.stderr[-3000:]
        for table in TABLES:
            landed = scalar(db, f"select count(*) from raw_{NAMESPACE}.{table}")
            assert landed == truth(store, "select count(*) from {t}", f"{NAMESPACE}.{table}")[0] > 0, table
        assert scalar(db, "select count(distinct namespace) from cd2_meta.batches") == 1

    project = project_copy(tmp_path / "project")
    generated = cd2("codegen", "--db", str(db), "--project-dir", str(project))
    assert generated.returncode == 0, generated.stderr[-3000:]
    for table in TABLES:
        assert (project / f"models/current_state/{NAMESPACE}/{NAMESPACE}__{table}.sql").exists()
        assert (project / f"models/staging/{NAMESPACE}/stg_{NAMESPACE}__{table}.sql").exists()
    assert "new_quizzes" not in (ROOT / "seeds" / "cd2_table_catalog.csv").read_text(encoding="utf-8")

    dbt = DbtProject(db, tmp_path / "dbt", project)
    selected = ("--select", f"path:models/current_state/{NAMESPACE}", f"path:models/staging/{NAMESPACE}")
    built = dbt.run("build", *selected, "--exclude-resource-type", "unit_test")
    assert built.ok, built.output[-4000:]

    total, truncated, with_accommodations, with_items = truth(
        store,
        f"""select count(*), count(*) filter (where feedback in {tuple(TRUNCATION_MARKERS)}),
                   -- CD2 serves an object whose properties are all null as null
                   count(coalesce(accommodations.extra_time_minutes::varchar, accommodations.reduced_choices::varchar)),
                   count(item_ids) from {{t}}""",
        "new_quizzes.quiz_sessions",
    )
    assert scalar(db, "select count(*) from new_quizzes.quiz_sessions") == total
    staged = duckdb.connect(str(db), read_only=True)
    try:
        row = staged.execute(
            """select count(*), count(*) filter (where is_feedback_truncated), count(*) filter (where feedback in
                   ('__dap_oversized_truncated__', '__cd2_oversized_truncated__')),
                   count(accommodations), count(item_ids), count(distinct quiz_session_id)
               from staging.stg_new_quizzes__quiz_sessions"""
        ).fetchone()
        relationship = staged.execute(
            """select count(*) from staging.stg_new_quizzes__quiz_sessions s
               left join staging.stg_new_quizzes__quizzes q using (quiz_id) where q.quiz_id is null"""
        ).fetchone()
    finally:
        staged.close()
    assert row == (total, truncated, 0, with_accommodations, with_items, total)
    assert relationship == (0,)


class ListingClient:
    """Answers ``list_tables`` like the API: a namespace's tables, 404 for an unknown namespace."""

    def __init__(self, listing: dict[str, list[str]]) -> None:
        self.listing = listing

    def list_tables(self, namespace: str) -> list[str]:
        if namespace not in self.listing:
            raise NotFoundError(f"The namespace '{namespace}' is not valid.", 404, "ObjectNotFound")
        return self.listing[namespace]


def test_a_namespace_without_tables_is_told_and_nothing_at_all_is_a_usage_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = ListingClient({"canvas": ["courses"], "new_quizzes": []})
    fixes = {"namespace_fix": "--namespace", "table_fix": "--table"}
    with caplog.at_level("WARNING", logger="cd2.sync"):
        assert resolve_tables(client, ["new_quizzes", "canvas"], None, **fixes) == ["canvas.courses"]  # type: ignore[arg-type]
    assert "lists no table in namespace 'new_quizzes'" in caplog.text
    with pytest.raises(UsageError, match="lists no table in namespace 'new_quizzes'"):
        resolve_tables(client, ["new_quizzes"], None, **fixes)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="has no namespace 'nope'"):
        resolve_tables(client, ["nope"], None, **fixes)  # type: ignore[arg-type]
