"""Submissions, quiz submissions, scores and submission comments.

One submission per assigned student and published assignment (test students included), with
``cached_due_date`` = the student's effective due date. Outcomes follow the student's
diligence and the clock: submitted on time, late, early, never (missing once past due),
graded after a teacher-specific delay (quizzes at once, some pending review), resubmitted
after grading, excused, marked missing / late / extended / none by the teacher, zero-graded
when missing, given a custom status. Rows of students no longer assigned (differentiated
assignments), of deleted / rejected enrollments and of deleted assignments are soft-deleted.
Group assignments give all members the group's submission (``group_id``). New Quizzes work
carries ``cached_quiz_lti``.

``scores``: per student enrollment a course row, one row per assignment group and one per
grading period, NULL current scores until something is graded, weighted by group when the
course is, unposted variants, a few override scores.
"""

from __future__ import annotations

from extract.synth.context import GenContext

DIGITAL = ("upload", "text_upload", "text", "url", "quiz", "new_quiz", "lti", "discussion", "media", "annotation")
TEACHER_GRADED = ("paper", "none")


def build(ctx: GenContext) -> None:
    _course_teachers(ctx)
    _pairs(ctx)
    _outcomes(ctx)
    _build_submissions(ctx)
    _build_quiz_submissions(ctx)
    _build_scores(ctx)
    _build_comments(ctx)


def _course_teachers(ctx: GenContext) -> None:
    ctx.sql("""
        CREATE OR REPLACE TABLE h.course_teacher AS
        SELECT course_id, min(user_id) AS teacher_id FROM h.enrollment
        WHERE type IN ('TeacherEnrollment', 'TaEnrollment') GROUP BY course_id
    """)


