"""Coursework in the window: assignments, submissions, quiz attempts, files, comments, scores.

* assignments: some unpublished ones get published, teachers add a few new ones (with a module
  item), one due date is pushed back (and the students' ``cached_due_date`` with it);
* submissions: rows appear for newly published / new assignments and new students; students
  submit (more as the due date nears, some late), quizzes grade themselves, teachers grade
  (after their own delay), release manually posted grades, mark work missing, put in zeros,
  excuse; unsubmitted work whose due date passes becomes ``cached_tardiness = 'missing'``;
* uploads get an attachment, classic quiz attempts a quiz_submission, some gradings a comment;
* scores are recomputed for every student whose submissions changed, and created for new
  enrollments.
"""

from __future__ import annotations

from extract.synth.advance.step import Step
from extract.synth.base.grading import score_rollup_sql

NEW_ASSIGNMENT_TYPES = [["online_upload"], ["online_text_entry"], ["online_text_entry", "online_upload"]]
NOT_DIGITAL = "('none', 'not_graded', 'on_paper', 'wiki_page', 'external_tool')"
ASSIGNMENT_DEFAULTS = {
    "submissions_downloads": "0", "peer_review_count": "0", "peer_reviews_assigned": "false", "peer_reviews": "false",
    "automatic_peer_reviews": "false", "could_be_locked": "false", "grade_group_students_individually": "false",
    "anonymous_peer_reviews": "false", "turnitin_enabled": "false", "freeze_on_copy": "false",
    "only_visible_to_overrides": "false", "post_to_sis": "false", "moderated_grading": "false",
    "omit_from_final_grade": "false", "intra_group_peer_reviews": "false", "vericite_enabled": "false",
    "anonymous_instructor_annotations": "false", "anonymous_grading": "false", "graders_anonymous_to_graders": "false",
    "grader_count": "0", "grader_comments_visible_to_graders": "true", "grader_names_visible_to_final_grader": "true",
    "important_dates": "false", "context_type": "'Course'", "type": "'Assignment'", "has_sub_assignments": "false",
}  # fmt: skip


def produce(step: Step) -> None:
    _publish(step)
    _new_assignments(step)
    _push_due_dates(step)
    _new_submissions(step)
    _submission_activity(step)
    _scores(step)


def _is_digital(types: str, quiz_lti: str = "false") -> str:
    return f"(len(list_filter({types}, lambda x: x NOT IN {NOT_DIGITAL})) > 0 OR {quiz_lti})"


def _publish(step: Step) -> None:
    step.sql(f"""
        CREATE OR REPLACE TABLE adv.published AS
        SELECT a.id, a.context_id AS course_id, {step.event("asg.publish_at", "a.id")} AS event_at
        FROM cur.assignments a JOIN adv.course c ON c.course_id = a.context_id
        WHERE a.workflow_state = 'unpublished' AND (a.due_at IS NULL OR a.due_at > {step.hi_sql})
          AND {step.chance(1 / 150, "asg.publish", "a.id")}
    """)
    step.changes.upsert(
        "assignments",
        "SELECT id, event_at FROM adv.published",
        {"workflow_state": "'published'", "updated_at": "src.event_at"},
    )
    step.changes.upsert(
        "quizzes",
        "SELECT q.id, p.event_at FROM cur.quizzes q JOIN adv.published p ON p.id = q.assignment_id",
        {"workflow_state": "'available'", "published_at": "src.event_at", "updated_at": "src.event_at"},
    )


