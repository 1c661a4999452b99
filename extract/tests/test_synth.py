"""The synthetic institution's initial state: deterministic, schema-valid, related, and messy.

Every assertion reads the store's ground truth (``Store.truth_sql``) through DuckDB.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from extract.schema import ENUM_UNKNOWN, TRUNCATION_MARKERS, Column
from extract.synth import PROFILES, Institution, default_data_dir, ensure_generated, generate
from extract.synth.cache import is_pristine
from extract.synth.ids import TYPE_TABLES, model_name, referenced_model
from extract.synth.store import Store

# the properties must hold for any seed; CD2_SYNTH_TEST_SEED runs the suite on another one
SEED = int(os.environ.get("CD2_SYNTH_TEST_SEED", "1"))

# ---- helpers (also imported by test_synth_advance) --------------------------------------------

# Canvas keeps excused, a custom grade status and a late policy status exclusive (Submission#set_status_attributes)
EXCLUSIVE_STATUSES_BROKEN = """
    SELECT count(*) FROM submissions WHERE custom_grade_status_id IS NOT NULL AND (late_policy_status IS NOT NULL
        OR excused) OR excused AND late_policy_status IS NOT NULL"""


def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Institution:
    """The session's pristine tiny institution (generated once per test session)."""
    return ensure_generated("tiny", SEED, base_dir=tmp_path_factory.getbasetemp() / "synth-cache")


def truth_connection(store: Store, at: datetime | None = None) -> duckdb.DuckDBPyConnection:
    """A connection with one table per CD2 table (named as the generator names it: ``courses``,
    ``catalog__users``) holding its ground truth."""
    con = duckdb.connect()
    for qname in store.tables():
        con.execute(f"CREATE TABLE {model_name(qname)} AS {store.truth_sql(qname, at)}")
    return con


