"""Roster changes in the window.

* students accept invitations, pending ones get invited, some active ones drop (inactive),
  are removed (soft-deleted, their submissions too) or concluded early; enrollment_states follow;
* a few never-active enrollments (invited / pending / rejected / deleted) are hard-deleted
  (``D``), with their enrollment_states and scores rows;
* new people sign up (users, pseudonyms, communication_channels) and students are added late to
  current courses; ``adv.new_enrollment`` carries them to the coursework producer, which gives
  them submissions and scores.
"""

from __future__ import annotations

from extract.synth.advance.step import Step
from extract.synth.ids import id_base

NEW_USERS_PER_USER_HOUR = 0.0001
LATE_ADDS_PER_COURSE_HOUR = 0.01


def produce(step: Step) -> None:
    _transitions(step)
    _hard_deletes(step)
    _new_people(step)
    _new_enrollments(step)


def _transitions(step: Step) -> None:
    step.sql(f"""
        CREATE OR REPLACE TABLE adv.transition AS
        SELECT e.id, e.user_id, e.course_id, {step.event("enr.move_at", "e.id")} AS event_at,
            CASE WHEN e.workflow_state = 'invited' AND {step.chance(1 / 72, "enr.accept", "e.id")} THEN 'active'
                 WHEN e.workflow_state = 'creation_pending' AND {step.chance(1 / 120, "enr.invite", "e.id")} THEN
                     'invited'
                 WHEN e.workflow_state = 'active' AND {step.chance(0.0004, "enr.drop", "e.id")} THEN 'inactive'
                 WHEN e.workflow_state = 'active' AND {step.chance(0.0002, "enr.remove", "e.id")} THEN 'deleted'
                 WHEN e.workflow_state = 'active' AND {step.chance(0.0001, "enr.conclude", "e.id")} THEN 'completed'
            END AS new_state
        FROM cur.enrollments e JOIN adv.course c ON c.course_id = e.course_id
        WHERE e.type = 'StudentEnrollment'
    """)
    step.sql("DELETE FROM adv.transition WHERE new_state IS NULL")
    moved = "SELECT id, event_at, new_state FROM adv.transition"
    step.changes.upsert(
        "enrollments",
        moved,
        {
            "workflow_state": "src.new_state",
            "updated_at": "src.event_at",
            "completed_at": "CASE WHEN src.new_state = 'completed' THEN src.event_at ELSE src.completed_at END",
            "end_at": "CASE WHEN src.new_state = 'completed' THEN src.event_at ELSE src.end_at END",
        },
    )
    step.changes.upsert(
        "enrollment_states",
        "SELECT id AS enrollment_id, event_at, new_state FROM adv.transition",
        {
            "state": "src.new_state",
            "state_started_at": "src.event_at",
            "state_is_current": "true",
            "updated_at": "src.event_at",
        },
    )
    _soft_delete_submissions(
        step, "SELECT user_id, course_id, event_at FROM adv.transition WHERE new_state = 'deleted'"
    )


def _soft_delete_submissions(step: Step, removed: str) -> None:
    """Canvas marks the submissions of a removed student deleted (unless another enrollment remains)."""
    step.changes.upsert(
        "submissions",
        f"""
        WITH removed AS ({removed}),
        still_there AS (
            SELECT DISTINCT e.user_id, e.course_id FROM ({step.changes.post_state("enrollments")}) e
            WHERE e.workflow_state IN ('active', 'invited', 'completed', 'inactive', 'creation_pending')
              AND e.type IN ('StudentEnrollment', 'StudentViewEnrollment')
        )
        SELECT s.id, max(r.event_at) AS event_at FROM cur.submissions s
        JOIN removed r ON r.user_id = s.user_id AND r.course_id = s.course_id
        WHERE s.workflow_state <> 'deleted'
          AND (s.user_id, s.course_id) NOT IN (SELECT (user_id, course_id) FROM still_there)
        GROUP BY s.id
        """,
        {"workflow_state": "'deleted'", "updated_at": "src.event_at"},
    )


