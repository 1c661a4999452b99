"""Assignment groups, assignments, classic quizzes, overrides and post policies.

Assignments come in kinds (``ASSIGNMENT_KINDS``) that fix ``submission_types``: uploads, text,
URLs, classic quizzes (``online_quiz`` + a ``quizzes`` row), New Quizzes (an ``external_tool``
assignment; submissions carry ``cached_quiz_lti``), other LTI tools, graded discussions,
on-paper and no-submission work, media, not-graded. Due dates are local 23:59 (mostly) in the
institution's zone, stored in UTC; some are missing. Most are published; some unpublished or
soft-deleted. A few are only visible to overrides (differentiated), some are group assignments.

Overrides: section overrides in multi-section courses, ADHOC overrides (student extensions,
with ``assignment_override_students``), a group override, a ``Noop`` one, some deleted.
``h.assigned`` then resolves each student's effective due date (latest applicable active
override, else the assignment's own date unless only visible to overrides): that is what
``submissions.cached_due_date`` holds.
"""

from __future__ import annotations

from extract.synth.context import GenContext
from extract.synth.sqlutil import values_source

# kind, submission_types, weight (of 100)
ASSIGNMENT_KINDS: list[tuple[str, list[str], int]] = [
    ("upload", ["online_upload"], 24),
    ("text_upload", ["online_text_entry", "online_upload"], 15),
    ("text", ["online_text_entry"], 10),
    ("url", ["online_url"], 4),
    ("quiz", ["online_quiz"], 14),
    ("new_quiz", ["external_tool"], 5),
    ("lti", ["external_tool"], 3),
    ("discussion", ["discussion_topic"], 8),
    ("paper", ["on_paper"], 5),
    ("none", ["none"], 4),
    ("media", ["media_recording", "online_upload"], 3),
    ("not_graded", ["not_graded"], 3),
    ("annotation", ["student_annotation"], 1),
    ("wiki", ["wiki_page"], 1),
]
GROUP_NAMES = ["Assignments", "Quizzes", "Exams", "Participation"]
FORCED_KINDS = ["upload", "quiz", "new_quiz", "discussion", "paper", "text"]
GROUP_WEIGHTS = {1: [100.0], 2: [60.0, 40.0], 3: [40.0, 30.0, 30.0], 4: [30.0, 25.0, 35.0, 10.0]}


def build(ctx: GenContext) -> None:
    _build_assignment_groups(ctx)
    _assignment_plan(ctx)
    _build_assignments(ctx)
    _build_quizzes(ctx)
    _build_overrides(ctx)
    _resolve_due_dates(ctx)
    _build_post_policies(ctx)