def _pairs(ctx: GenContext) -> None:
    """Which (assignment, student) pairs get a row, and whether it is soft-deleted."""
    r = ctx.rand
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.sub_pair AS
        WITH live AS (
            SELECT a.assignment_id, a.user_id, a.due_at, a.student_state, a.is_test,
                   a.student_state IN ('deleted', 'rejected') OR NOT a.assigned AS dead
            FROM h.assigned a
            -- a student never assigned has no row; one that was assigned before has a deleted one
            WHERE a.assigned OR {r.chance(0.5, "sub.was_assigned", "a.assignment_id", "a.user_id")}
        ), dropped_assignment AS (
            SELECT x.id, sc.user_id, x.due_at, sc.state, sc.is_test, true
            FROM h.assignment x JOIN h.student_course sc ON sc.course_id = x.course_id
            WHERE x.state = 'deleted' AND x.course_kind IN ('current', 'past') AND
                {r.chance(0.3, "sub.was_published", "x.id")}
        )
        SELECT p.*, x.course_id, x.kind, x.points, x.grading_type, x.course_kind, x.group_category_id,
               ma.unlock_at, ma.lock_at, ma.created_at AS a_created, ma.omit_from_final_grade AS omit,
               sc.diligence, sc.fade_at, gm.group_id, c.late_policy, c.post_manually OR pp.post_manually AS
                   post_manually,
               c.term_end, ct.teacher_id,
               -- group work is decided once per group
               coalesce(gm.group_id, p.user_id) AS draw_key,
               CASE WHEN gm.group_id IS NOT NULL THEN 0.3 + 0.7 * {r.u("sub.group_diligence", "gm.group_id")}
                    WHEN p.is_test THEN 0.1 ELSE sc.diligence END AS effort
        FROM (SELECT * FROM live UNION ALL SELECT * FROM dropped_assignment) AS p(assignment_id, user_id, due_at,
              student_state, is_test, dead)
        JOIN h.assignment x ON x.id = p.assignment_id
        JOIN m.assignments ma ON ma.id = p.assignment_id
        JOIN h.course c ON c.id = x.course_id
        JOIN h.student_course sc ON sc.user_id = p.user_id AND sc.course_id = x.course_id
        LEFT JOIN h.course_teacher ct ON ct.course_id = x.course_id
        LEFT JOIN h.group_member gm ON gm.user_id = p.user_id AND gm.category_id = x.group_category_id
        LEFT JOIN m.post_policies pp ON pp.assignment_id = p.assignment_id
    """)


def _outcomes(ctx: GenContext) -> None:
    """Submission times, grading, teacher flags and the derived tardiness, as of the start time."""
    r, now = ctx.rand, ctx.now
    key = ("sp.assignment_id", "sp.draw_key")
    u = lambda tag: r.u(tag, *key)  # noqa: E731
    uu = lambda tag: r.u(tag, "sp.assignment_id", "sp.user_id")  # noqa: E731
    earliest = "greatest(sp.a_created, coalesce(sp.unlock_at, sp.a_created)) + INTERVAL 1 HOUR"
    digital = "(" + ", ".join(f"'{k}'" for k in DIGITAL) + ")"
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.sub AS
        WITH drawn AS (
            SELECT sp.*, {u("sub.outcome")} AS u_out, {u("sub.time")} AS u_time, {u("sub.perf")} AS u_perf,
                   {uu("sub.flag")} AS u_flag, {r.u("sub.grader_speed", "sp.assignment_id")} AS u_speed,
                   0.35 + 0.6 * sp.effort AS p_submit
            FROM h.sub_pair sp
        ), timed AS (
            SELECT d.*, CASE
                WHEN d.dead OR d.kind NOT IN {digital} THEN NULL
                WHEN d.due_at IS NULL THEN CASE WHEN d.u_out < d.p_submit * 0.7
                    THEN {r.ts_between("d.a_created", now, "sub.undated", "d.assignment_id", "d.draw_key")} END
                WHEN d.due_at <= {now} THEN CASE
                    WHEN d.u_out < d.p_submit * 0.82 THEN greatest(d.due_at - to_milliseconds(CAST(d.u_time * d.u_time
                        * 259200000 AS BIGINT)),
                                                                  least({earliest.replace("sp.", "d.")}, d.due_at -
                                                                      INTERVAL 1 MINUTE))
                    WHEN d.u_out < d.p_submit THEN d.due_at + INTERVAL 1 MINUTE
                         + to_milliseconds(CAST(d.u_time * least(epoch_ms({now}) - epoch_ms(d.due_at) - 120000,
                             432000000) AS BIGINT))
                    END
                WHEN d.due_at - {now} < INTERVAL 7 DAY AND d.u_out < d.p_submit * 0.3 THEN
                    greatest({now} - to_milliseconds(CAST(d.u_time * 259200000 AS BIGINT)),
                        {earliest.replace("sp.", "d.")})
                END AS raw_submitted_at
            FROM drawn d
        ), gated AS (  -- nothing after the lock date, after the student faded out, or in the future
            SELECT t.*, CASE WHEN t.raw_submitted_at IS NULL OR t.raw_submitted_at >= {now}
                                  OR t.raw_submitted_at > t.lock_at OR t.raw_submitted_at > t.fade_at THEN NULL
                             ELSE t.raw_submitted_at END AS submitted_at
            FROM timed t
        ), graded AS (
            SELECT g.*,
                CASE WHEN g.submitted_at IS NULL THEN NULL
                     WHEN g.kind IN ('quiz', 'new_quiz') THEN g.submitted_at + INTERVAL 2 MINUTE
                     ELSE g.submitted_at + to_milliseconds(CAST((21600000 + g.u_speed * 777600000) * (0.5 + g.u_perf)
                         AS BIGINT))
                END AS grade_time,
                -- teacher-entered grades for on-paper / no-submission work once it is due
                g.kind IN ('paper', 'none') AND NOT g.dead AND g.due_at < {now} - INTERVAL 2 DAY AND g.u_out < 0.7 AS
                    paper_graded,
                least(1.05, greatest(0.0, 0.45 + 0.5 * g.effort + (g.u_perf - 0.5) * 0.4)) AS perf
            FROM gated g
        ), flagged AS (
            SELECT x.*,
                NOT x.dead AND x.u_flag < 0.03 AS excused,
                NOT x.dead AND x.u_flag BETWEEN 0.03 AND 0.04 AS custom_status,
                NOT x.dead AND x.kind IN ('text', 'upload', 'text_upload') AND x.u_flag BETWEEN 0.04 AND 0.07 AS
                    resubmits,
                x.submitted_at IS NULL AND x.due_at < {now} AND x.kind IN {digital} AND NOT x.dead AS
                    past_due_unsubmitted,
                x.submitted_at > x.due_at AS is_late_raw
            FROM graded x
        )
        SELECT f.*,
            CASE WHEN f.dead THEN NULL
                 WHEN f.past_due_unsubmitted AND f.u_flag BETWEEN 0.10 AND 0.22 THEN 'missing'
                 WHEN (f.past_due_unsubmitted OR f.is_late_raw) AND f.u_flag BETWEEN 0.22 AND 0.25 THEN 'extended'
                 WHEN f.submitted_at IS NOT NULL AND NOT f.is_late_raw AND f.u_flag BETWEEN 0.25 AND 0.27 THEN 'late'
                 WHEN f.is_late_raw AND f.u_flag BETWEEN 0.27 AND 0.30 THEN 'none'
            END AS late_policy_status,
            -- teachers put a zero on some missing work
            f.past_due_unsubmitted AND f.u_flag BETWEEN 0.35 AND 0.6 AND f.course_kind IN ('past', 'current')
                AND f.due_at < {now} - INTERVAL 3 DAY AS zero_graded
        FROM flagged f
    """)
    # final states and grades
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.sub AS
        WITH s AS (
            SELECT x.*,
                CASE WHEN x.course_kind = 'past' AND x.grade_time IS NOT NULL THEN least(x.grade_time, x.term_end,
                    {now} - INTERVAL 1 HOUR)
                     WHEN x.grade_time < {now} THEN x.grade_time
                     WHEN x.paper_graded THEN least(x.due_at + INTERVAL 1 DAY, {now} - INTERVAL 1 HOUR)
                     WHEN x.zero_graded THEN least(x.due_at + INTERVAL 3 DAY, {now} - INTERVAL 1 HOUR)
                     WHEN x.excused OR x.custom_status THEN least(coalesce(x.due_at, {now}), {now} - INTERVAL 2 HOUR)
                END AS graded_at_raw
            FROM h.sub x
        ), g AS (
            SELECT s.*,
                s.graded_at_raw IS NOT NULL AND s.kind <> 'not_graded' AND s.grading_type <> 'not_graded' AS is_graded,
                s.kind = 'quiz' AND s.submitted_at IS NOT NULL AND s.u_perf > 0.9 AND s.course_kind <> 'past' AS
                    pending_review,
                CASE WHEN s.is_late_raw AND s.late_policy_status IS NULL AND s.late_policy
                     THEN least(s.points, round(s.points * 0.1 * ceil((epoch(s.submitted_at) - epoch(s.due_at)) /
                         86400.0) * 2) / 2)
                     ELSE 0 END AS deduction
            FROM s
        )
        SELECT g.*,
            CASE WHEN g.dead THEN 'deleted'
                 WHEN g.pending_review THEN 'pending_review'
                 WHEN g.resubmits AND g.is_graded AND g.submitted_at IS NOT NULL THEN 'submitted'
                 WHEN g.is_graded THEN 'graded'
                 WHEN g.submitted_at IS NOT NULL THEN 'submitted'
                 ELSE 'unsubmitted' END AS state,
            CASE WHEN NOT g.is_graded OR g.excused OR g.pending_review THEN NULL
                 WHEN g.zero_graded OR g.points IS NULL THEN 0.0
                 WHEN g.custom_status THEN NULL
                 ELSE greatest(0.0, round(g.points * g.perf * 2) / 2 - g.deduction) END AS score
        FROM g
    """)


def _grade_text(score: str, points: str, grading_type: str) -> str:
    pct = f"(100.0 * {score} / nullif({points}, 0))"
    return f"""CASE WHEN {score} IS NULL THEN NULL
        WHEN {grading_type} = 'pass_fail' THEN CASE WHEN {pct} >= 60 OR {points} = 0 THEN 'complete' ELSE 'incomplete'
            END
        WHEN {grading_type} = 'percent' THEN CAST(round(coalesce({pct}, 0), 2) AS VARCHAR) || '%'
        WHEN {grading_type} = 'letter_grade' THEN CASE WHEN {pct} >= 94 THEN 'A' WHEN {pct} >= 90 THEN 'A-'
            WHEN {pct} >= 87 THEN 'B+' WHEN {pct} >= 84 THEN 'B' WHEN {pct} >= 80 THEN 'B-' WHEN {pct} >= 77 THEN 'C+'
            WHEN {pct} >= 74 THEN 'C' WHEN {pct} >= 64 THEN 'D' ELSE 'F' END
        WHEN {grading_type} = 'gpa_scale' THEN CAST(round(coalesce({pct}, 0) / 25.0, 1) AS VARCHAR)
        ELSE CAST({score} AS VARCHAR) END"""


def _build_submissions(ctx: GenContext) -> None:
    r, now = ctx.rand, ctx.now
    k = "src.assignment_id, src.user_id"
    submission_type = """CASE src.kind
        WHEN 'upload' THEN 'online_upload' WHEN 'text' THEN 'online_text_entry'
        WHEN 'text_upload' THEN CASE WHEN src.u_time < 0.5 THEN 'online_text_entry' ELSE 'online_upload' END
        WHEN 'url' THEN 'online_url' WHEN 'quiz' THEN 'online_quiz' WHEN 'new_quiz' THEN 'basic_lti_launch'
        WHEN 'lti' THEN 'basic_lti_launch' WHEN 'discussion' THEN 'discussion_topic'
        WHEN 'media' THEN 'media_recording' WHEN 'annotation' THEN 'student_annotation' END"""
    resubmitted = (
        f"src.graded_at_raw + to_milliseconds(CAST({r.u('sub.resub', k)} * greatest(epoch_ms({now}) - "
        "epoch_ms(src.graded_at_raw), 0) AS BIGINT))"
    )
    submitted_at = (
        f"CASE WHEN src.state = 'submitted' AND src.resubmits AND src.is_graded THEN {resubmitted} ELSE "
        "src.submitted_at END"
    )
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.sub_final AS
        SELECT {ctx.base("submissions")} + row_number() OVER (ORDER BY s.assignment_id, s.user_id) - 1 AS id, s.*,
               CASE WHEN s.submitted_at IS NOT NULL AND ({submission_type.replace("src.", "s.")}) = 'online_upload'
                    THEN {ctx.base("attachments")} + 1000000 + row_number() OVER (ORDER BY s.assignment_id, s.user_id)
                        END AS upload_id,
               (SELECT gp.id FROM m.grading_periods gp JOIN h.course c ON c.id = s.course_id
                JOIN h.term t ON t.id = c.term_id AND t.grading_period_group_id = gp.grading_period_group_id
                WHERE gp.workflow_state = 'active' AND coalesce(s.due_at, s.a_created) >= gp.start_date
                  AND coalesce(s.due_at, s.a_created) < gp.end_date) AS grading_period_id
        FROM h.sub s
    """)
    digital = "(" + ", ".join(f"'{kind}'" for kind in DIGITAL) + ")"
    quiz_pad = "CASE WHEN src.kind = 'quiz' THEN INTERVAL 1 MINUTE ELSE INTERVAL 0 MINUTE END"
    sub_type = f"CASE WHEN src.submitted_at IS NOT NULL THEN {submission_type} END"
    grader = (
        "CASE WHEN src.state IN ('graded', 'submitted') AND src.graded_at_raw IS NOT NULL AND src.is_graded THEN "
        "src.teacher_id END"
    )
    missing = f"""(NOT src.excused AND NOT src.custom_status AND coalesce(src.late_policy_status, '') <> 'extended'
        AND (src.late_policy_status = 'missing' OR (src.due_at IS NOT NULL AND {now} >= src.due_at + {quiz_pad}
             AND src.submitted_at IS NULL AND src.kind IN {digital}
             AND NOT (src.late_policy_status IS NULL AND ({grader}) IS NOT NULL))))"""
    late = f"""(NOT src.excused AND NOT src.custom_status AND (src.late_policy_status = 'late'
        OR (src.late_policy_status IS NULL AND src.submitted_at >= src.due_at + {quiz_pad})))"""
    posted = f"CASE WHEN src.post_manually AND {r.chance(0.5, 'sub.unposted', k)} THEN NULL ELSE src.graded_at_raw END"
    updated = (
        f"least({now} - INTERVAL 1 MINUTE, greatest(src.a_created, coalesce(src.graded_at_raw, src.submitted_at, "
        "src.a_created)))"
    )
    ctx.build(
        "submissions",
        "SELECT * FROM h.sub_final",
        {
            "assignment_id": "src.assignment_id",
            "user_id": "src.user_id",
            "course_id": "src.course_id",
            "workflow_state": "src.state",
            "created_at": "src.a_created",
            "updated_at": updated,
            "submitted_at": submitted_at,
            "submission_type": sub_type,
            "attempt": (
                "CASE WHEN src.submitted_at IS NULL THEN NULL WHEN src.state = 'submitted' AND src.resubmits THEN 2 "
                "ELSE 1 END"
            ),
            "cached_due_date": "src.due_at",
            "score": "src.score",
            "grade": _grade_text("src.score", "src.points", "src.grading_type"),
            "published_score": f"CASE WHEN ({posted}) IS NOT NULL THEN src.score END",
            "published_grade": (
                f"CASE WHEN ({posted}) IS NOT NULL THEN {_grade_text('src.score', 'src.points', 'src.grading_type')} "
                "END"
            ),
            "graded_at": "CASE WHEN src.is_graded AND NOT src.dead THEN src.graded_at_raw END",
            "grader_id": grader,
            "posted_at": f"CASE WHEN src.is_graded AND NOT src.dead THEN {posted} END",
            "grade_matches_current_submission": (
                "CASE WHEN src.state = 'submitted' AND src.resubmits THEN false WHEN src.submitted_at IS NOT NULL OR "
                "src.is_graded THEN true END"
            ),
            "excused": "CASE WHEN src.excused THEN true WHEN src.u_flag < 0.5 THEN false END",
            "custom_grade_status_id": (
                f"CASE WHEN src.custom_status THEN CAST(1 + {r.h('sub.custom', k)} % 3 AS BIGINT) END"
            ),
            "late_policy_status": "src.late_policy_status",
            "seconds_late_override": (
                f"CASE WHEN src.late_policy_status = 'late' THEN CAST(3600 * (1 + {r.h('sub.late_s', k)} % 48) AS "
                "BIGINT) END"
            ),
            "points_deducted": "CASE WHEN src.deduction > 0 AND src.is_graded THEN src.deduction END",
            "cached_tardiness": (
                f"CASE WHEN src.dead THEN NULL WHEN {missing} THEN 'missing' WHEN {late} THEN 'late' END"
            ),
            "cached_quiz_lti": "src.kind = 'new_quiz'",
            "group_id": "CASE WHEN src.group_category_id IS NOT NULL THEN src.group_id END",
            "grading_period_id": "src.grading_period_id",
            "quiz_submission_id": "NULL",  # linked below, once quiz submissions exist
            "attachment_id": "NULL",
            "attachment_ids": "CASE WHEN src.upload_id IS NOT NULL THEN CAST(src.upload_id AS VARCHAR) END",
            "body": f"""CASE WHEN src.submitted_at IS NULL OR src.kind NOT IN ('text', 'text_upload') OR src.u_time >=
                0.5 AND src.kind = 'text_upload' THEN NULL
                WHEN src.id % 211 = 17 OR {r.chance(0.01, "sub.body_marker", k)} THEN
                    syn_marker({r.h("sub.body_mk", k)})
                WHEN {r.chance(0.05, "sub.body_messy", k)} THEN syn_messy({r.h("sub.body_m", k)})
                ELSE syn_html({r.h("sub.body", k)}, 3) END""",
            "url": (
                "CASE WHEN src.submitted_at IS NOT NULL AND src.kind = 'url' THEN 'https://' || "
                f"syn_word({r.h('sub.url', k)}) || '.example.org/portfolio/' || CAST(src.user_id AS VARCHAR) END"
            ),
            "media_comment_id": (
                "CASE WHEN src.submitted_at IS NOT NULL AND src.kind = 'media' THEN 'm-' || "
                f"{r.token(20, 'sub.media', k)} END"
            ),
            "media_comment_type": (
                "CASE WHEN src.submitted_at IS NOT NULL AND src.kind = 'media' THEN "
                f"{r.pick(['video', 'audio', 'video/webm', 'audio/mpeg'], 'sub.media_t', k)} END"
            ),
            "media_object_id": "NULL",
            "lti_user_id": (
                f"CASE WHEN src.kind IN ('new_quiz', 'lti') THEN {r.token(40, 'sub.lti_user', 'src.user_id')} END"
            ),
            "resource_link_lookup_uuid": (
                f"CASE WHEN src.kind IN ('new_quiz', 'lti') THEN {r.uuid('sub.rl', 'src.assignment_id')} END"
            ),
            "anonymous_id": f"substr({r.token(8, 'sub.anon', k)}, 1, 5)",
            "processed": "CASE WHEN src.submitted_at IS NOT NULL THEN true END",
            "graded_anonymously": "CASE WHEN src.is_graded THEN false END",
            "student_entered_score": "NULL",
            "extra_attempts": "NULL",
            "turnitin_data": "CASE WHEN src.submitted_at IS NOT NULL AND src.kind = 'upload' THEN '{}' END",
            "redo_request": f"coalesce(src.past_due_unsubmitted AND {r.chance(0.02, 'sub.redo', k)}, false)",
            "submission_comments_count": "NULL",
            "last_comment_at": "NULL",
        },
    )