def one(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> object:
    return con.execute(sql, list(params)).fetchall()[0][0]


def quoted(name: str) -> str:
    return '"' + name + '"'


def file_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def dangling_references(store: Store, con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every foreign key (single or polymorphic) whose target row is not live, per column."""
    tables = {model_name(q) for q in store.tables()}
    problems = []
    for qname in store.tables():
        schema = store.schema(qname)
        table = model_name(qname)
        names = {c.name for c in schema.columns}
        for column in schema.columns:
            targets = [referenced_model(ref) for ref in column.references]
            if not targets:
                continue
            if table == "web_logs" and column.name in ("user_id", "real_user_id"):
                continue  # web_logs carries users of other institutions on purpose
            type_column = column.name[: -len("_id")] + "_type"
            if len(targets) == 1:
                checks = [(targets[0], "true")]
            elif type_column in names:
                checks = [(t, f"{quoted(type_column)} = '{v}'") for v, t in TYPE_TABLES.items() if t in targets]
            else:
                continue
            for target, condition in checks:
                if target not in tables:
                    continue
                bad = one(
                    con,
                    f"SELECT count(*) FROM {table} WHERE {condition} AND {quoted(column.name)} IS NOT NULL "
                    f"AND {quoted(column.name)} NOT IN (SELECT id FROM {target})",
                )
                if bad:
                    problems.append(f"{table}.{column.name} -> {target}: {bad}")
    return problems


# ---- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Institution:
    return tiny_store(tmp_path_factory)


@pytest.fixture(scope="module")
def con(tiny: Institution) -> duckdb.DuckDBPyConnection:
    return truth_connection(tiny.store)


# ---- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes(tiny: Institution, tmp_path: Path) -> None:
    again = generate(tmp_path / "again", "tiny", SEED)
    first, second = file_bytes(tiny.root), file_bytes(again.root)
    assert sorted(first) == sorted(second)
    assert len(first) == 143  # 142 tables + manifest
    different = [name for name in first if first[name] != second[name]]
    assert different == []


def test_other_seed_gives_other_data(tiny: Institution, tmp_path: Path) -> None:
    other = generate(tmp_path / "other", "tiny", SEED + 1)

    def by_table(root: Path) -> dict[str, bytes]:  # file names carry the first commit time, so key by folder
        return {str(p.parent.relative_to(root)): p.read_bytes() for p in root.rglob("*.parquet")}

    first, second = by_table(tiny.root), by_table(other.root)
    assert sorted(first) == sorted(second)
    changed = [name for name in first if first[name] != second[name]]
    assert len(changed) > 100
    names = "SELECT string_agg(name, '|' ORDER BY id) FROM users"
    assert one(truth_connection(tiny.store), names) != one(truth_connection(other.store), names)


# ---- shape and validity -----------------------------------------------------------------------


def test_store_clock_and_manifest(tiny: Institution) -> None:
    store = tiny.store
    assert store.profile == "tiny" and store.seed == SEED
    assert store.now == store.start == PROFILES["tiny"].start
    assert store.commits == []
    extra = store.extra
    assert extra["complete"] is True
    assert extra["time_zone"] == "America/New_York"
    assert extra["test_student_user_ids"] and extra["other_institution_user_ids_sample"]
    assert len(store.tables()) == 142 and len(store.tables("canvas")) == 113 and len(store.tables("catalog")) == 28


def test_every_table_has_live_rows(tiny: Institution, con: duckdb.DuckDBPyConnection) -> None:
    empty = [q for q in tiny.store.tables() if one(con, f"SELECT count(*) FROM {model_name(q)}") == 0]
    assert empty == []


def test_base_is_one_batch_per_table_committed_before_the_start(tiny: Institution) -> None:
    store = tiny.store
    files = {qname: store.files(qname) for qname in store.tables()}
    assert all(len(batch) == 1 for batch in files.values())
    assert [q for q, batch in files.items() if batch[0].max_ts is None or batch[0].max_ts > store.start] == []


def _column_problems(table: str, column: Column, con: duckdb.DuckDBPyConnection) -> list[str]:
    name = quoted(column.name)
    problems = []
    if not column.nullable and one(con, f"SELECT count(*) FROM {table} WHERE {name} IS NULL"):
        problems.append(f"{table}.{column.name} has NULLs")
    if column.enum and not column.enum_open:
        members = ", ".join(repr(v) for v in column.enum)
        bad = one(con, f"SELECT count(*) FROM {table} WHERE {name} NOT IN ({members})")
        if bad:
            problems.append(f"{table}.{column.name}: {bad} values outside the enum")
    too_long = f"SELECT count(*) FROM {table} WHERE length({name}) > {column.max_length}"
    if column.type == "string" and column.max_length and one(con, too_long):
        problems.append(f"{table}.{column.name} exceeds max_length {column.max_length}")
    if column.items is not None and column.items.enum:
        members = ", ".join(repr(v) for v in column.items.enum)
        bad = one(con, f"SELECT count(*) FROM (SELECT unnest({name}) AS v FROM {table}) WHERE v NOT IN ({members})")
        if bad:
            problems.append(f"{table}.{column.name}: {bad} array items outside the enum")
    for prop in column.properties or ():
        if prop.enum:
            members = ", ".join(repr(v) for v in prop.enum)
            if one(con, f"SELECT count(*) FROM {table} WHERE {name}.{quoted(prop.name)} NOT IN ({members})"):
                problems.append(f"{table}.{column.name}.{prop.name}: values outside the enum")
    return problems


def test_rows_respect_the_schema(tiny: Institution, con: duckdb.DuckDBPyConnection) -> None:
    problems: list[str] = []
    for qname in tiny.store.tables():
        schema = tiny.store.schema(qname)
        for column in schema.columns:
            problems += _column_problems(model_name(schema.qualified_name), column, con)
    assert problems == []


def test_primary_keys_are_unique(tiny: Institution, con: duckdb.DuckDBPyConnection) -> None:
    duplicated = []
    for qname in tiny.store.tables():
        schema = tiny.store.schema(qname)
        keys = ", ".join(quoted(k) for k in schema.primary_key)
        if one(con, f"SELECT count(*) - count(DISTINCT ({keys})) FROM {model_name(schema.qualified_name)}"):
            duplicated.append(qname)
    assert duplicated == []


@pytest.mark.parametrize(
    ("table", "column", "target"),
    [
        ("enrollments", "user_id", "users"),
        ("enrollments", "course_id", "courses"),
        ("enrollments", "course_section_id", "course_sections"),
        ("submissions", "assignment_id", "assignments"),
        ("submissions", "user_id", "users"),
        ("course_sections", "course_id", "courses"),
        ("scores", "enrollment_id", "enrollments"),
        ("discussion_entries", "discussion_topic_id", "discussion_topics"),
        ("context_module_progressions", "context_module_id", "context_modules"),
    ],
)
def test_key_foreign_keys_resolve(con: duckdb.DuckDBPyConnection, table: str, column: str, target: str) -> None:
    assert one(con, f"SELECT count({column}) FROM {table}") > 0
    assert one(con, f"SELECT count(*) FROM {table} WHERE {column} NOT IN (SELECT id FROM {target})") == 0


def test_assignment_contexts_are_courses(con: duckdb.DuckDBPyConnection) -> None:
    assert one(con, "SELECT count(*) FROM assignments WHERE context_type <> 'Course'") == 0
    assert one(con, "SELECT count(*) FROM assignments WHERE context_id NOT IN (SELECT id FROM courses)") == 0


def test_every_foreign_key_resolves(tiny: Institution, con: duckdb.DuckDBPyConnection) -> None:
    assert dangling_references(tiny.store, con) == []


# ---- relationships the marts rely on ------------------------------------------------------------


def test_account_tree_is_deep(con: duckdb.DuckDBPyConnection) -> None:
    depth = one(
        con,
        """WITH RECURSIVE tree(id, depth) AS (
               SELECT id, 0 FROM accounts WHERE parent_account_id IS NULL
               UNION ALL SELECT a.id, t.depth + 1 FROM accounts a JOIN tree t ON a.parent_account_id = t.id)
           SELECT max(depth) FROM tree""",
    )
    assert depth >= 3


def test_terms_include_default_past_current_future(con: duckdb.DuckDBPyConnection, tiny: Institution) -> None:
    start = tiny.store.start
    assert one(con, "SELECT count(*) FROM enrollment_terms WHERE name = 'Default Term' AND start_at IS NULL") == 1
    assert one(con, "SELECT count(*) FROM enrollment_terms WHERE end_at < ?", start) >= 1
    assert one(con, "SELECT count(*) FROM enrollment_terms WHERE start_at <= ? AND end_at > ?", start, start) == 1
    assert one(con, "SELECT count(*) FROM enrollment_terms WHERE start_at > ?", start) >= 1


def test_course_mix(con: duckdb.DuckDBPyConnection) -> None:
    states = {row[0] for row in con.execute("SELECT DISTINCT workflow_state FROM courses").fetchall()}
    assert {"available", "completed", "claimed", "deleted"} <= states
    assert one(con, "SELECT count(*) FROM courses WHERE template") >= 1
    assert one(con, "SELECT count(*) FROM master_courses_master_templates") >= 1
    assert one(con, "SELECT count(*) FROM master_courses_child_subscriptions") >= 1
    sandbox = (
        "SELECT count(*) FROM courses c JOIN enrollment_terms t ON t.id = c.enrollment_term_id WHERE t.name = "
        "'Default Term'"
    )
    assert one(con, sandbox) >= 2
    assert (
        one(con, "SELECT count(*) FROM courses WHERE restrict_enrollments_to_course_dates AND conclude_at IS NOT NULL")
        >= 1
    )


def test_cross_listed_sections_carry_their_students(con: duckdb.DuckDBPyConnection) -> None:
    assert one(con, "SELECT count(*) FROM course_sections WHERE nonxlist_course_id IS NOT NULL") >= 1
    assert one(con, "SELECT count(*) FROM course_sections WHERE nonxlist_course_id = course_id") == 0
    hosted = """SELECT count(*) FROM enrollments e JOIN course_sections s ON s.id = e.course_section_id
                WHERE s.nonxlist_course_id IS NOT NULL AND e.course_id = s.course_id"""
    assert one(con, hosted) >= 1
    assert one(con, "SELECT count(*) FROM enrollments e JOIN course_sections s ON s.id = e.course_section_id "
                    "WHERE e.course_id <> s.course_id") == 0  # fmt: skip


def test_enrollment_types_states_and_roles(con: duckdb.DuckDBPyConnection) -> None:
    types = {row[0] for row in con.execute("SELECT DISTINCT type FROM enrollments").fetchall()}
    assert types == {"StudentEnrollment", "TeacherEnrollment", "TaEnrollment", "DesignerEnrollment",
                     "ObserverEnrollment", "StudentViewEnrollment"}  # fmt: skip
    states = {row[0] for row in con.execute("SELECT DISTINCT workflow_state FROM enrollments").fetchall()}
    assert states == {"active", "invited", "creation_pending", "inactive", "completed", "deleted", "rejected"}
    assert (
        one(con, "SELECT count(*) FROM enrollments WHERE type = 'ObserverEnrollment' AND associated_user_id IS NULL")
        == 0
    )
    custom = "SELECT count(*) FROM enrollments e JOIN roles r ON r.id = e.role_id WHERE r.name <> r.base_role_type"
    assert one(con, custom) >= 1
    mismatched = """SELECT count(*) FROM enrollments e JOIN roles r ON r.id = e.role_id
                    WHERE r.base_role_type <> CASE e.type WHEN 'StudentViewEnrollment' THEN 'StudentEnrollment' ELSE
                        e.type END"""
    assert one(con, mismatched) == 0
    multi = (
        "SELECT count(*) FROM (SELECT user_id, course_id FROM enrollments WHERE type = 'StudentEnrollment' GROUP BY "
        "ALL HAVING count(*) > 1)"
    )
    assert one(con, multi) >= 1


def test_soft_concluded_enrollments(con: duckdb.DuckDBPyConnection) -> None:
    soft = """SELECT count(*) FROM enrollments e JOIN enrollment_states s ON s.enrollment_id = e.id
              WHERE e.workflow_state = 'active' AND s.state = 'completed'"""
    assert one(con, soft) >= 1
    assert (
        one(con, "SELECT count(*) FROM enrollments WHERE id NOT IN (SELECT enrollment_id FROM enrollment_states)") == 0
    )


def test_test_students_and_their_submissions(tiny: Institution, con: duckdb.DuckDBPyConnection) -> None:
    test_ids = tiny.store.extra["test_student_user_ids"]
    assert test_ids
    listed = ", ".join(str(i) for i in test_ids)
    assert one(con, f"SELECT count(*) FROM users WHERE id IN ({listed}) AND name = 'Test Student'") == len(test_ids)
    assert one(con, f"SELECT count(*) FROM submissions WHERE user_id IN ({listed})") >= 1
    assert one(con, f"SELECT count(*) FROM pseudonyms WHERE user_id IN ({listed})") == 0
    assert one(con, f"SELECT count(*) FROM web_logs WHERE user_id IN ({listed}) AND real_user_id IS NOT NULL") >= 1


def test_logins_and_merged_users(con: duckdb.DuckDBPyConnection) -> None:
    assert one(con, "SELECT count(*) FROM pseudonyms WHERE is_inst_id") >= 1
    # some users' latest sign-in is on their Inst ID login (the marts must leave it out)
    inst_latest = """
        SELECT count(*) FROM pseudonyms i WHERE i.is_inst_id AND i.current_login_at > (
            SELECT max(greatest(p.current_login_at, p.last_login_at)) FROM pseudonyms p
            WHERE p.user_id = i.user_id AND p.is_inst_id IS DISTINCT FROM true)"""
    assert one(con, inst_latest) >= 1
    assert one(con, "SELECT count(*) FROM pseudonyms WHERE is_inst_id IS NULL") >= 1
    assert one(con, "SELECT count(*) FROM (SELECT user_id FROM pseudonyms GROUP BY 1 HAVING count(*) > 1)") >= 1
    two_sis = (
        "SELECT count(*) FROM (SELECT user_id FROM pseudonyms WHERE sis_user_id IS NOT NULL GROUP BY 1 HAVING "
        "count(DISTINCT sis_user_id) > 1)"
    )
    assert one(con, two_sis) >= 1
    merged = "SELECT count(*) FROM users WHERE merged_into_user_id IS NOT NULL AND workflow_state = 'deleted'"
    assert one(con, merged) >= 1
    assert one(con, "SELECT count(*) FROM enrollments WHERE sis_pseudonym_id IS NOT NULL") >= 1


def test_one_submission_per_student_and_assignment(con: duckdb.DuckDBPyConnection) -> None:
    assert one(con, "SELECT count(*) - count(DISTINCT (assignment_id, user_id)) FROM submissions") == 0
    # every active student of a course has a row for each visible published assignment
    missing_rows = """
        SELECT count(*) FROM assignments a
        JOIN enrollments e ON e.course_id = a.context_id AND e.type = 'StudentEnrollment' AND e.workflow_state =
            'active'
        JOIN courses c ON c.id = a.context_id AND c.workflow_state = 'available'
        WHERE a.workflow_state = 'published' AND NOT a.only_visible_to_overrides
          AND (a.id, e.user_id) NOT IN (SELECT (assignment_id, user_id) FROM submissions)"""
    assert one(con, missing_rows) == 0
    assert one(con, "SELECT count(*) FROM submissions s JOIN assignments a ON a.id = s.assignment_id "
                    "WHERE s.course_id <> a.context_id") == 0  # fmt: skip


def test_cached_due_dates_follow_overrides(con: duckdb.DuckDBPyConnection) -> None:
    overridden = """
        SELECT count(*) FROM submissions s JOIN assignment_override_students os
          ON os.assignment_id = s.assignment_id AND os.user_id = s.user_id AND os.workflow_state = 'active'
        JOIN assignment_overrides o ON o.id = os.assignment_override_id AND o.workflow_state = 'active'
        WHERE s.cached_due_date IS NOT DISTINCT FROM o.due_at"""
    assert one(con, overridden) >= 1
    plain = """
        SELECT count(*) FROM submissions s JOIN assignments a ON a.id = s.assignment_id
        WHERE s.workflow_state <> 'deleted' AND s.cached_due_date IS DISTINCT FROM a.due_at
          AND a.id NOT IN (SELECT assignment_id FROM assignment_overrides)"""
    assert one(con, plain) == 0
    assert one(con, "SELECT count(*) FROM assignments WHERE only_visible_to_overrides") >= 1
    assert one(con, "SELECT count(*) FROM assignment_overrides WHERE set_type = 'CourseSection'") >= 1


def test_submission_outcomes(con: duckdb.DuckDBPyConnection, tiny: Institution) -> None:
    now = tiny.store.now
    states = {row[0] for row in con.execute("SELECT DISTINCT workflow_state FROM submissions").fetchall()}
    assert states == {"unsubmitted", "submitted", "graded", "pending_review", "deleted"}
    assert one(con, "SELECT count(*) FROM submissions WHERE submitted_at > cached_due_date") >= 1
    assert one(con, "SELECT count(*) FROM submissions WHERE submitted_at <= cached_due_date") >= 1
    never = (
        "SELECT count(*) FROM submissions WHERE submitted_at IS NULL AND cached_due_date < ? AND workflow_state = "
        "'unsubmitted'"
    )
    assert one(con, never, now) >= 1
    assert one(con, "SELECT count(*) FROM submissions WHERE excused") >= 1
    statuses = {row[0] for row in con.execute("SELECT DISTINCT late_policy_status FROM submissions").fetchall()}
    assert {"late", "missing", "extended", "none", None} <= statuses
    assert one(con, "SELECT count(*) FROM submissions WHERE seconds_late_override IS NOT NULL") >= 1
    assert one(con, "SELECT count(*) FROM submissions WHERE points_deducted > 0") >= 1
    assert one(con, "SELECT count(*) FROM submissions WHERE custom_grade_status_id IS NOT NULL") >= 1
    assert one(con, EXCLUSIVE_STATUSES_BROKEN) == 0
    assert one(con, "SELECT count(*) FROM submissions WHERE cached_quiz_lti") >= 1
    assert one(con, "SELECT count(*) FROM submissions WHERE group_id IS NOT NULL") >= 1
    assert one(con, "SELECT count(*) FROM submissions WHERE quiz_submission_id IS NOT NULL") >= 1
    assert (
        one(con, "SELECT count(*) FROM submissions WHERE cached_due_date IS NULL AND workflow_state <> 'deleted'") >= 1
    )
    graded = (
        "SELECT count(*) FROM submissions WHERE workflow_state = 'graded' AND (graded_at IS NULL OR grader_id IS NULL)"
    )
    assert one(con, graded) == 0
    assert one(con, "SELECT count(*) FROM submissions WHERE graded_at > ? OR submitted_at > ?", now, now) == 0
    assert one(con, "SELECT count(*) FROM submissions WHERE score IS NOT NULL AND posted_at IS NULL") >= 1


def test_differentiated_and_removed_students_have_deleted_submissions(con: duckdb.DuckDBPyConnection) -> None:
    removed = """SELECT count(*) FROM submissions s JOIN enrollments e ON e.user_id = s.user_id AND e.course_id =
        s.course_id
                 WHERE e.workflow_state IN ('deleted', 'rejected') AND s.workflow_state = 'deleted'"""
    assert one(con, removed) >= 1
    unassigned = """SELECT count(*) FROM submissions s JOIN assignments a ON a.id = s.assignment_id
                    WHERE a.only_visible_to_overrides AND s.workflow_state = 'deleted'"""
    assert one(con, unassigned) >= 1


def test_scores(con: duckdb.DuckDBPyConnection) -> None:
    student_enrollments = (
        "SELECT count(*) FROM enrollments WHERE type IN ('StudentEnrollment', 'StudentViewEnrollment')"
    )
    assert one(con, "SELECT count(*) FROM scores WHERE course_score") == one(con, student_enrollments)
    assert one(con, "SELECT count(*) FROM scores WHERE course_score AND current_score IS NULL") >= 1
    assert one(con, "SELECT count(*) FROM scores WHERE course_score AND current_score IS NOT NULL") >= 1
    assert one(con, "SELECT count(*) FROM scores WHERE NOT course_score AND assignment_group_id IS NOT NULL") >= 1
    assert one(con, "SELECT count(*) FROM scores WHERE grading_period_id IS NOT NULL") >= 1
    assert one(con, "SELECT count(*) FROM scores WHERE override_score IS NOT NULL") >= 1
    assert one(con, "SELECT count(*) FROM scores WHERE unposted_current_score IS DISTINCT FROM current_score") >= 1
    assert one(con, "SELECT count(*) FROM scores WHERE current_score < 0 OR final_score > current_score + 0.01") == 0


def test_content_and_discussions(con: duckdb.DuckDBPyConnection) -> None:
    item_types = {row[0] for row in con.execute(
        "SELECT DISTINCT content_type FROM content_tags WHERE tag_type = 'context_module'").fetchall()}  # fmt: skip
    assert {"Assignment", "WikiPage", "Attachment", "DiscussionTopic", "Quizzes::Quiz", "ContextExternalTool",
            "ExternalUrl"} <= item_types  # fmt: skip
    assert one(con, "SELECT count(*) FROM discussion_topics WHERE type = 'Announcement'") >= 1
    assert one(con, "SELECT count(*) FROM discussion_topics WHERE workflow_state = 'deleted'") >= 1
    assert one(con, "SELECT count(*) FROM discussion_topics WHERE context_type = 'Group'") >= 1
    assert one(con, "SELECT count(*) FROM discussion_entries WHERE parent_id IS NOT NULL") >= 1
    assert one(con, "SELECT count(*) FROM discussion_entries WHERE depth = 3") >= 1
    assert one(con, "SELECT count(*) FROM discussion_entries WHERE workflow_state = 'deleted'") >= 1
    orphan = """SELECT count(*) FROM discussion_entries c JOIN discussion_entries p ON p.id = c.parent_id
                WHERE p.discussion_topic_id <> c.discussion_topic_id"""
    assert one(con, orphan) == 0
    progress = {
        row[0] for row in con.execute("SELECT DISTINCT workflow_state FROM context_module_progressions").fetchall()
    }
    assert {"completed", "started"} <= progress
    assert one(con, "SELECT count(*) FROM quizzes WHERE quiz_type = 'practice_quiz'") >= 1
    assert one(con, "SELECT count(*) FROM learning_outcome_results") >= 1


def test_soft_deletes_in_many_tables(tiny: Institution, con: duckdb.DuckDBPyConnection) -> None:
    with_deleted = []
    for qname in tiny.store.tables():
        schema = tiny.store.schema(qname)
        column = next((c for c in schema.columns if c.name == "workflow_state"), None)
        soft_deletable = column is not None and column.enum is not None and "deleted" in column.enum
        if soft_deletable and one(
            con, f"SELECT count(*) FROM {model_name(schema.qualified_name)} WHERE workflow_state = 'deleted'"
        ):
            with_deleted.append(model_name(schema.qualified_name))
    expected = {"courses", "enrollments", "assignments", "submissions", "discussion_topics", "discussion_entries",
                "wiki_pages", "content_tags", "context_modules", "users", "enrollment_terms"}  # fmt: skip
    assert expected <= set(with_deleted)
    assert len(with_deleted) >= 25


# ---- messiness ----------------------------------------------------------------------------------


def _text_columns(store: Store) -> list[tuple[str, str]]:
    out = []
    for qname in store.tables():
        schema = store.schema(qname)
        out += [
            (model_name(schema.qualified_name), c.name)
            for c in schema.columns
            if c.type == "string" and c.format is None and not c.enum
        ]
    return out


def _gather_text(con: duckdb.DuckDBPyConnection, columns: list[tuple[str, str]], into: str) -> None:
    """One table ``into(v)`` with every value of the given text columns."""
    union = " UNION ALL ".join(f"SELECT {quoted(c)} AS v FROM {t}" for t, c in columns)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {into} AS {union}")


def test_messy_text_is_present(tiny: Institution, con: duckdb.DuckDBPyConnection) -> None:
    _gather_text(con, _text_columns(tiny.store), "all_text")
    for needle in ["\t", "\n", "\r", '"', "'", "\\", ",", "🎉", "日本語", "é"]:
        assert one(con, "SELECT count(*) FROM all_text WHERE contains(v, ?)", needle) > 0, repr(needle)
    assert one(con, "SELECT count(*) FROM all_text WHERE v = ?", "\\N") > 0  # the literal backslash-N
    assert one(con, "SELECT count(*) FROM all_text WHERE suffix(v, ?)", "\\") > 0  # ends with a backslash
    assert one(con, "SELECT count(*) FROM all_text WHERE v = ''") > 0
    assert one(con, "SELECT count(*) FROM all_text WHERE prefix(v, ' ') AND suffix(v, ' ')") > 0


def test_truncation_placeholders_and_unknown_enum_values(tiny: Institution, con: duckdb.DuckDBPyConnection) -> None:
    store = tiny.store
    marker_columns = [
        (model_name(q), c.name) for q in store.tables() for c in store.schema(q).columns if c.truncation_marker
    ]
    _gather_text(con, marker_columns, "marker_text")
    for marker in TRUNCATION_MARKERS:
        assert one(con, "SELECT count(*) FROM marker_text WHERE v = ?", marker) > 0, marker
    _gather_text(con, [(t, c) for t, c in _text_columns(store) if (t, c) not in marker_columns], "plain_text")
    assert one(con, "SELECT count(*) FROM plain_text WHERE list_contains(?, v)", list(TRUNCATION_MARKERS)) == 0
    unknown = 0
    for qname in store.tables():
        schema = store.schema(qname)
        for column in schema.columns:
            if column.enum and ENUM_UNKNOWN in column.enum:
                unknown += int(
                    one(
                        con,
                        f"SELECT count(*) FROM {model_name(schema.qualified_name)} WHERE {quoted(column.name)} = ?",
                        ENUM_UNKNOWN,
                    )
                )
    assert unknown >= 2


def test_local_midnight_deadlines_fall_on_the_next_utc_day(con: duckdb.DuckDBPyConnection) -> None:
    # 23:59 in New York is 03:59 (summer) or 04:59 (winter) UTC the next day
    late_evening = "SELECT count(*) FROM assignments WHERE all_day AND strftime(due_at, '%H:%M') IN ('03:59', '04:59')"
    assert one(con, late_evening) >= 1
    assert one(con, "SELECT count(*) FROM assignments WHERE all_day AND CAST(due_at AS DATE) = all_day_date") == 0


# ---- web_logs -----------------------------------------------------------------------------------


def test_web_logs(tiny: Institution, con: duckdb.DuckDBPyConnection) -> None:
    now = tiny.store.now
    total = one(con, "SELECT count(*) FROM web_logs")
    assert 10_000 <= total <= 40_000
    assert one(con, "SELECT count(*) FROM web_logs WHERE real_user_id IS NOT NULL") >= 1
    assert one(con, "SELECT count(*) FROM web_logs WHERE user_id NOT IN (SELECT id FROM users)") >= 1
    assert one(con, "SELECT count(*) FROM web_logs WHERE contains(remote_ip, ':')") >= 1
    assert one(con, "SELECT count(*) FROM web_logs WHERE NOT contains(remote_ip, ':')") >= 1
    statuses = {row[0] for row in con.execute("SELECT DISTINCT http_status FROM web_logs").fetchall()}
    assert {200, 302, 304, 404, 500} <= statuses
    methods = {row[0] for row in con.execute("SELECT DISTINCT http_method FROM web_logs").fetchall()}
    assert {"GET", "POST", "PUT"} <= methods
    assert one(con, "SELECT count(*) FILTER (WHERE http_method = 'GET') * 1.0 / count(*) FROM web_logs") > 0.7
    assert one(con, "SELECT count(*) FROM web_logs WHERE participated") >= 1
    assert one(con, "SELECT count(*) FROM web_logs WHERE participated AND http_method = 'GET'") == 0
    assert one(con, "SELECT count(*) FROM web_logs WHERE course_id IS NULL") >= 1
    assert one(con, "SELECT count(*) FROM web_logs WHERE contains(url, '/api/v1/')") >= 1
    assert one(con, "SELECT count(*) FROM web_logs WHERE session_id IS NULL") >= 1
    assert one(con, 'SELECT count(*) FROM web_logs WHERE "timestamp" < ?', now - timedelta(days=30)) >= 1
    assert one(con, 'SELECT count(*) FROM web_logs WHERE "timestamp" >= ?', now) == 0
    in_course = (
        "SELECT count(*) FROM web_logs WHERE web_application_context_type = 'Course' AND web_application_context_id "
        "<> course_id"
    )
    assert one(con, in_course) == 0
    url_matches = """SELECT count(*) FROM web_logs WHERE assignment_id IS NOT NULL
                     AND NOT contains(url, CAST(assignment_id AS VARCHAR))"""
    assert one(con, url_matches) == 0


def test_web_log_sessions_are_bursts(con: duckdb.DuckDBPyConnection) -> None:
    gaps = """
        SELECT max(gap), quantile_cont(gap, 0.5) FROM (
            SELECT epoch("timestamp") - epoch(lag("timestamp") OVER (PARTITION BY session_id ORDER BY "timestamp")) AS
                gap
            FROM web_logs WHERE session_id IS NOT NULL)
        WHERE gap IS NOT NULL"""
    longest, median = con.execute(gaps).fetchall()[0]
    assert longest <= 30 * 60
    assert 1 <= median <= 5 * 60
    per_session = (
        "SELECT count(*) FROM (SELECT session_id FROM web_logs WHERE session_id IS NOT NULL GROUP BY 1 HAVING "
        "count(DISTINCT user_id) > 1)"
    )
    assert one(con, per_session) == 0


def test_enrollment_activity_comes_from_web_logs(con: duckdb.DuckDBPyConnection) -> None:
    assert one(con, "SELECT count(*) FROM enrollments WHERE last_activity_at IS NOT NULL") >= 1
    unbacked = """SELECT count(*) FROM enrollments e WHERE e.last_activity_at IS NOT NULL AND NOT EXISTS (
                      SELECT 1 FROM web_logs w WHERE w.user_id = e.user_id AND w.course_id = e.course_id)"""
    assert one(con, unbacked) == 0


# ---- the cache ----------------------------------------------------------------------------------


def test_default_data_dir_honours_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CD2_SYNTH_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path
    monkeypatch.delenv("CD2_SYNTH_DIR")
    assert default_data_dir().parts[-2:] == (".cache", "synth")


def test_ensure_generated_reuses_only_pristine_complete_stores(tiny: Institution, tmp_path: Path) -> None:
    base = tmp_path / "cache"
    cached = base / f"tiny-seed{SEED}"
    tiny.copy_to(cached)
    stamp = (cached / "manifest.json").stat().st_mtime_ns
    reused = ensure_generated("tiny", SEED, base_dir=base)
    assert reused.root == cached and (cached / "manifest.json").stat().st_mtime_ns == stamp
    assert is_pristine(cached, "tiny", SEED) and not is_pristine(cached, "tiny", SEED + 1)

    reused.advance(1)  # a changed store is no longer reused
    assert not is_pristine(cached, "tiny", SEED)

    other = SEED + 2
    incomplete = base / f"tiny-seed{other}"  # an interrupted generation (no "complete" flag)
    Store.create(incomplete, profile="tiny", seed=other, start=PROFILES["tiny"].start)
    regenerated = ensure_generated("tiny", other, base_dir=base)
    assert regenerated.store.extra["complete"] is True and regenerated.store.seed == other
    stores = sorted(p.name for p in base.iterdir() if not p.name.startswith("."))
    assert stores == sorted([cached.name, incomplete.name])


def test_unknown_profile_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown synthetic profile"):
        generate(tmp_path / "x", "huge", 1)


def test_ip_addresses_are_valid_at_any_scale() -> None:
    """Every generated remote_ip parses as an address. A rare value (1 in 65,536 IPv6 rows) once
    made a group of five hex digits: the official client rejected the large profile's web_logs."""
    import ipaddress

    from extract.synth.rand import Rand
    from extract.synth.rows import ip_address

    expression = ip_address(Rand(seed=1), "wl.ip", "CAST(k AS VARCHAR)", ipv6_share=0.9)
    con = duckdb.connect()
    addresses = [row[0] for row in con.execute(f"SELECT DISTINCT {expression} FROM range(600000) AS t(k)").fetchall()]
    con.close()
    v6 = [a for a in addresses if ":" in a]
    # enough IPv6 rows that each last-group value (1 in 65,535) turns up about 8 times
    assert len(v6) > 500_000 and len(addresses) - len(v6) > 30_000
    invalid = []
    for address in addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            invalid.append(address)
    assert invalid == []