def _build_assignment_groups(ctx: GenContext) -> None:
    r, start = ctx.rand, ctx.now
    weights = values_source(
        ["n", "gi", "weight"], [(n, gi, w) for n, ws in GROUP_WEIGHTS.items() for gi, w in enumerate(ws)]
    )
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.agroup AS
        WITH sized AS (
            SELECT c.*, CAST(CASE WHEN c.kind IN ('sandbox', 'template') THEN 1
                                  ELSE 2 + {r.h("ag.n", "c.id")} % 3 END AS INTEGER) AS n_groups
            FROM h.course c
        )
        SELECT {ctx.base("assignment_groups")} + row_number() OVER (ORDER BY s.id, w.gi) - 1 AS id,
               s.id AS course_id, w.gi, s.n_groups, CASE WHEN s.weighted THEN w.weight ELSE 0.0 END AS weight,
               false AS dead, s.term_start
        FROM sized s JOIN ({weights}) w ON w.n = s.n_groups
    """)
    ctx.sql(f"""
        INSERT INTO h.agroup
        SELECT {ctx.base("assignment_groups")} + 900000 + row_number() OVER (ORDER BY id) - 1, id, 9, 0, 0.0, true,
            term_start
        FROM h.course WHERE kind IN ('current', 'past') AND {r.chance(0.08, "ag.dead", "id")}
    """)
    names = "(" + "[" + ", ".join(f"'{n}'" for n in GROUP_NAMES) + "])"
    ctx.build(
        "assignment_groups",
        "SELECT * FROM h.agroup",
        {
            "name": f"CASE WHEN src.dead THEN 'Old Group' ELSE {names}[src.gi + 1] END",
            "context_id": "src.course_id",
            "context_type": "'Course'",
            "workflow_state": "CASE WHEN src.dead THEN 'deleted' ELSE 'available' END",
            "group_weight": "src.weight",
            "position": "src.gi + 1",
            "default_assignment_name": f"CASE WHEN src.dead THEN NULL ELSE rtrim({names}[src.gi + 1], 's') END",
            "rules": f"""CASE WHEN src.gi = 1 AND {r.chance(0.3, "ag.rules", "src.course_id")}
                THEN struct_pack(drop_highest := NULL::INTEGER, drop_lowest := 1, never_drop := []::INTEGER[]) END""",
            "migration_id": "NULL",
            "sis_source_id": "NULL",
            "created_at": f"least(coalesce(src.term_start, {start}) - INTERVAL 25 DAY, {start} - INTERVAL 2 DAY)",
            "updated_at": f"least(coalesce(src.term_start, {start}) - INTERVAL 20 DAY, {start} - INTERVAL 1 DAY)",
        },
    )


def _assignment_plan(ctx: GenContext) -> None:
    r, p, start = ctx.rand, ctx.profile, ctx.now
    slots, lo = [], 0
    for kind, types, weight in ASSIGNMENT_KINDS:
        slots.append((kind, "|".join(types), lo, lo + weight))
        lo += weight
    kinds = values_source(["kind", "types", "lo", "hi"], slots)
    n_assign = f"""CAST(CASE
        WHEN c.kind IN ('current', 'past', 'manual') THEN greatest(CASE WHEN c.id = (SELECT min(id) FROM h.course
            WHERE kind = 'current')
            THEN {len(FORCED_KINDS) + 2} ELSE 3 END, round({p.assignments_per_course} * (0.6 + 0.8 *
                {r.u("a.n", "c.id")})))
        WHEN c.kind = 'blueprint' THEN greatest(2, {p.assignments_per_course} // 2)
        ELSE 2 END AS INTEGER)"""
    u = lambda tag: r.u(tag, "x.id")  # noqa: E731
    # the first current course shows every kind of work a mart must handle, whatever the seed
    forced = " ".join(
        f"WHEN x.j = {j} THEN {next(lo for k, _, lo, _ in slots if k == kind)}" for j, kind in enumerate(FORCED_KINDS)
    )
    first_current = "(SELECT min(id) FROM h.course WHERE kind = 'current')"
    slot = (
        f"CASE WHEN x.course_id = {first_current} THEN CASE {forced} ELSE {r.h('a.kind', 'x.id')} % 100 END ELSE "
        f"{r.h('a.kind', 'x.id')} % 100 END"
    )
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.assignment AS
        WITH per_course AS (
            SELECT c.id AS course_id, c.kind AS course_kind, c.workflow_state AS course_state, c.term_start,
                   coalesce(mc.start_at, c.term_start, {start} - INTERVAL 60 DAY) AS p_start,
                   coalesce(mc.conclude_at, c.term_end, {start} + INTERVAL 60 DAY) AS p_end,
                   {n_assign} AS n
            FROM h.course c JOIN m.courses mc ON mc.id = c.id
        ), slots AS (
            SELECT pc.*, CAST(unnest(range(pc.n)) AS INTEGER) AS j FROM per_course pc
        ), numbered AS (
            SELECT {ctx.base("assignments")} + row_number() OVER (ORDER BY course_id, j) - 1 AS id, * FROM slots
        ), typed AS (
            SELECT x.*, k.kind, string_split(k.types, '|') AS submission_types,
                   {u("a.u1")} AS u1, {u("a.u2")} AS u2, {u("a.u3")} AS u3, {u("a.u4")} AS u4
            FROM numbered x JOIN ({kinds}) k ON {slot} >= k.lo AND {slot} < k.hi
        )
        SELECT t.*,
               -- local due date spread over the course, at a local time of day (mostly 23:59)
               CASE WHEN t.u1 < 0.08 OR (t.kind = 'none' AND t.u1 < 0.5) THEN NULL ELSE syn_local_to_utc(
                   CAST(CAST(syn_utc_to_local(t.p_start + to_milliseconds(CAST((t.j + 0.5 + (t.u2 - 0.5)) / t.n
                        * (epoch_ms(t.p_end) - epoch_ms(t.p_start)) AS BIGINT))) AS DATE) AS TIMESTAMP)
                   + (['23:59:00', '23:59:00', '23:59:00', '23:59:59', '09:00:00', '17:00:00', '12:00:00'])[1 +
                       CAST({r.h("a.time", "t.id")} % 7 AS BIGINT)]::INTERVAL
               ) END AS due_at,
               CASE WHEN t.kind = 'not_graded' THEN NULL
                    WHEN t.u3 < 0.05 THEN 0.0
                    ELSE ([10.0, 20.0, 25.0, 50.0, 100.0, 5.0, 15.0, 30.0, 12.5])[1 + CAST({r.h("a.points", "t.id")} %
                        9 AS BIGINT)] END AS points,
               CASE WHEN t.kind = 'not_graded' THEN 'not_graded'
                    WHEN t.u4 < 0.78 THEN 'points' WHEN t.u4 < 0.86 THEN 'percent' WHEN t.u4 < 0.92 THEN 'letter_grade'
                    WHEN t.u4 < 0.98 THEN 'pass_fail' ELSE 'gpa_scale' END AS grading_type,
               CASE WHEN t.course_kind IN ('current', 'past', 'manual', 'deleted') THEN
                        CASE WHEN t.u3 > 0.95 THEN 'deleted' WHEN t.u3 > 0.90 THEN 'unpublished'
                             WHEN t.u3 > 0.895 THEN 'failed_to_import' ELSE 'published' END
                    WHEN t.course_kind = 'future' THEN CASE WHEN t.u3 < 0.3 THEN 'published' ELSE 'unpublished' END
                    WHEN t.course_kind IN ('template', 'sandbox') THEN 'unpublished'
                    ELSE 'published' END AS state,
               (SELECT g.id FROM h.agroup g WHERE g.course_id = t.course_id AND NOT g.dead
                AND g.gi = CASE WHEN t.kind IN ('quiz', 'new_quiz') THEN 1 WHEN t.kind IN ('paper', 'none') THEN 2
                                WHEN t.kind = 'discussion' THEN 3 ELSE 0 END % g.n_groups) AS group_id
        FROM typed t
    """)
    # differentiated and group assignments, and the flags later steps need
    ctx.sql(f"""
        ALTER TABLE h.assignment ADD COLUMN only_visible BOOLEAN;
        ALTER TABLE h.assignment ADD COLUMN group_category_id BIGINT;
        UPDATE h.assignment SET only_visible = state = 'published' AND course_kind IN ('current', 'past')
            AND ({r.chance(0.06, "a.only_visible", "id")} OR id = (SELECT min(id) FROM h.assignment
                 WHERE course_kind = 'current' AND state = 'published' AND j >= {len(FORCED_KINDS)}));
        UPDATE h.assignment a SET group_category_id = p.category_id FROM h.group_plan p
        WHERE p.course_id = a.course_id AND p.context_type = 'Course' AND a.kind IN ('upload', 'text_upload')
            AND {r.chance(0.4, "a.group", "a.id")};
    """)