def _build_quiz_submissions(ctx: GenContext) -> None:
    """Finished attempts for submitted classic quizzes, plus a few untaken / preview ones."""
    r, now = ctx.rand, ctx.now
    ctx.build(
        "quiz_submissions",
        f"""
        WITH taken AS (
            SELECT s.id AS submission_id, s.user_id, q.id AS quiz_id, s.submitted_at, s.score, s.workflow_state AS
                sub_state,
                   q.points_possible, 'taken' AS kind
            FROM m.submissions s JOIN m.quizzes q ON q.assignment_id = s.assignment_id
            WHERE s.submission_type = 'online_quiz'
        ), untaken AS (  -- opened but never finished
            SELECT s.id, s.user_id, q.id, NULL::TIMESTAMP, NULL::DOUBLE, s.workflow_state, q.points_possible, 'untaken'
            FROM m.submissions s JOIN m.quizzes q ON q.assignment_id = s.assignment_id
            WHERE s.workflow_state = 'unsubmitted' AND {r.chance(0.05, "qs.untaken", "s.id")}
        )
        SELECT {ctx.base("quiz_submissions")} + row_number() OVER (ORDER BY submission_id) - 1 AS id, *
        FROM (SELECT * FROM taken UNION ALL SELECT * FROM untaken)
        """,
        {
            "submission_id": "src.submission_id",
            "user_id": "src.user_id",
            "quiz_id": "src.quiz_id",
            "workflow_state": (
                "CASE WHEN src.kind = 'untaken' THEN 'untaken' WHEN src.sub_state = 'pending_review' THEN "
                "'pending_review' ELSE 'complete' END"
            ),
            "started_at": f"coalesce(src.submitted_at - INTERVAL 25 MINUTE, {now} - INTERVAL 2 DAY)",
            "finished_at": "src.submitted_at",
            "end_at": "CASE WHEN src.submitted_at IS NOT NULL THEN src.submitted_at + INTERVAL 35 MINUTE END",
            "score": "src.score",
            "kept_score": "src.score",
            "fudge_points": "0.0",
            "quiz_points_possible": "src.points_possible",
            "attempt": "1",
            "quiz_version": "1",
            "extra_attempts": "NULL",
            "extra_time": "NULL",
            "temporary_user_code": "NULL",
            "was_preview": "false",
            "manually_unlocked": "NULL",
            "manually_scored": "src.sub_state = 'pending_review'",
            "score_before_regrade": "NULL",
            "has_seen_results": "src.submitted_at IS NOT NULL",
            "submission_data": """CASE WHEN src.submitted_at IS NOT NULL
                THEN '[{"question_id": 1, "correct": true, "points": 1.0}]' END""",
            "created_at": f"coalesce(src.submitted_at - INTERVAL 25 MINUTE, {now} - INTERVAL 2 DAY)",
            "updated_at": f"coalesce(src.submitted_at, {now} - INTERVAL 2 DAY)",
        },
    )
    ctx.sql("""
        UPDATE m.submissions s SET quiz_submission_id = q.id FROM m.quiz_submissions q
        WHERE q.submission_id = s.id AND q.workflow_state <> 'untaken'
    """)