def _new_assignments(step: Step) -> None:
    r = step.rand
    n_courses = int(step.scalar("SELECT count(*) FROM adv.course") or 0)
    n = max(1 if step.hours >= 2 and n_courses else 0, round(step.hours * n_courses * 0.003))
    base = step.next_id("assignments")
    step.sql(f"""
        CREATE OR REPLACE TABLE adv.new_assignment AS
        WITH courses AS (SELECT course_id, row_number() OVER (ORDER BY course_id) - 1 AS i FROM adv.course)
        SELECT {base} + t.j AS id, c.course_id, {step.event("asg.new_at", f"{base} + t.j")} AS event_at,
               syn_local_to_utc(CAST(CAST(syn_utc_to_local({step.hi_sql}) AS DATE)
                   + CAST(7 + {r.h("asg.new_due", "t.j")} % 8 AS INTEGER) AS TIMESTAMP) + INTERVAL '23:59:00') AS
                       due_at,
               (SELECT min(g.id) FROM cur.assignment_groups g WHERE g.context_id = c.course_id AND g.workflow_state <>
                   'deleted') AS group_id,
               (SELECT max(m.id) FROM cur.context_modules m WHERE m.context_id = c.course_id AND m.workflow_state =
                   'active') AS module_id,
               (SELECT count(*) FROM cur.assignments a WHERE a.context_id = c.course_id) + 1 AS position,
               {r.pick(NEW_ASSIGNMENT_TYPES, "asg.new_types", "t.j")} AS types
        FROM range({n}) AS t(j) JOIN courses c ON c.i = {r.index(max(n_courses, 1), "asg.new_course", "t.j")}
    """)
    step.changes.insert(
        "assignments",
        "SELECT * FROM adv.new_assignment",
        {
            **ASSIGNMENT_DEFAULTS,
            "title": (
                "'Homework ' || CAST(src.position AS VARCHAR) || ': ' || "
                f"syn_cap_word({r.h('asg.new_title', 'src.id')})"
            ),
            "description": f"syn_html({r.h('asg.new_desc', 'src.id')}, 2)",
            "context_id": "src.course_id",
            "workflow_state": "'published'",
            "due_at": "src.due_at",
            "all_day": "true",
            "all_day_date": "CAST(syn_utc_to_local(src.due_at) AS DATE)",
            "points_possible": r.pick([10.0, 20.0, 25.0, 50.0], "asg.new_points", "src.id"),
            "grading_type": "'points'",
            "submission_types": "src.types",
            "assignment_group_id": "src.group_id",
            "position": "CAST(src.position AS INTEGER)",
            "lti_context_id": r.token(36, "a.lti", "src.id"),
            "created_at": "src.event_at",
            "updated_at": "src.event_at",
        },
    )
    tag0 = step.next_id("content_tags")
    step.changes.insert(
        "content_tags",
        f"""SELECT {tag0} + row_number() OVER (ORDER BY a.id) - 1 AS id, a.id AS assignment_id, a.course_id,
            a.module_id,
                   a.event_at + INTERVAL 1 SECOND AS event_at, a.position
            FROM adv.new_assignment a WHERE a.module_id IS NOT NULL""",
        {
            "context_type": "'Course'",
            "context_id": "src.course_id",
            "content_type": "'Assignment'",
            "content_id": "src.assignment_id",
            "tag_type": "'context_module'",
            "context_module_id": "src.module_id",
            "title": "(SELECT title FROM chg.assignments x WHERE x.id = src.assignment_id)",
            "workflow_state": "'active'",
            "position": "CAST(src.position AS INTEGER)",
            "created_at": "src.event_at",
            "updated_at": "src.event_at",
        },
    )


def _push_due_dates(step: Step) -> None:
    """A teacher gives everyone two more days (assignments without overrides only)."""
    candidates = f"""
        SELECT a.id, a.due_at FROM cur.assignments a JOIN adv.course c ON c.course_id = a.context_id
        WHERE a.workflow_state = 'published' AND a.due_at > {step.hi_sql} AND a.due_at <= {step.hi_sql} + INTERVAL 7 DAY
          AND a.id NOT IN (SELECT assignment_id FROM cur.assignment_overrides WHERE assignment_id IS NOT NULL)
    """
    n = min(1, step.quota(0.01, int(step.scalar(f"SELECT count(*) FROM ({candidates})") or 0)))
    step.sql(f"""
        CREATE OR REPLACE TABLE adv.pushed AS
        SELECT id, due_at AS old_due, due_at + INTERVAL 2 DAY AS new_due, {step.event("asg.push_at", "id")} AS event_at
        FROM ({candidates}) ORDER BY {step.rand.h("asg.push", "id")}, id LIMIT {n}
    """)
    step.changes.upsert(
        "assignments",
        "SELECT id, new_due, event_at FROM adv.pushed",
        {
            "due_at": "src.new_due",
            "all_day_date": "CASE WHEN src.all_day THEN CAST(syn_utc_to_local(src.new_due) AS DATE) END",
            "updated_at": "src.event_at",
        },
    )
    step.changes.upsert(
        "submissions",
        """SELECT s.id, p.new_due, p.event_at FROM cur.submissions s JOIN adv.pushed p ON p.id = s.assignment_id
           WHERE s.cached_due_date = p.old_due AND s.workflow_state <> 'deleted'""",
        {"cached_due_date": "src.new_due", "updated_at": "src.event_at"},
    )