def _hard_deletes(step: Step) -> None:
    r = step.rand
    candidates = """
        SELECT e.id, e.user_id, e.course_id FROM cur.enrollments e JOIN adv.course c ON c.course_id = e.course_id
        WHERE e.type = 'StudentEnrollment' AND e.workflow_state IN ('invited', 'creation_pending', 'rejected',
            'deleted')
          AND e.id NOT IN (SELECT id FROM adv.transition)
    """
    n = step.quota(0.002, int(step.scalar(f"SELECT count(*) FROM ({candidates})") or 0), minimum=1)
    step.sql(f"""
        CREATE OR REPLACE TABLE adv.removed_enrollment AS
        SELECT id, user_id, course_id, {step.event("enr.delete_at", "id")} AS event_at FROM ({candidates})
        ORDER BY {r.h("enr.delete", "id")}, id LIMIT {n}
    """)
    step.changes.delete("enrollments", "SELECT id, event_at FROM adv.removed_enrollment")
    step.changes.delete(
        "enrollment_states",
        """SELECT enrollment_id, d.event_at FROM cur.enrollment_states s
           JOIN adv.removed_enrollment d ON d.id = s.enrollment_id""",
    )
    step.changes.delete(
        "scores",
        "SELECT s.id, d.event_at FROM cur.scores s JOIN adv.removed_enrollment d ON d.id = s.enrollment_id",
    )
    _soft_delete_submissions(step, "SELECT user_id, course_id, event_at FROM adv.removed_enrollment")


def _new_people(step: Step) -> None:
    r, p = step.rand, step.profile
    n = max(1 if step.hours >= 1 else 0, round(step.hours * p.users * NEW_USERS_PER_USER_HOUR))
    user0, login0, channel0 = step.next_id("users"), step.next_id("pseudonyms"), step.next_id("communication_channels")
    step.sql(f"""
        CREATE OR REPLACE TABLE adv.new_user AS
        SELECT i, {user0} + i AS user_id, {login0} + i AS pseudonym_id, {channel0} + i AS channel_id,
               {step.event("user.new_at", f"{user0} + i")} AS event_at
        FROM range({n}) AS t(i)
    """)
    first = f"syn_first({r.h('user.first', 'src.id')})"
    last = f"syn_last({r.h('user.last', 'src.id')})"
    step.changes.insert(
        "users",
        "SELECT user_id AS id, event_at FROM adv.new_user",
        {
            "name": f"{first} || ' ' || {last}",
            "sortable_name": f"{last} || ', ' || {first}",
            "short_name": f"{first} || ' ' || {last}",
            "workflow_state": (
                f"CASE WHEN {r.chance(0.7, 'user.new_state', 'src.id')} THEN 'registered' ELSE 'pre_registered' END"
            ),
            "created_at": "src.event_at",
            "updated_at": "src.event_at",
            "uuid": r.token(40, "user.uuid", "src.id"),
            "lti_context_id": r.token(40, "user.lti", "src.id"),
        },
    )
    step.changes.insert(
        "pseudonyms",
        "SELECT pseudonym_id AS id, user_id, event_at FROM adv.new_user",
        {
            "user_id": "src.user_id",
            "account_id": str(id_base("accounts")),
            "unique_id": "'new.user' || CAST(src.user_id AS VARCHAR) || '@example.edu'",
            "sis_user_id": "'S' || CAST(src.user_id AS VARCHAR)",
            "workflow_state": "'active'",
            "login_count": "0",
            "failed_login_count": "0",
            "position": "1",
            "is_inst_id": "false",
            "created_at": "src.event_at",
            "updated_at": "src.event_at",
        },
    )
    step.changes.insert(
        "communication_channels",
        "SELECT channel_id AS id, user_id, pseudonym_id, event_at FROM adv.new_user",
        {
            "path": "'new.user' || CAST(src.user_id AS VARCHAR) || '@example.edu'",
            "path_type": "'email'",
            "user_id": "src.user_id",
            "pseudonym_id": "src.pseudonym_id",
            "workflow_state": "'unconfirmed'",
            "bounce_count": "0",
            "confirmation_sent_count": "1",
            "position": "1",
            "created_at": "src.event_at",
            "updated_at": "src.event_at",
        },
    )