def _build_assignments(ctx: GenContext) -> None:
    r, start = ctx.rand, ctx.now
    title = f"""CASE src.kind
        WHEN 'quiz' THEN 'Quiz ' || CAST(src.j + 1 AS VARCHAR)
        WHEN 'new_quiz' THEN 'Chapter ' || CAST(src.j + 1 AS VARCHAR) || ' Quiz (New Quizzes)'
        WHEN 'paper' THEN (['Midterm Exam', 'In-class Exam', 'Final Exam', 'Lab Practical'])[1 + src.j % 4]
        WHEN 'none' THEN 'Participation Week ' || CAST(src.j + 1 AS VARCHAR)
        WHEN 'discussion' THEN 'Discussion ' || CAST(src.j + 1 AS VARCHAR) || ': ' ||
            syn_cap_word({r.h("a.title_w", "src.id")})
        WHEN 'lti' THEN 'Textbook Activity ' || CAST(src.j + 1 AS VARCHAR)
        ELSE syn_assignment_title({r.h("a.title", "src.id")}, src.j + 1) END"""
    created = f"least(src.p_start - INTERVAL 20 DAY + to_days(CAST(src.j AS INTEGER)), {start} - INTERVAL 1 DAY)"
    due_local = "syn_utc_to_local(src.due_at)"
    ctx.build(
        "assignments",
        "SELECT a.*, c.is_sis FROM h.assignment a JOIN h.course c ON c.id = a.course_id",
        {
            "title": (
                f"CASE WHEN {r.chance(0.03, 'a.title_messy', 'src.id')} THEN syn_messy({r.h('a.title_m', 'src.id')}) "
                f"ELSE {title} END"
            ),
            "context_id": "src.course_id",
            "context_type": "'Course'",
            "workflow_state": "src.state",
            "due_at": "src.due_at",
            "unlock_at": (
                f"CASE WHEN src.due_at IS NOT NULL AND {r.chance(0.4, 'a.unlock', 'src.id')} THEN src.due_at - "
                "INTERVAL 7 DAY END"
            ),
            "lock_at": (
                f"CASE WHEN src.due_at IS NOT NULL AND {r.chance(0.25, 'a.lock', 'src.id')} THEN src.due_at + INTERVAL "
                "3 DAY END"
            ),
            "all_day": f"src.due_at IS NOT NULL AND strftime({due_local}, '%H:%M') = '23:59'",
            "all_day_date": f"CASE WHEN strftime({due_local}, '%H:%M') = '23:59' THEN CAST({due_local} AS DATE) END",
            "points_possible": "src.points",
            "grading_type": "src.grading_type",
            "submission_types": "src.submission_types",
            "assignment_group_id": "src.group_id",
            "position": "src.j + 1",
            "only_visible_to_overrides": "src.only_visible",
            "group_category_id": "src.group_category_id",
            "grade_group_students_individually": (
                f"src.group_category_id IS NOT NULL AND {r.chance(0.2, 'a.indiv', 'src.id')}"
            ),
            "omit_from_final_grade": f"{r.chance(0.03, 'a.omit', 'src.id')}",
            "peer_reviews": f"src.kind IN ('text', 'upload') AND {r.chance(0.08, 'a.peer', 'src.id')}",
            "automatic_peer_reviews": "false",
            "peer_review_count": "0",
            "peer_reviews_assigned": "false",
            "anonymous_peer_reviews": "false",
            "intra_group_peer_reviews": "false",
            "post_to_sis": f"src.is_sis AND {r.chance(0.3, 'a.sis', 'src.id')}",
            "anonymous_grading": f"{r.chance(0.02, 'a.anon', 'src.id')}",
            "graders_anonymous_to_graders": "false",
            "grader_comments_visible_to_graders": "true",
            "grader_names_visible_to_final_grader": "true",
            "moderated_grading": "false",
            "grader_count": "0",
            "final_grader_id": "NULL",
            "grader_section_id": "NULL",
            "duplicate_of_id": "NULL",
            "parent_assignment_id": "NULL",
            "annotatable_attachment_id": "NULL",
            "grading_standard_id": (
                "CASE WHEN src.grading_type = 'letter_grade' THEN "
                f"{ctx.registry.lookup('grading_standards', 'src.course_id')} END"
            ),
            "turnitin_enabled": "false",
            "turnitin_settings": "NULL",
            "vericite_enabled": "false",
            "anonymous_instructor_annotations": "false",
            "freeze_on_copy": "false",
            "could_be_locked": "false",
            "important_dates": f"src.kind = 'paper' AND {r.chance(0.5, 'a.important', 'src.id')}",
            "allowed_attempts": (
                f"CASE WHEN {r.chance(0.2, 'a.attempts', 'src.id')} THEN CAST(1 + {r.h('a.att_n', 'src.id')} % 3 AS "
                "INTEGER) END"
            ),
            "allowed_extensions": (
                f"CASE WHEN src.kind = 'upload' AND {r.chance(0.2, 'a.ext', 'src.id')} THEN 'pdf,docx' END"
            ),
            "submissions_downloads": "0",
            "grades_published_at": "NULL",
            "description": f"""CASE WHEN {r.chance(0.02, "a.desc_marker", "src.id")} THEN
                syn_marker({r.h("a.desc_mk", "src.id")})
                WHEN {r.chance(0.04, "a.desc_messy", "src.id")} THEN syn_messy({r.h("a.desc_m", "src.id")})
                WHEN {r.chance(0.15, "a.desc_null", "src.id")} THEN NULL
                ELSE syn_html({r.h("a.desc", "src.id")}, 2) END""",
            "type": f"CASE WHEN {r.chance(0.3, 'a.type_null', 'src.id')} THEN NULL ELSE 'Assignment' END",
            "has_sub_assignments": f"CASE WHEN {r.chance(0.3, 'a.type_null', 'src.id')} THEN NULL ELSE false END",
            "integration_id": "NULL",
            "sis_source_id": (
                f"CASE WHEN src.is_sis AND {r.chance(0.3, 'a.sis', 'src.id')} THEN 'ASG-' || CAST(src.id AS VARCHAR) "
                "END"
            ),
            "migration_id": "NULL",
            "created_at": created,
            "updated_at": (
                f"least({created} + to_days(CAST({r.h('a.upd', 'src.id')} % 10 AS INTEGER)), {start} - INTERVAL 1 HOUR)"
            ),
            "lti_context_id": r.token(36, "a.lti", "src.id"),
        },
    )