def _new_submissions(step: Step) -> None:
    """Rows for every student of a newly published or new assignment, and for new students."""
    base = step.next_id("submissions")
    post_assignments = step.changes.post_state("assignments")
    step.sql(f"""
        CREATE OR REPLACE TABLE adv.new_submission AS
        WITH fresh_assignments AS (
            SELECT a.id, a.context_id AS course_id, a.due_at, a.submission_types, x.event_at
            FROM ({post_assignments}) a
            JOIN (SELECT id, event_at FROM adv.published UNION ALL SELECT id, event_at FROM adv.new_assignment) x ON
                x.id = a.id
            WHERE NOT a.only_visible_to_overrides
        ), pairs AS (
            SELECT f.id AS assignment_id, s.user_id, f.course_id, f.due_at, f.submission_types,
                   f.event_at + INTERVAL 1 SECOND AS event_at
            FROM fresh_assignments f JOIN adv.student s ON s.course_id = f.course_id
            UNION ALL
            SELECT a.id, n.user_id, n.course_id, a.due_at, a.submission_types, n.event_at + INTERVAL 1 SECOND
            FROM adv.new_enrollment n JOIN ({post_assignments}) a ON a.context_id = n.course_id
            WHERE a.workflow_state = 'published' AND NOT a.only_visible_to_overrides
        ), fresh AS (
            SELECT * FROM pairs
            WHERE (assignment_id, user_id) NOT IN (SELECT (assignment_id, user_id) FROM cur.submissions)
            QUALIFY row_number() OVER (PARTITION BY assignment_id, user_id ORDER BY event_at, due_at NULLS FIRST,
                course_id) = 1
        )
        SELECT {base} + row_number() OVER (ORDER BY assignment_id, user_id) - 1 AS id, f.*,
               coalesce((SELECT bool_or(x.cached_quiz_lti) FROM cur.submissions x WHERE x.assignment_id =
                   f.assignment_id), false) AS quiz_lti
        FROM fresh f
    """)
    step.changes.insert(
        "submissions",
        "SELECT * FROM adv.new_submission",
        {
            "assignment_id": "src.assignment_id",
            "user_id": "src.user_id",
            "course_id": "src.course_id",
            "workflow_state": "'unsubmitted'",
            "cached_due_date": "src.due_at",
            "cached_quiz_lti": "src.quiz_lti",
            "cached_tardiness": (
                f"CASE WHEN src.due_at < src.event_at AND {_is_digital('src.submission_types', 'src.quiz_lti')} THEN "
                "'missing' END"
            ),
            "redo_request": "false",
            "anonymous_id": f"substr({step.rand.token(8, 'sub.anon', 'src.assignment_id', 'src.user_id')}, 1, 5)",
            "created_at": "src.event_at",
            "updated_at": "src.event_at",
        },
    )