def _build_scores(ctx: GenContext) -> None:
    """Course, assignment-group and grading-period scores per student enrollment."""
    r, now = ctx.rand, ctx.now
    ctx.sql("""
        CREATE OR REPLACE TABLE h.score_input AS
        SELECT s.user_id, s.course_id, a.assignment_group_id, s.grading_period_id,
               CAST(a.points_possible AS DOUBLE) AS points, s.score, s.workflow_state, s.posted_at IS NOT NULL AS
                   posted,
               coalesce(s.excused, false) AS excused, s.graded_at
        FROM m.submissions s JOIN m.assignments a ON a.id = s.assignment_id
        JOIN m.assignment_groups g ON g.id = a.assignment_group_id
        WHERE s.workflow_state <> 'deleted' AND a.workflow_state = 'published' AND a.points_possible > 0
          AND NOT a.omit_from_final_grade AND g.workflow_state <> 'deleted'
    """)
    ctx.sql(score_rollup_sql("h.score_input", "h.score_value"))
    ctx.build(
        "scores",
        f"""
        WITH enr AS (
            SELECT e.id AS enrollment_id, e.user_id, e.course_id, e.workflow_state, e.created_at FROM m.enrollments e
            WHERE e.type IN ('StudentEnrollment', 'StudentViewEnrollment')
        ), rows AS (
            SELECT e.*, 0 AS kind, NULL::BIGINT AS assignment_group_id, NULL::BIGINT AS grading_period_id FROM enr e
            UNION ALL
            SELECT e.*, 1, g.id, NULL FROM enr e JOIN m.assignment_groups g ON g.context_id = e.course_id
            WHERE g.workflow_state <> 'deleted'
            UNION ALL
            SELECT e.*, 2, NULL, gp.id FROM enr e JOIN h.course c ON c.id = e.course_id
            JOIN h.term t ON t.id = c.term_id JOIN m.grading_periods gp ON gp.grading_period_group_id =
                t.grading_period_group_id
            WHERE gp.workflow_state = 'active'
        )
        SELECT {ctx.base("scores")} + row_number() OVER (ORDER BY r.enrollment_id, r.kind, r.assignment_group_id,
            r.grading_period_id) - 1 AS id,
               r.*, v.current_score, v.final_score, v.unposted_current_score, v.unposted_final_score, v.current_points,
               v.unposted_current_points, v.final_points, v.unposted_final_points, v.last_graded_at
        FROM rows r LEFT JOIN h.score_value v ON v.user_id = r.user_id AND v.course_id = r.course_id AND v.kind = r.kind
             AND v.assignment_group_id IS NOT DISTINCT FROM r.assignment_group_id
             AND v.grading_period_id IS NOT DISTINCT FROM r.grading_period_id
        """,
        {
            "enrollment_id": "src.enrollment_id",
            "assignment_group_id": "src.assignment_group_id",
            "grading_period_id": "src.grading_period_id",
            "course_score": "src.kind = 0",
            "workflow_state": "CASE WHEN src.workflow_state = 'deleted' THEN 'deleted' ELSE 'active' END",
            "current_score": "src.current_score",
            "final_score": "src.final_score",
            "unposted_current_score": "src.unposted_current_score",
            "unposted_final_score": "src.unposted_final_score",
            "current_points": "src.current_points",
            "unposted_current_points": "src.unposted_current_points",
            "final_points": "src.final_points",
            "unposted_final_points": "src.unposted_final_points",
            "override_score": (
                "CASE WHEN src.kind = 0 AND src.current_score IS NOT NULL AND "
                f"{r.chance(0.03, 'score.override', 'src.enrollment_id')} THEN least(100.0, round(src.current_score) + "
                "2) END"
            ),
            "created_at": "src.created_at",
            "updated_at": f"least({now}, greatest(src.created_at, coalesce(src.last_graded_at, src.created_at)))",
        },
    )