def _build_quizzes(ctx: GenContext) -> None:
    r, start = ctx.rand, ctx.now
    ctx.build(
        "quizzes",
        f"""
        WITH linked AS (
            SELECT a.id AS assignment_id, a.context_id AS course_id, a.title, a.workflow_state AS a_state, a.due_at,
                a.unlock_at,
                   a.lock_at, a.points_possible, a.assignment_group_id, a.created_at, a.only_visible_to_overrides,
                   'assignment' AS quiz_type
            FROM m.assignments a JOIN h.assignment h ON h.id = a.id WHERE h.kind = 'quiz'
        ), practice AS (
            SELECT NULL::BIGINT, c.id, 'Practice Quiz ' || CAST(c.k AS VARCHAR), 'published', NULL::TIMESTAMP,
                   NULL::TIMESTAMP, NULL::TIMESTAMP, 5.0, NULL::BIGINT,
                   least(coalesce(c.term_start, {start}) + INTERVAL 3 DAY, {start} - INTERVAL 1 DAY), false,
                   CASE WHEN {r.chance(0.15, "qz.survey", "c.id")} THEN 'graded_survey' ELSE 'practice_quiz' END
            FROM h.course c WHERE c.kind = 'current' AND {r.chance(0.3, "qz.practice", "c.id")}
        )
        SELECT {ctx.base("quizzes")} + row_number() OVER (ORDER BY course_id, assignment_id NULLS LAST, title) - 1 AS
            id, *
        FROM (SELECT * FROM linked UNION ALL SELECT * FROM practice)
        """,
        {
            "title": "src.title",
            "context_id": "src.course_id",
            "context_type": "'Course'",
            "assignment_id": "src.assignment_id",
            "quiz_type": "src.quiz_type",
            "workflow_state": """CASE src.a_state WHEN 'published' THEN 'available' WHEN 'deleted' THEN 'deleted'
                ELSE 'unpublished' END""",
            "deleted_at": "CASE WHEN src.a_state = 'deleted' THEN src.created_at + INTERVAL 3 DAY END",
            "due_at": "src.due_at",
            "unlock_at": "src.unlock_at",
            "lock_at": "src.lock_at",
            "points_possible": "src.points_possible",
            "assignment_group_id": "src.assignment_group_id",
            "only_visible_to_overrides": "src.only_visible_to_overrides",
            "published_at": "CASE WHEN src.a_state = 'published' THEN src.created_at + INTERVAL 1 DAY END",
            "question_count": f"CAST(5 + {r.h('qz.q', 'src.id')} % 16 AS INTEGER)",
            "unpublished_question_count": "0",
            "time_limit": r.pick([None, None, 30, 45, 60], "qz.limit", "src.id"),
            "allowed_attempts": r.pick([1, 1, 2, -1], "qz.att", "src.id"),
            "scoring_policy": "'keep_highest'",
            "ip_filter": f"CASE WHEN {r.chance(0.03, 'qz.ip', 'src.id')} THEN '10.0.0.0/8' END",
            "access_code": (
                f"CASE WHEN {r.chance(0.03, 'qz.code', 'src.id')} THEN 'exam' || CAST(src.id % 100 AS VARCHAR) END"
            ),
            "created_at": "least(src.created_at, " + start + " - INTERVAL 1 DAY)",
            "updated_at": f"least(src.created_at + INTERVAL 1 DAY, {start} - INTERVAL 1 HOUR)",
            "anonymous_submissions": "false",
            "could_be_locked": "false",
            "require_lockdown_browser": "false",
            "require_lockdown_browser_for_results": "false",
            "require_lockdown_browser_monitor": "false",
        },
    )