def _submission_activity(step: Step) -> None:
    r, hi, lo = step.rand, step.hi_sql, step.lo_sql
    hours_to_due = f"((epoch(s.cached_due_date) - epoch({lo})) / 3600.0)"
    submit_rate = f"""CASE
        WHEN s.cached_due_date IS NULL THEN 0.002 * st.diligence
        WHEN s.cached_due_date <= {lo} THEN 0.004 * st.diligence
        WHEN s.cached_due_date <= {lo} + INTERVAL 7 DAY THEN (0.35 + 0.6 * st.diligence) / greatest(12.0,
            {hours_to_due})
        ELSE 0 END"""
    k = "s.id"
    step.sql(f"""
        CREATE OR REPLACE TABLE adv.sub_change AS
        WITH live AS (
            SELECT s.*, a.submission_types, a.points_possible, a.grading_type, st.diligence, st.fade_at,
                   coalesce(t.teacher_id, s.grader_id) AS teacher_id,
                   CASE WHEN list_contains(a.submission_types, 'online_quiz') THEN 'quiz'
                        WHEN s.cached_quiz_lti THEN 'new_quiz'
                        WHEN list_contains(a.submission_types, 'external_tool') THEN 'lti'
                        WHEN list_contains(a.submission_types, 'discussion_topic') THEN 'discussion'
                        WHEN list_contains(a.submission_types, 'online_upload') AND list_contains(a.submission_types,
                            'online_text_entry') THEN 'text_upload'
                        WHEN list_contains(a.submission_types, 'online_upload') THEN 'upload'
                        WHEN list_contains(a.submission_types, 'online_text_entry') THEN 'text'
                        WHEN list_contains(a.submission_types, 'online_url') THEN 'url'
                        WHEN list_contains(a.submission_types, 'media_recording') THEN 'media'
                        WHEN list_contains(a.submission_types, 'student_annotation') THEN 'annotation'
                        ELSE 'other' END AS kind,
                   {r.u("sub.adv_speed", "s.assignment_id")} AS u_speed, {r.u("sub.adv_perf", k)} AS u_perf,
                   {step.event("sub.adv_at", k)} AS event_at
            FROM cur.submissions s JOIN cur.assignments a ON a.id = s.assignment_id
            JOIN adv.student st ON st.user_id = s.user_id AND st.course_id = s.course_id
            LEFT JOIN adv.teacher t ON t.course_id = s.course_id
            WHERE a.workflow_state = 'published' AND s.workflow_state <> 'deleted'
              AND s.id NOT IN (SELECT id FROM ({step.changes.staged_keys("submissions")}))
        ), decided AS (
            SELECT s.*, CASE
                WHEN s.workflow_state = 'unsubmitted' AND s.kind <> 'other' AND (s.fade_at IS NULL OR s.fade_at >
                    s.event_at)
                     AND (s.cached_due_date IS NULL OR s.cached_due_date > {lo} OR s.cached_due_date < s.event_at)
                     AND {step.chance(submit_rate.replace("st.diligence", "s.diligence"), "sub.adv_submit", k)}
                    THEN CASE WHEN s.kind IN ('quiz', 'new_quiz') THEN 'autograde' ELSE 'submit' END
                WHEN s.workflow_state = 'submitted' AND s.submitted_at < {lo} - INTERVAL 1 HOUR
                     AND {step.chance("1.0 / (24 + 96 * s.u_speed)", "sub.adv_grade", k)} THEN 'grade'
                WHEN s.workflow_state = 'pending_review' AND {step.chance(1 / 48, "sub.adv_review", k)} THEN 'grade'
                WHEN s.workflow_state = 'graded' AND s.posted_at IS NULL AND s.graded_at IS NOT NULL
                     AND {step.chance(1 / 72, "sub.adv_post", k)} THEN 'post'
                WHEN s.workflow_state = 'unsubmitted' AND s.cached_due_date < {lo} - INTERVAL 2 DAY AND
                    s.late_policy_status IS NULL
                     AND NOT coalesce(s.excused, false) THEN CASE
                        WHEN {step.chance(0.002, "sub.adv_missing", k)} THEN 'mark_missing'
                        WHEN {step.chance(0.002, "sub.adv_zero", k)} THEN 'zero'
                        WHEN {step.chance(0.0005, "sub.adv_excuse", k)} THEN 'excuse'
                        WHEN s.custom_grade_status_id IS NULL AND {step.chance(0.0005, "sub.adv_custom", k)} THEN
                            'custom' END
                WHEN s.workflow_state = 'unsubmitted' AND s.cached_due_date > {lo} AND s.cached_due_date <= {hi}
                     AND s.cached_tardiness IS NULL AND s.kind NOT IN ('other', 'lti') THEN 'now_missing'
            END AS change
            FROM live s
        )
        SELECT *, CASE WHEN change = 'now_missing' THEN {step.clamp("cached_due_date + INTERVAL 1 MINUTE")}
                       WHEN change IN ('submit', 'autograde') AND cached_due_date > {lo} AND cached_due_date <= {hi}
                            AND {r.chance(0.8, "sub.adv_on_time", "id")} THEN
                                {step.clamp("cached_due_date - INTERVAL 20 MINUTE")}
                       ELSE event_at END AS changed_at,
               least(1.05, greatest(0.0, 0.45 + 0.5 * diligence + (u_perf - 0.5) * 0.4)) AS perf
        FROM decided WHERE change IS NOT NULL
    """)
    upload0, quiz0 = step.next_id("attachments"), step.next_id("quiz_submissions")
    step.sql("""
        CREATE OR REPLACE TABLE adv.sub_change AS
        SELECT c.*, CASE c.kind WHEN 'upload' THEN 'online_upload' WHEN 'text' THEN 'online_text_entry'
                        WHEN 'text_upload' THEN CASE WHEN c.u_perf < 0.5 THEN 'online_text_entry' ELSE 'online_upload'
                            END
                        WHEN 'url' THEN 'online_url' WHEN 'quiz' THEN 'online_quiz' WHEN 'new_quiz' THEN
                            'basic_lti_launch'
                        WHEN 'lti' THEN 'basic_lti_launch' WHEN 'discussion' THEN 'discussion_topic'
                        WHEN 'media' THEN 'media_recording' WHEN 'annotation' THEN 'student_annotation' END AS new_type,
               round(coalesce(c.points_possible, 0) * c.perf * 2) / 2 AS new_score
        FROM adv.sub_change c
    """)
    step.sql(f"""
        CREATE OR REPLACE TABLE adv.sub_change AS
        SELECT c.*,
               CASE WHEN c.change IN ('submit', 'autograde') AND c.new_type = 'online_upload'
                    THEN {upload0} + row_number() OVER (PARTITION BY c.change IN ('submit', 'autograde') AND
                        c.new_type = 'online_upload' ORDER BY c.id) - 1 END AS upload_id,
               CASE WHEN c.change IN ('submit', 'autograde') AND c.new_type = 'online_quiz'
                    THEN {quiz0} + row_number() OVER (PARTITION BY c.change IN ('submit', 'autograde') AND c.new_type
                        = 'online_quiz' ORDER BY c.id) - 1 END AS quiz_sub_id
        FROM adv.sub_change c
    """)
    graded_now = "src.change IN ('grade', 'autograde', 'zero', 'excuse')"
    score = """CASE src.change WHEN 'zero' THEN 0.0 WHEN 'excuse' THEN NULL
        WHEN 'grade' THEN src.new_score WHEN 'autograde' THEN src.new_score ELSE src.score END"""
    grade = f"""CASE WHEN {graded_now} THEN CASE WHEN ({score}) IS NULL THEN NULL
        WHEN src.grading_type = 'pass_fail' THEN CASE WHEN ({score}) >= 0.6 * coalesce(src.points_possible, 0) THEN
            'complete' ELSE 'incomplete' END
        WHEN src.grading_type = 'percent' THEN CAST(round(100.0 * ({score}) / nullif(src.points_possible, 0), 2) AS
            VARCHAR) || '%'
        ELSE CAST(({score}) AS VARCHAR) END ELSE src.grade END"""
    manual_post = (
        "coalesce((SELECT bool_or(pp.post_manually) FROM cur.post_policies pp WHERE pp.assignment_id = "
        "src.assignment_id OR (pp.course_id = src.course_id AND pp.assignment_id IS NULL)), false)"
    )
    step.changes.upsert(
        "submissions",
        """SELECT id, changed_at AS event_at, change, new_type, new_score, upload_id, quiz_sub_id, teacher_id, kind,
                  points_possible, grading_type FROM adv.sub_change""",
        {
            "workflow_state": """CASE src.change WHEN 'submit' THEN 'submitted' WHEN 'autograde' THEN 'graded' WHEN
                'grade' THEN 'graded'
                WHEN 'zero' THEN 'graded' WHEN 'excuse' THEN 'graded' ELSE src.workflow_state END""",
            "submitted_at": (
                "CASE WHEN src.change IN ('submit', 'autograde') THEN src.event_at ELSE src.submitted_at END"
            ),
            "submission_type": (
                "CASE WHEN src.change IN ('submit', 'autograde') THEN src.new_type ELSE src.submission_type END"
            ),
            "attempt": (
                "CASE WHEN src.change IN ('submit', 'autograde') THEN coalesce(src.attempt, 0) + 1 ELSE src.attempt END"
            ),
            "attachment_ids": (
                "CASE WHEN src.upload_id IS NOT NULL THEN CAST(src.upload_id AS VARCHAR) ELSE src.attachment_ids END"
            ),
            "quiz_submission_id": "coalesce(src.quiz_sub_id, src.quiz_submission_id)",
            "body": (
                "CASE WHEN src.change = 'submit' AND src.new_type = 'online_text_entry' THEN "
                f"syn_html({r.h('sub.adv_body', 'src.id')}, 2) ELSE src.body END"
            ),
            "url": (
                "CASE WHEN src.change = 'submit' AND src.new_type = 'online_url' THEN "
                "'https://portfolio.example.org/' || CAST(src.user_id AS VARCHAR) ELSE src.url END"
            ),
            "score": score,
            "grade": grade,
            # Canvas keeps excused, custom_grade_status_id and late_policy_status exclusive (setting one
            # clears the others: Submission#set_status_attributes)
            "excused": (
                "CASE WHEN src.change = 'excuse' THEN true WHEN src.change = 'custom' THEN false ELSE src.excused END"
            ),
            "custom_grade_status_id": (
                f"CASE WHEN src.change = 'custom' THEN CAST(1 + {r.h('sub.adv_custom_id', 'src.id')} % 3 AS BIGINT) "
                "WHEN src.change IN ('mark_missing', 'excuse') THEN NULL ELSE src.custom_grade_status_id END"
            ),
            "graded_at": f"CASE WHEN {graded_now} THEN src.event_at ELSE src.graded_at END",
            "grader_id": f"CASE WHEN {graded_now} THEN src.teacher_id ELSE src.grader_id END",
            "grade_matches_current_submission": (
                f"CASE WHEN {graded_now} OR src.change = 'submit' AND src.score IS NULL THEN true "
                "WHEN src.change = 'submit' THEN false ELSE src.grade_matches_current_submission END"
            ),
            "posted_at": (
                f"CASE WHEN src.change = 'post' THEN src.event_at WHEN {graded_now} AND NOT {manual_post} THEN "
                "src.event_at ELSE src.posted_at END"
            ),
            "published_score": (
                f"CASE WHEN src.change = 'post' OR {graded_now} AND NOT {manual_post} THEN {score} ELSE "
                "src.published_score END"
            ),
            "published_grade": (
                f"CASE WHEN src.change = 'post' OR {graded_now} AND NOT {manual_post} THEN {grade} ELSE "
                "src.published_grade END"
            ),
            "late_policy_status": (
                "CASE WHEN src.change = 'mark_missing' THEN 'missing' ELSE src.late_policy_status END"
            ),
            "cached_tardiness": """CASE WHEN src.change IN ('mark_missing', 'now_missing') THEN 'missing'
                WHEN src.change IN ('submit', 'autograde') AND src.cached_due_date < src.event_at THEN 'late'
                WHEN src.change IN ('submit', 'autograde') THEN NULL
                WHEN src.change IN ('zero', 'excuse', 'custom') THEN NULL ELSE src.cached_tardiness END""",
            "processed": "CASE WHEN src.change IN ('submit', 'autograde') THEN true ELSE src.processed END",
            "updated_at": "src.event_at",
        },
    )
    _submission_side_rows(step)