def score_rollup_sql(
    source: str, target: str, *, groups: str = "m.assignment_groups", courses: str = "m.courses"
) -> str:
    """Canvas-style score rollups from per-submission facts (also used when advancing).

    ``source`` has user_id, course_id, assignment_group_id, grading_period_id, points, score,
    workflow_state, posted, excused, graded_at. ``current`` counts graded work only, ``final``
    counts ungraded work as zero, ``unposted`` includes grades students cannot see yet. Group
    weights (when the course uses them) combine the group percentages of the course row.
    """
    return f"""
        CREATE OR REPLACE TABLE {target} AS
        WITH facts AS (
            SELECT *, score IS NOT NULL AND workflow_state IN ('graded', 'submitted', 'pending_review') AS has_grade
            FROM {source} WHERE NOT excused
        ), by_group AS (
            SELECT user_id, course_id, assignment_group_id,
                   sum(score) FILTER (WHERE has_grade AND posted) AS cur_pts,
                   sum(points) FILTER (WHERE has_grade AND posted) AS cur_pos,
                   sum(score) FILTER (WHERE has_grade) AS un_pts,
                   sum(points) FILTER (WHERE has_grade) AS un_pos,
                   sum(points) AS all_pos, max(graded_at) AS last_graded_at
            FROM facts GROUP BY ALL
        ), by_period AS (
            SELECT user_id, course_id, grading_period_id,
                   sum(score) FILTER (WHERE has_grade AND posted) AS cur_pts,
                   sum(points) FILTER (WHERE has_grade AND posted) AS cur_pos,
                   sum(score) FILTER (WHERE has_grade) AS un_pts,
                   sum(points) FILTER (WHERE has_grade) AS un_pos,
                   sum(points) AS all_pos, max(graded_at) AS last_graded_at
            FROM facts WHERE grading_period_id IS NOT NULL GROUP BY ALL
        ), weighted AS (  -- exact decimal sums, so the parallel summation order cannot change the result
            SELECT b.user_id, b.course_id,
                   sum(CAST(g.group_weight * b.cur_pts / b.cur_pos AS DECIMAL(18, 8))) FILTER (WHERE b.cur_pos > 0)
                       / nullif(sum(CAST(g.group_weight AS DECIMAL(18, 8))) FILTER (WHERE b.cur_pos > 0), 0) AS w_cur,
                   sum(CAST(g.group_weight * b.un_pts / b.un_pos AS DECIMAL(18, 8))) FILTER (WHERE b.un_pos > 0)
                       / nullif(sum(CAST(g.group_weight AS DECIMAL(18, 8))) FILTER (WHERE b.un_pos > 0), 0) AS w_un,
                   sum(CAST(g.group_weight * coalesce(b.cur_pts, 0) / b.all_pos AS DECIMAL(18, 8))) FILTER (WHERE
                       b.all_pos > 0)
                       / nullif(sum(CAST(g.group_weight AS DECIMAL(18, 8))) FILTER (WHERE b.all_pos > 0), 0) AS w_fin,
                   sum(CAST(g.group_weight * coalesce(b.un_pts, 0) / b.all_pos AS DECIMAL(18, 8))) FILTER (WHERE
                       b.all_pos > 0)
                       / nullif(sum(CAST(g.group_weight AS DECIMAL(18, 8))) FILTER (WHERE b.all_pos > 0), 0) AS w_unfin
            FROM by_group b JOIN {groups} g ON g.id = b.assignment_group_id
            JOIN {courses} c ON c.id = b.course_id
            WHERE c.group_weighting_scheme = 'percent' AND g.group_weight > 0
            GROUP BY ALL
        ), course AS (
            SELECT user_id, course_id, sum(cur_pts) AS cur_pts, sum(cur_pos) AS cur_pos, sum(un_pts) AS un_pts,
                   sum(un_pos) AS un_pos, sum(all_pos) AS all_pos, max(last_graded_at) AS last_graded_at
            FROM by_group GROUP BY ALL
        ), shaped AS (
            SELECT c.user_id, c.course_id, 0 AS kind, NULL::BIGINT AS assignment_group_id, NULL::BIGINT AS
                grading_period_id,
                   coalesce(100 * CAST(w.w_cur AS DOUBLE), 100 * c.cur_pts / nullif(c.cur_pos, 0)) AS current_score,
                   coalesce(100 * CAST(w.w_fin AS DOUBLE), 100 * coalesce(c.cur_pts, 0) / nullif(c.all_pos, 0)) AS
                       final_score,
                   coalesce(100 * CAST(w.w_un AS DOUBLE), 100 * c.un_pts / nullif(c.un_pos, 0)) AS
                       unposted_current_score,
                   coalesce(100 * CAST(w.w_unfin AS DOUBLE), 100 * coalesce(c.un_pts, 0) / nullif(c.all_pos, 0)) AS
                       unposted_final_score,
                   c.cur_pts, c.un_pts, c.last_graded_at
            FROM course c LEFT JOIN weighted w USING (user_id, course_id)
            UNION ALL
            SELECT user_id, course_id, 1, assignment_group_id, NULL, 100 * cur_pts / nullif(cur_pos, 0),
                   100 * coalesce(cur_pts, 0) / nullif(all_pos, 0), 100 * un_pts / nullif(un_pos, 0),
                   100 * coalesce(un_pts, 0) / nullif(all_pos, 0), cur_pts, un_pts, last_graded_at
            FROM by_group
            UNION ALL
            SELECT user_id, course_id, 2, NULL, grading_period_id, 100 * cur_pts / nullif(cur_pos, 0),
                   100 * coalesce(cur_pts, 0) / nullif(all_pos, 0), 100 * un_pts / nullif(un_pos, 0),
                   100 * coalesce(un_pts, 0) / nullif(all_pos, 0), cur_pts, un_pts, last_graded_at
            FROM by_period
        )
        SELECT user_id, course_id, kind, assignment_group_id, grading_period_id,
               round(current_score, 2) AS current_score, round(final_score, 2) AS final_score,
               round(unposted_current_score, 2) AS unposted_current_score,
               round(unposted_final_score, 2) AS unposted_final_score,
               round(cur_pts, 2) AS current_points, round(un_pts, 2) AS unposted_current_points,
               round(coalesce(cur_pts, 0), 2) AS final_points, round(coalesce(un_pts, 0), 2) AS unposted_final_points,
               last_graded_at
        FROM shaped
    """