def _build_overrides(ctx: GenContext) -> None:
    r, start = ctx.rand, ctx.now
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.override AS
        WITH pub AS (
            SELECT h.*, q.id AS quiz_id FROM h.assignment h LEFT JOIN m.quizzes q ON q.assignment_id = h.id
            WHERE h.state = 'published' AND h.course_kind IN ('current', 'past')
        ), sections AS (
            SELECT p.id AS assignment_id, p.quiz_id, 'CourseSection' AS set_type, ls.id AS set_id,
                   p.due_at + INTERVAL 2 DAY AS due_at
            FROM pub p JOIN h.live_section ls ON ls.course_id = p.course_id AND ls.i >= 1
            WHERE p.due_at IS NOT NULL AND (p.only_visible AND ls.i = 1 OR {r.chance(0.15, "ov.section", "p.id")})
        ), adhoc AS (
            SELECT p.id, p.quiz_id, 'ADHOC', NULL::BIGINT, coalesce(p.due_at, {start}) + INTERVAL 4 DAY
            FROM pub p WHERE {r.chance(0.08, "ov.adhoc", "p.id")} OR p.id = (SELECT min(id) FROM pub)
                OR p.only_visible AND (SELECT count(*) FROM h.live_section ls WHERE ls.course_id = p.course_id) = 1
        ), grp AS (
            SELECT p.id, p.quiz_id, 'Group', (SELECT min(g.id) FROM m.groups g WHERE g.group_category_id =
                p.group_category_id
                                               AND g.workflow_state = 'available'),
                   p.due_at + INTERVAL 1 DAY
            FROM pub p WHERE p.group_category_id IS NOT NULL AND p.due_at IS NOT NULL AND
                {r.chance(0.3, "ov.group", "p.id")}
        ), noop AS (
            SELECT p.id, p.quiz_id, 'Noop', NULL::BIGINT, NULL::TIMESTAMP FROM pub p WHERE
                {r.chance(0.01, "ov.noop", "p.id")}
        )
        SELECT {ctx.base("assignment_overrides")} + row_number() OVER (ORDER BY assignment_id, set_type, set_id) - 1
            AS id, *,
               set_type <> 'Noop' AND NOT {r.chance(0.05, "ov.dead", "assignment_id", "set_type")} AS live
        FROM (SELECT * FROM sections UNION ALL SELECT * FROM adhoc UNION ALL SELECT * FROM grp UNION ALL SELECT * FROM
            noop)
        WHERE set_type <> 'Group' OR set_id IS NOT NULL
    """)
    # ADHOC overrides name one or two students (about 40% of the class when that is all the assignment has)
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.override_student AS
        SELECT o.id AS override_id, o.assignment_id, o.quiz_id, sc.user_id, o.live
        FROM h.override o JOIN h.assignment a ON a.id = o.assignment_id
        JOIN h.student_course sc ON sc.course_id = a.course_id AND NOT sc.is_test
        WHERE o.set_type = 'ADHOC' AND CASE WHEN a.only_visible THEN {r.chance(0.4, "ovs.share", "o.id", "sc.user_id")}
              ELSE {r.h("ovs.pick", "o.id", "sc.user_id")} % greatest(1, (SELECT count(*) FROM h.student_course x
                   WHERE x.course_id = a.course_id) // 2) = 0 END
    """)
    ctx.build(
        "assignment_overrides",
        """SELECT o.*, a.created_at AS a_created,
                   (SELECT count(*) FROM h.override_student s WHERE s.override_id = o.id) AS n_students,
                   (SELECT name FROM m.course_sections s WHERE s.id = o.set_id AND o.set_type = 'CourseSection') AS
                       section_name
            FROM h.override o JOIN m.assignments a ON a.id = o.assignment_id""",
        {
            "assignment_id": "src.assignment_id",
            "quiz_id": "src.quiz_id",
            "set_type": "src.set_type",
            "set_id": "src.set_id",
            "workflow_state": "CASE WHEN src.live OR src.set_type = 'Noop' THEN 'active' ELSE 'deleted' END",
            "due_at": "src.due_at",
            "due_at_overridden": "src.due_at IS NOT NULL",
            "unlock_at": "NULL",
            "unlock_at_overridden": "false",
            "lock_at": "NULL",
            "lock_at_overridden": "false",
            "all_day": "src.due_at IS NOT NULL AND strftime(syn_utc_to_local(src.due_at), '%H:%M') = '23:59'",
            "all_day_date": "CAST(syn_utc_to_local(src.due_at) AS DATE)",
            "title": """CASE src.set_type WHEN 'CourseSection' THEN coalesce(src.section_name, 'Section')
                WHEN 'ADHOC' THEN CAST(src.n_students AS VARCHAR) || CASE WHEN src.n_students = 1 THEN ' student' ELSE
                    ' students' END
                WHEN 'Group' THEN 'Project Group 1' ELSE 'Mastery Paths' END""",
            "assignment_version": "1",
            "quiz_version": "CASE WHEN src.quiz_id IS NOT NULL THEN 1 END",
            "created_at": f"least(src.a_created + INTERVAL 1 DAY, {start} - INTERVAL 1 HOUR)",
            "updated_at": f"least(src.a_created + INTERVAL 2 DAY, {start} - INTERVAL 1 HOUR)",
        },
    )
    ctx.build(
        "assignment_override_students",
        f"""SELECT {ctx.base("assignment_override_students")} + row_number() OVER (ORDER BY override_id, user_id) - 1
            AS id, *
            FROM h.override_student""",
        {
            "user_id": "src.user_id",
            "assignment_id": "src.assignment_id",
            "quiz_id": "src.quiz_id",
            "assignment_override_id": "src.override_id",
            "workflow_state": "CASE WHEN src.live THEN 'active' ELSE 'deleted' END",
            "created_at": f"{start} - INTERVAL 30 DAY",
            "updated_at": f"{start} - INTERVAL 29 DAY",
        },
    )