def _submission_side_rows(step: Step) -> None:
    """Attachments of uploads, quiz attempts of classic quizzes, comments on some gradings."""
    r = step.rand
    step.changes.insert(
        "attachments",
        "SELECT upload_id AS id, user_id, changed_at AS event_at FROM adv.sub_change WHERE upload_id IS NOT NULL",
        {
            "context_type": "'User'",
            "context_id": "src.user_id",
            "user_id": "src.user_id",
            "display_name": (
                "(['essay_final.docx', 'Lab report.pdf', 'homework (2).pdf', 'scan_0001.jpg'])[1 + "
                f"CAST({r.h('att.adv_name', 'src.id')} % 4 AS BIGINT)]"
            ),
            "filename": "'submission_' || CAST(src.id AS VARCHAR) || '.pdf'",
            "content_type": "'application/pdf'",
            "workflow_state": "'processed'",
            "file_state": "'available'",
            "locked": "false",
            "size": f"CAST(20000 + {r.h('att.adv_size', 'src.id')} % 5000000 AS BIGINT)",
            "md5": r.token(32, "att.adv_md5", "src.id"),
            "uuid": r.token(40, "att.adv_uuid", "src.id"),
            "created_at": "src.event_at",
            "updated_at": "src.event_at",
        },
    )
    step.changes.insert(
        "quiz_submissions",
        """SELECT c.quiz_sub_id AS id, c.id AS submission_id, c.user_id, q.id AS quiz_id, c.new_score,
                  q.points_possible AS quiz_points, c.changed_at AS event_at
           FROM adv.sub_change c JOIN cur.quizzes q ON q.assignment_id = c.assignment_id WHERE c.quiz_sub_id IS NOT
               NULL""",
        {
            "submission_id": "src.submission_id",
            "user_id": "src.user_id",
            "quiz_id": "src.quiz_id",
            "workflow_state": "'complete'",
            "started_at": "src.event_at - INTERVAL 25 MINUTE",
            "finished_at": "src.event_at",
            "score": "src.new_score",
            "kept_score": "src.new_score",
            "fudge_points": "0.0",
            "quiz_points_possible": "src.quiz_points",
            "attempt": "1",
            "quiz_version": "1",
            "created_at": "src.event_at - INTERVAL 25 MINUTE",
            "updated_at": "src.event_at",
        },
    )
    comment0 = step.next_id("submission_comments")
    step.changes.insert(
        "submission_comments",
        f"""SELECT {comment0} + row_number() OVER (ORDER BY id) - 1 AS id, id AS submission_id, course_id, teacher_id,
                   changed_at + INTERVAL 30 SECOND AS event_at, attempt
            FROM adv.sub_change WHERE change = 'grade' AND teacher_id IS NOT NULL AND
                {r.chance(0.3, "sc.adv", "id")}""",
        {
            "submission_id": "src.submission_id",
            "context_id": "src.course_id",
            "context_type": "'Course'",
            "author_id": "src.teacher_id",
            "comment": f"""CASE WHEN {r.chance(0.05, "sc.adv_messy", "src.id")} THEN
                syn_messy({r.h("sc.adv_m", "src.id")})
                ELSE (['Well done.', 'See my notes in the margin.', 'Late, but solid work.',
                    'Resubmit by Friday, please.'])[1 + CAST(src.id % 4 AS BIGINT)] END""",
            "attempt": "src.attempt",
            "hidden": "false",
            "draft": "false",
            "teacher_only_comment": "false",
            "created_at": "src.event_at",
            "updated_at": "src.event_at",
        },
    )