def _build_comments(ctx: GenContext) -> None:
    """Feedback on graded work, student questions, drafts, hidden and group comments."""
    r, now = ctx.rand, ctx.now
    ctx.build(
        "submission_comments",
        f"""
        WITH teacher AS (
            SELECT s.id AS submission_id, s.course_id, s.grader_id AS author_id, s.graded_at AS commented_at, 0 AS n,
                   s.group_id, s.attempt
            FROM m.submissions s WHERE s.grader_id IS NOT NULL AND s.graded_at IS NOT NULL
              AND {r.chance(0.3, "sc.teacher", "s.id")}
        ), student AS (
            SELECT s.id, s.course_id, s.user_id, s.submitted_at + INTERVAL 5 MINUTE, 1, s.group_id, s.attempt
            FROM m.submissions s WHERE s.submitted_at IS NOT NULL AND {r.chance(0.06, "sc.student", "s.id")}
        )
        SELECT {ctx.base("submission_comments")} + row_number() OVER (ORDER BY submission_id, n) - 1 AS id, *
        FROM (SELECT * FROM teacher UNION ALL SELECT * FROM student) WHERE commented_at < {now}
        """,
        {
            "submission_id": "src.submission_id",
            "context_id": "src.course_id",
            "context_type": "'Course'",
            "author_id": "src.author_id",
            "author_name": "(SELECT short_name FROM m.users u WHERE u.id = src.author_id)",
            "comment": f"""CASE WHEN src.id % 97 = 3 THEN syn_marker({r.h("sc.mk", "src.id")})
                WHEN {r.chance(0.06, "sc.messy", "src.id")} THEN syn_messy({r.h("sc.m", "src.id")})
                WHEN src.n = 0 THEN (['Great work!', 'See rubric for details.', 'Please revise the second section.',
                    'Nice analysis, but cite your sources.', 'Good effort 👍'])[1 + src.id % 5]
                ELSE syn_sentence({r.h("sc.q", "src.id")}, 8) END""",
            "attempt": "src.attempt",
            "hidden": f"src.n = 0 AND {r.chance(0.03, 'sc.hidden', 'src.id')}",
            "draft": f"src.n = 0 AND {r.chance(0.03, 'sc.draft', 'src.id')}",
            "teacher_only_comment": "false",
            "anonymous": "false",
            "group_comment_id": (
                f"CASE WHEN src.group_id IS NOT NULL THEN {r.token(20, 'sc.group', 'src.submission_id')} END"
            ),
            "media_comment_id": (
                f"CASE WHEN {r.chance(0.02, 'sc.media', 'src.id')} THEN 'm-' || {r.token(20, 'sc.mid', 'src.id')} END"
            ),
            "media_comment_type": f"CASE WHEN {r.chance(0.02, 'sc.media', 'src.id')} THEN 'video' END",
            "attachment_ids": "NULL",
            "assessment_request_id": "NULL",
            "provisional_grade_id": "NULL",
            "edited_at": "NULL",
            "created_at": "src.commented_at",
            "updated_at": "src.commented_at",
        },
    )
    ctx.sql("""
        UPDATE m.submissions s SET submission_comments_count = c.n, last_comment_at = c.last_at
        FROM (SELECT submission_id, count(*) AS n, max(created_at) AS last_at FROM m.submission_comments
              WHERE NOT draft GROUP BY ALL) c
        WHERE c.submission_id = s.id
    """)