def _resolve_due_dates(ctx: GenContext) -> None:
    """Per student: the latest applicable active override, else the assignment's date (if visible)."""
    ctx.sql("""
        CREATE OR REPLACE TABLE h.assigned AS
        WITH pairs AS (
            SELECT a.id AS assignment_id, a.course_id, a.due_at AS base_due, a.only_visible, sc.user_id,
                   sc.section_ids, sc.state AS student_state, sc.is_test
            FROM h.assignment a JOIN h.student_course sc ON sc.course_id = a.course_id
            WHERE a.state = 'published'
        ), applicable AS (
            SELECT p.assignment_id, p.user_id, o.due_at FROM pairs p
            JOIN h.override o ON o.assignment_id = p.assignment_id AND o.live AND o.set_type = 'CourseSection'
                 AND list_contains(p.section_ids, o.set_id)
            UNION ALL
            SELECT s.assignment_id, s.user_id, o.due_at FROM h.override_student s
            JOIN h.override o ON o.id = s.override_id WHERE o.live
            UNION ALL
            SELECT o.assignment_id, gm.user_id, o.due_at FROM h.override o
            JOIN h.group_member gm ON gm.group_id = o.set_id WHERE o.live AND o.set_type = 'Group'
        ), best AS (
            SELECT assignment_id, user_id, max(due_at) AS due_at, count(*) AS n FROM applicable GROUP BY ALL
        )
        SELECT p.*, b.n IS NOT NULL AS has_override,
               CASE WHEN b.n IS NOT NULL THEN b.due_at ELSE p.base_due END AS due_at,
               b.n IS NOT NULL OR NOT p.only_visible AS assigned
        FROM pairs p LEFT JOIN best b ON b.assignment_id = p.assignment_id AND b.user_id = p.user_id
    """)


def _build_post_policies(ctx: GenContext) -> None:
    r, start = ctx.rand, ctx.now
    ctx.build(
        "post_policies",
        f"""
        WITH rows AS (
            SELECT id AS course_id, NULL::BIGINT AS assignment_id, post_manually FROM h.course WHERE kind <> 'template'
            UNION ALL
            SELECT a.course_id, a.id, true FROM h.assignment a
            WHERE a.state = 'published' AND {r.chance(0.08, "pp.manual", "a.id")}
        )
        SELECT {ctx.base("post_policies")} + row_number() OVER (ORDER BY course_id, assignment_id NULLS FIRST) - 1 AS
            id, *
        FROM rows
        """,
        {
            "course_id": "src.course_id",
            "assignment_id": "src.assignment_id",
            "post_manually": "src.post_manually",
            "created_at": f"{start} - INTERVAL 90 DAY",
            "updated_at": f"{start} - INTERVAL 80 DAY",
        },
    )