def _scores(step: Step) -> None:
    """Recompute the scores of students whose submissions changed; create them for new enrollments."""
    post_subs = step.changes.post_state("submissions")
    post_assignments = step.changes.post_state("assignments")
    step.sql("""
        CREATE OR REPLACE TABLE adv.affected AS
        SELECT DISTINCT user_id, course_id FROM chg.submissions
        UNION SELECT user_id, course_id FROM adv.new_enrollment
    """)
    step.sql(f"""
        CREATE OR REPLACE TABLE adv.score_input AS
        SELECT s.user_id, s.course_id, a.assignment_group_id, s.grading_period_id,
               CAST(a.points_possible AS DOUBLE) AS points, s.score, s.workflow_state, s.posted_at IS NOT NULL AS
                   posted,
               coalesce(s.excused, false) AS excused, s.graded_at
        FROM ({post_subs}) s JOIN adv.affected x ON x.user_id = s.user_id AND x.course_id = s.course_id
        JOIN ({post_assignments}) a ON a.id = s.assignment_id
        JOIN cur.assignment_groups g ON g.id = a.assignment_group_id
        WHERE s.workflow_state <> 'deleted' AND a.workflow_state = 'published' AND a.points_possible > 0
          AND NOT a.omit_from_final_grade AND g.workflow_state <> 'deleted'
    """)
    step.sql(
        score_rollup_sql("adv.score_input", "adv.score_value", groups="cur.assignment_groups", courses="cur.courses")
    )
    values = ["current_score", "final_score", "unposted_current_score", "unposted_final_score", "current_points",
              "unposted_current_points", "final_points", "unposted_final_points"]  # fmt: skip
    kind = "CASE WHEN sc.course_score THEN 0 WHEN sc.assignment_group_id IS NOT NULL THEN 1 ELSE 2 END"
    differs = " OR ".join(f"sc.{v} IS DISTINCT FROM v.{v}" for v in values)
    picked = ", ".join(f"v.{v} AS new_{v}" for v in values)
    step.changes.upsert(
        "scores",
        f"""
        SELECT sc.id, {picked}, {step.clamp("coalesce(v.last_graded_at, " + step.hi_sql + ") + INTERVAL 1 MINUTE")} AS
            event_at
        FROM cur.scores sc JOIN cur.enrollments e ON e.id = sc.enrollment_id
        JOIN adv.affected x ON x.user_id = e.user_id AND x.course_id = e.course_id
        LEFT JOIN adv.score_value v ON v.user_id = e.user_id AND v.course_id = e.course_id AND v.kind = {kind}
             AND v.assignment_group_id IS NOT DISTINCT FROM sc.assignment_group_id
             AND v.grading_period_id IS NOT DISTINCT FROM sc.grading_period_id
        WHERE sc.workflow_state = 'active' AND ({differs})
          AND sc.id NOT IN (SELECT id FROM ({step.changes.staged_keys("scores")}))
        """,
        {**{v: f"src.new_{v}" for v in values}, "updated_at": "src.event_at"},
    )
    score0 = step.next_id("scores")
    step.changes.insert(
        "scores",
        f"""
        WITH rows AS (
            SELECT n.id AS enrollment_id, n.user_id, n.course_id, n.event_at, 0 AS kind, NULL::BIGINT AS group_id
            FROM adv.new_enrollment n
            UNION ALL
            SELECT n.id, n.user_id, n.course_id, n.event_at, 1, g.id FROM adv.new_enrollment n
            JOIN cur.assignment_groups g ON g.context_id = n.course_id AND g.workflow_state <> 'deleted'
        )
        SELECT {score0} + row_number() OVER (ORDER BY r.enrollment_id, r.kind, r.group_id) - 1 AS id, r.*,
               {", ".join(f"v.{v}" for v in values)}
        FROM rows r LEFT JOIN adv.score_value v ON v.user_id = r.user_id AND v.course_id = r.course_id AND v.kind =
            r.kind
             AND v.assignment_group_id IS NOT DISTINCT FROM r.group_id AND v.grading_period_id IS NULL
        """,
        {
            "enrollment_id": "src.enrollment_id",
            "assignment_group_id": "src.group_id",
            "course_score": "src.kind = 0",
            "workflow_state": "'active'",
            **{v: f"src.{v}" for v in values},
            "created_at": "src.event_at",
            "updated_at": "src.event_at",
        },
    )