def _new_enrollments(step: Step) -> None:
    """New users join a current course; existing students are added late to another one."""
    r = step.rand
    n_courses = int(step.scalar("SELECT count(*) FROM adv.course") or 0)
    if n_courses == 0:
        step.sql(
            "CREATE OR REPLACE TABLE adv.new_enrollment AS SELECT NULL::BIGINT AS id, NULL::BIGINT AS user_id, "
            "NULL::BIGINT AS course_id, NULL::TIMESTAMP AS event_at, NULL::VARCHAR AS state WHERE false"
        )
        return
    n_adds = max(1 if step.hours >= 2 else 0, round(step.hours * n_courses * LATE_ADDS_PER_COURSE_HOUR))
    base = step.next_id("enrollments")
    step.sql(f"""
        CREATE OR REPLACE TABLE adv.new_enrollment AS
        WITH courses AS (SELECT course_id, row_number() OVER (ORDER BY course_id) - 1 AS i FROM adv.course),
        pool AS (
            SELECT user_id, row_number() OVER (ORDER BY user_id) - 1 AS i, count(*) OVER () AS n
            FROM (SELECT DISTINCT user_id FROM cur.enrollments WHERE type = 'StudentEnrollment' AND workflow_state =
                'active')
        ), adds AS (
            SELECT p.user_id, c.course_id, {step.event("enr.add_at", "t.j")} AS event_at, 'late' AS why
            FROM range({n_adds}) AS t(j)
            JOIN courses c ON c.i = {r.index(n_courses, "enr.add_course", "t.j")}
            JOIN pool p ON p.i = {r.h("enr.add_user", "t.j")} % p.n
        ), fresh AS (
            SELECT u.user_id, c.course_id, u.event_at + INTERVAL 1 SECOND, 'new'
            FROM adv.new_user u JOIN courses c ON c.i = {r.index(n_courses, "enr.new_course", "u.user_id")}
        ), wanted AS (
            SELECT * FROM adds WHERE (user_id, course_id) NOT IN (SELECT (user_id, course_id) FROM cur.enrollments)
            UNION ALL SELECT * FROM fresh
        )
        SELECT {base} + row_number() OVER (ORDER BY w.course_id, w.user_id) - 1 AS id, w.*,
               (SELECT min(s.id) FROM cur.course_sections s WHERE s.course_id = w.course_id AND s.workflow_state =
                   'active'
                AND coalesce(s.default_section, false)) AS default_section_id,
               (SELECT min(s.id) FROM cur.course_sections s WHERE s.course_id = w.course_id AND s.workflow_state =
                   'active') AS any_section_id,
               (SELECT min(p.id) FROM cur.pseudonyms p WHERE p.user_id = w.user_id AND p.sis_user_id IS NOT NULL) AS
                   sis_login,
               CASE WHEN w.why = 'late' AND {r.chance(0.8, "enr.add_active", "w.user_id", "w.course_id")} THEN 'active'
                    WHEN w.why = 'new' THEN 'active' ELSE 'invited' END AS state
        FROM (SELECT * FROM wanted QUALIFY row_number() OVER (PARTITION BY user_id, course_id ORDER BY event_at, why)
            = 1) w
    """)
    step.sql("DELETE FROM adv.new_enrollment WHERE coalesce(default_section_id, any_section_id) IS NULL")
    student_role = (
        "(SELECT min(id) FROM cur.roles WHERE base_role_type = 'StudentEnrollment' AND workflow_state = 'built_in')"
    )
    step.changes.insert(
        "enrollments",
        """SELECT id, user_id, course_id, coalesce(default_section_id, any_section_id) AS section_id, sis_login, state,
                  event_at FROM adv.new_enrollment""",
        {
            "user_id": "src.user_id",
            "course_id": "src.course_id",
            "course_section_id": "src.section_id",
            "role_id": student_role,
            "type": "'StudentEnrollment'",
            "workflow_state": "src.state",
            "grade_publishing_status": "'unpublished'",
            "limit_privileges_to_course_section": "false",
            "self_enrolled": "false",
            "sis_pseudonym_id": "src.sis_login",
            "created_at": "src.event_at",
            "updated_at": "src.event_at",
        },
    )
    step.changes.insert(
        "enrollment_states",
        """SELECT n.id AS enrollment_id, n.state, n.event_at, c.term_end FROM adv.new_enrollment n
           JOIN adv.course c ON c.course_id = n.course_id""",
        {
            "state": "src.state",
            "state_is_current": "true",
            "state_started_at": "src.event_at",
            "state_valid_until": "src.term_end",
            "restricted_access": "false",
            "access_is_current": "true",
            "updated_at": "src.event_at",
        },
    )
