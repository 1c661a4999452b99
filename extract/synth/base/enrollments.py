"""Enrollments of every type and state, enrollment_states, account_users, user_account_associations.

Rosters: each course draws ``size`` students (deduplicated) into its live sections, which
include cross-listed sections (so those students count in the host course); a few students
also get a second section in the same course. Staff: teachers (sometimes two), TAs (some with
the custom "Grader" role), designers, observers linked to a student (``associated_user_id``),
and the Student View test student. States depend on the course's term: current courses are
mostly active with some invited / creation_pending / inactive / completed / deleted /
rejected; past ones mostly completed, with some still active (soft-concluded by dates).

``h.enrollment`` keeps the roster with the effective end date (section > course > term) that
decides soft conclusion; ``h.student_course`` has one row per (student, course).
"""

from __future__ import annotations

from extract.synth.base.org import role_id
from extract.synth.context import GenContext

FORCED_STATES = ["rejected", "invited", "creation_pending", "inactive", "completed", "deleted"]


def build(ctx: GenContext) -> None:
    _rosters(ctx)
    _build_enrollments(ctx)
    _build_enrollment_states(ctx)
    _build_account_users(ctx)
    _build_user_associations(ctx)


def _rosters(ctx: GenContext) -> None:
    r = ctx.rand
    ctx.sql("""
        CREATE OR REPLACE TABLE h.live_section AS
        SELECT id, course_id, row_number() OVER (PARTITION BY course_id ORDER BY id) - 1 AS i,
               count(*) OVER (PARTITION BY course_id) AS n, default_section
        FROM h.section WHERE NOT dead
    """)
    ctx.sql("""
        CREATE OR REPLACE TABLE h.pool AS
        SELECT id, role, state, diligence, row_number() OVER (PARTITION BY role ORDER BY id) - 1 AS i,
               count(*) OVER (PARTITION BY role) AS n
        FROM h.user WHERE role IN ('student', 'teacher', 'ta', 'designer', 'observer')
    """)
    # pool sizes as literals, so the draws below are plain hash joins on (role, i)
    n = {
        role: int(count)
        for role, count in ctx.con.execute("SELECT role, count(*) FROM h.pool GROUP BY role").fetchall()
    }
    ns, nt, nta, nd, no = (n.get(role, 1) for role in ("student", "teacher", "ta", "designer", "observer"))
    u = r.u("enr.state", "e.course_id", "e.user_id", "e.section_id")
    student_state = f"""CASE
        WHEN e.user_state = 'deleted' THEN 'deleted'
        WHEN c.kind = 'future' THEN CASE WHEN {u} < 0.4 THEN 'invited' WHEN {u} < 0.6 THEN 'creation_pending' ELSE
            'active' END
        WHEN e.user_state = 'creation_pending' THEN CASE WHEN {u} < 0.5 THEN 'invited' ELSE 'creation_pending' END
        WHEN c.kind = 'past' OR c.workflow_state = 'completed' THEN
            CASE WHEN {u} < 0.80 THEN 'completed' WHEN {u} < 0.93 THEN 'active' WHEN {u} < 0.96 THEN 'inactive' ELSE
                'deleted' END
        WHEN {u} < 0.86 THEN 'active' WHEN {u} < 0.885 THEN 'invited' WHEN {u} < 0.93 THEN 'inactive'
        WHEN {u} < 0.945 THEN 'completed' WHEN {u} < 0.98 THEN 'deleted' WHEN {u} < 0.99 THEN 'rejected'
        ELSE 'creation_pending' END"""
    staff_state = """CASE WHEN c.kind = 'deleted' THEN 'deleted'
        WHEN c.kind = 'past' OR c.workflow_state = 'completed' THEN 'completed' ELSE 'active' END"""
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.enrollment AS
        WITH draws AS (
            SELECT c.id AS course_id, CAST(unnest(range(c.size)) AS BIGINT) AS j FROM h.course c WHERE c.size > 0
        ), students AS (
            SELECT d.course_id, min(d.j) AS j, p.id AS user_id, any_value(p.state) AS user_state
            FROM draws d JOIN h.pool p ON p.role = 'student' AND p.i =
                {r.index(ns, "enr.student", "d.course_id", "d.j")}
            GROUP BY d.course_id, p.id
        ), placed AS (
            SELECT s.course_id, s.user_id, s.user_state, ls.id AS section_id, ls.i AS section_i, ls.n AS n_sections
            FROM students s JOIN h.live_section ls
              ON ls.course_id = s.course_id AND ls.i = {r.index("ls.n", "enr.section", "s.course_id", "s.user_id")}
        ), second AS (  -- a second section in the same course (e.g. lecture + lab)
            SELECT p.course_id, p.user_id, p.user_state, ls.id, ls.i, ls.n FROM placed p
            JOIN h.live_section ls ON ls.course_id = p.course_id AND ls.i = (p.section_i + 1) % p.n_sections
            WHERE p.n_sections > 1 AND {r.chance(0.05, "enr.second", "p.course_id", "p.user_id")}
        ), student_rows AS (
            SELECT course_id, user_id, user_state, section_id,
                   CASE WHEN {r.chance(0.02, "enr.auditor", "course_id", "user_id")} THEN 'Auditor' ELSE
                       'StudentEnrollment' END AS role,
                   'StudentEnrollment' AS type, NULL::BIGINT AS associated_user_id
            FROM (SELECT * FROM placed UNION ALL SELECT * FROM second)
        ), staff_slots AS (
            SELECT c.id AS course_id, slot.role, slot.type, slot.n AS copy FROM h.course c,
                (VALUES ('teacher', 'TeacherEnrollment', 0), ('teacher', 'TeacherEnrollment', 1),
                        ('ta', 'TaEnrollment', 0), ('designer', 'DesignerEnrollment', 0)) AS slot(role, type, n)
            WHERE c.kind <> 'template' AND CASE
                WHEN slot.role = 'teacher' AND slot.n = 0 THEN true
                WHEN slot.role = 'teacher' THEN c.kind IN ('current', 'past') AND {r.chance(0.2, "enr.coteach", "c.id")}
                WHEN slot.role = 'ta' THEN c.kind IN ('current', 'past', 'future') AND (c.size > 30 OR
                    {r.chance(0.4, "enr.ta", "c.id")})
                ELSE c.kind = 'blueprint' OR {r.chance(0.1, "enr.designer", "c.id")} END
        ), staff_rows AS (
            SELECT s.course_id, p.id AS user_id, 'registered' AS user_state, ls.id AS section_id,
                   CASE WHEN s.type = 'TaEnrollment' AND {r.chance(0.2, "enr.grader", "s.course_id")} THEN 'Grader'
                        WHEN s.copy = 1 AND {r.chance(0.25, "enr.guest", "s.course_id")} THEN 'Guest Lecturer'
                        ELSE s.type END AS role,
                   s.type, NULL::BIGINT
            FROM staff_slots s
            JOIN h.pool p ON p.role = s.role AND p.i = CASE s.role
                WHEN 'teacher' THEN {r.index(nt, "enr.staff", "s.course_id", "s.role", "s.copy")}
                WHEN 'ta' THEN {r.index(nta, "enr.staff", "s.course_id", "s.role", "s.copy")}
                ELSE {r.index(nd, "enr.staff", "s.course_id", "s.role", "s.copy")} END
            JOIN h.live_section ls ON ls.course_id = s.course_id AND ls.default_section
        ), observer_rows AS (
            SELECT s.course_id, p.id, 'registered', s.section_id, 'ObserverEnrollment', 'ObserverEnrollment', s.user_id
            FROM student_rows s JOIN h.course c ON c.id = s.course_id
            JOIN h.pool p ON p.role = 'observer' AND p.i = {r.index(no, "enr.observer", "s.user_id")}
            WHERE c.kind = 'current' AND {r.chance(0.04, "enr.observed", "s.course_id", "s.user_id")}
        ), test_rows AS (
            SELECT u.test_course_id, u.id, 'registered', ls.id, 'StudentEnrollment', 'StudentViewEnrollment',
                NULL::BIGINT
            FROM h.user u JOIN h.live_section ls ON ls.course_id = u.test_course_id AND ls.default_section
            WHERE u.role = 'test'
        ), all_rows AS (
            SELECT *, 0 AS type_order FROM student_rows
            UNION ALL SELECT *, 1 FROM staff_rows
            UNION ALL SELECT *, 2 FROM observer_rows
            UNION ALL SELECT *, 3 FROM test_rows
        ), dedup AS (  -- one person, one role, one section
            SELECT * FROM all_rows QUALIFY row_number() OVER (
                PARTITION BY course_id, user_id, section_id, type, associated_user_id ORDER BY type_order, role) = 1
        )
        SELECT {ctx.base("enrollments")} + row_number() OVER (
                   ORDER BY e.course_id, e.type_order, e.user_id, e.section_id, e.associated_user_id) - 1 AS id,
               e.course_id, e.user_id, e.section_id, e.role, e.type, e.associated_user_id, e.user_state,
               CASE WHEN e.type IN ('StudentEnrollment') THEN {student_state}
                    WHEN e.type = 'StudentViewEnrollment' THEN 'active'
                    ELSE {staff_state} END AS state,
               c.kind AS course_kind, c.is_sis, c.term_start, c.term_end,
               coalesce(CASE WHEN s.restrict_enrollments_to_section_dates THEN s.end_at END,
                        CASE WHEN mc.restrict_enrollments_to_course_dates THEN mc.conclude_at END,
                        c.term_end) AS effective_end,
               coalesce(CASE WHEN s.restrict_enrollments_to_section_dates THEN s.start_at END,
                        CASE WHEN mc.restrict_enrollments_to_course_dates THEN mc.start_at END,
                        c.term_start) AS effective_start
        FROM dedup e JOIN h.course c ON c.id = e.course_id
        JOIN m.courses mc ON mc.id = e.course_id
        JOIN m.course_sections s ON s.id = e.section_id
    """)
    # the first current course shows every enrollment state, whatever the seed
    forced = ", ".join(f"({rank}, '{state}')" for rank, state in enumerate(FORCED_STATES, start=1))
    ctx.sql(f"""
        UPDATE h.enrollment e SET state = f.state
        FROM (SELECT id, row_number() OVER (ORDER BY id) AS rank FROM h.enrollment
              WHERE type = 'StudentEnrollment' AND course_id = (SELECT min(id) FROM h.course WHERE kind = 'current')) r
        JOIN (VALUES {forced}) AS f(rank, state) ON f.rank = r.rank
        WHERE e.id = r.id
    """)
    ctx.sql("""
        CREATE OR REPLACE TABLE h.student_course AS
        SELECT e.user_id, e.course_id, bool_or(e.type = 'StudentViewEnrollment') AS is_test,
               -- the most alive state wins when a student has several sections
               arg_min(e.state, CASE e.state WHEN 'active' THEN 0 WHEN 'invited' THEN 1 WHEN 'completed' THEN 2
                   WHEN 'inactive' THEN 3 WHEN 'creation_pending' THEN 4 WHEN 'rejected' THEN 5 ELSE 6 END) AS state,
               min(e.section_id) AS section_id, list(e.section_id ORDER BY e.section_id) AS section_ids,
               coalesce(any_value(u.diligence), 0.5) AS diligence, any_value(u.fade_at) AS fade_at
        FROM h.enrollment e JOIN h.user u ON u.id = e.user_id
        WHERE e.type IN ('StudentEnrollment', 'StudentViewEnrollment')
        GROUP BY e.user_id, e.course_id
    """)


def _build_enrollments(ctx: GenContext) -> None:
    r, start = ctx.rand, ctx.now
    roles = {name: role_id(name) for name in ("StudentEnrollment", "TeacherEnrollment", "TaEnrollment",
                                                "DesignerEnrollment", "ObserverEnrollment", "Grader",
                                                "Guest Lecturer", "Auditor")}  # fmt: skip
    role_case = "CASE src.role " + " ".join(f"WHEN '{n}' THEN {i}" for n, i in roles.items()) + " END"
    created = (
        f"least(coalesce(src.term_start, {start} - INTERVAL 60 DAY) - INTERVAL 30 DAY "
        f"+ to_days(CAST({r.h('enr.created', 'src.id')} % 45 AS INTEGER)), {start} - INTERVAL 1 DAY)"
    )
    changed = "src.state IN ('inactive', 'deleted', 'rejected', 'completed')"
    updated = (
        f"CASE WHEN {changed} THEN {r.ts_between(created, start, 'enr.updated', 'src.id')} "
        f"ELSE least({created} + INTERVAL 1 DAY, {start}) END"
    )
    early_exit = "src.state = 'completed' AND src.course_kind = 'current'"
    ctx.build(
        "enrollments",
        """SELECT e.*, (SELECT min(p.id) FROM m.pseudonyms p WHERE p.user_id = e.user_id AND p.sis_user_id IS NOT NULL
                        AND p.workflow_state = 'active') AS sis_login
           FROM h.enrollment e""",
        {
            "user_id": "src.user_id",
            "course_id": "src.course_id",
            "course_section_id": "src.section_id",
            "role_id": role_case,
            "type": "src.type",
            "workflow_state": "src.state",
            "associated_user_id": "src.associated_user_id",
            "created_at": created,
            "updated_at": updated,
            "start_at": "NULL",
            # an SIS exit date before the term end concludes the enrollment (hard conclusion)
            "end_at": f"CASE WHEN {early_exit} THEN {updated} END",
            "completed_at": f"""CASE WHEN src.state = 'completed'
                THEN CASE WHEN {early_exit} THEN {updated} ELSE least(src.term_end, {start}) END END""",
            "grade_publishing_status": (
                f"CASE WHEN src.course_kind = 'past' AND {r.chance(0.6, 'enr.published', 'src.id')} THEN 'published' "
                "ELSE 'unpublished' END"
            ),
            "self_enrolled": "false",
            "limit_privileges_to_course_section": (
                f"src.type = 'TaEnrollment' AND {r.chance(0.3, 'enr.limit', 'src.id')}"
            ),
            "sis_pseudonym_id": "CASE WHEN src.is_sis AND src.type <> 'StudentViewEnrollment' THEN src.sis_login END",
            "sis_batch_id": (
                "CASE WHEN src.is_sis AND src.type <> 'StudentViewEnrollment' THEN "
                f"{ctx.registry.lookup('sis_batches', 'src.course_id')} END"
            ),
            "last_activity_at": "NULL",  # filled from web_logs once they exist
            "total_activity_time": "NULL",
            "last_attended_at": (
                "CASE WHEN src.type = 'StudentEnrollment' AND src.state = 'active' AND "
                f"{r.chance(0.03, 'enr.attended', 'src.id')} THEN {start} - INTERVAL 3 DAY END"
            ),
        },
    )


def _build_enrollment_states(ctx: GenContext) -> None:
    """Canvas' computed state: 'active' past its effective end date reads 'completed' here."""
    start = ctx.now
    r = ctx.rand
    state = f"""CASE
        WHEN e.workflow_state = 'active' AND h.effective_end < {start} THEN 'completed'
        WHEN e.workflow_state = 'active' AND h.effective_start > {start} THEN 'pending_active'
        WHEN e.workflow_state = 'invited' AND h.effective_start > {start} THEN 'pending_invited'
        ELSE e.workflow_state END"""
    ctx.build(
        "enrollment_states",
        f"""SELECT e.id AS enrollment_id, e.workflow_state, e.updated_at, e.created_at, h.effective_end,
                   h.effective_start, {state} AS computed
            FROM m.enrollments e JOIN h.enrollment h ON h.id = e.id""",
        {
            "state": "src.computed",
            "state_is_current": f"NOT {r.chance(0.03, 'es.stale', 'src.enrollment_id')}",
            "state_started_at": (
                "CASE WHEN src.computed = 'completed' AND src.workflow_state = 'active' THEN src.effective_end ELSE "
                "src.updated_at END"
            ),
            "state_valid_until": (
                "CASE WHEN src.computed IN ('active', 'invited') THEN src.effective_end WHEN src.computed LIKE "
                "'pending%' THEN src.effective_start END"
            ),
            "restricted_access": (
                "src.computed = 'completed' AND src.workflow_state = 'active' AND src.enrollment_id % 3 = 0"
            ),
            "access_is_current": "true",
            "updated_at": (
                f"least(greatest(src.updated_at, coalesce(CASE WHEN src.effective_end < {start} THEN src.effective_end "
                f"END, src.updated_at)), {start})"
            ),
        },
    )


def _build_account_users(ctx: GenContext) -> None:
    start = ctx.now
    root = ctx.base("accounts")
    ctx.build(
        "account_users",
        f"""
        WITH rows AS (
            SELECT id AS user_id, {root} AS account_id, 'AccountAdmin' AS role, 'active' AS state FROM h.user WHERE
                role = 'admin'
            UNION ALL
            SELECT p.id, a.id, 'AccountAdmin', 'active' FROM h.pool p
            JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS i FROM h.account WHERE kind = 'college') a ON a.i
                = p.i
            WHERE p.role = 'teacher' AND p.i < 2
            UNION ALL
            SELECT p.id, {root}, 'Support Staff', CASE WHEN p.i = 0 THEN 'deleted' ELSE 'active' END
            FROM h.pool p WHERE p.role = 'designer' AND p.i < 2
        )
        SELECT {ctx.base("account_users")} + row_number() OVER (ORDER BY user_id, account_id) - 1 AS id, * FROM rows
        """,
        {
            "role_id": (
                f"CASE src.role WHEN 'AccountAdmin' THEN {role_id('AccountAdmin')} ELSE {role_id('Support Staff')} END"
            ),
            "workflow_state": "src.state",
            "created_at": f"{start} - INTERVAL 400 DAY",
            "updated_at": (
                f"CASE WHEN src.state = 'deleted' THEN {start} - INTERVAL 20 DAY ELSE {start} - INTERVAL 300 DAY END"
            ),
        },
    )


def _build_user_associations(ctx: GenContext) -> None:
    start = ctx.now
    ctx.build(
        "user_account_associations",
        f"""
        WITH pairs AS (
            SELECT u.id AS user_id, {ctx.base("accounts")} AS account_id, 0 AS depth FROM h.user u
            WHERE u.role NOT IN ('test', 'merged')
            UNION ALL
            SELECT DISTINCT e.user_id, a.account_id, a.depth FROM h.enrollment e
            JOIN m.course_account_associations a ON a.course_id = e.course_id AND a.course_section_id IS NULL
            WHERE e.state NOT IN ('deleted', 'rejected')
        ), uniq AS (SELECT user_id, account_id, min(depth) AS depth FROM pairs GROUP BY ALL)
        SELECT {ctx.base("user_account_associations")} + row_number() OVER (ORDER BY user_id, account_id) - 1 AS id, *
            FROM uniq
        """,
        {
            "created_at": f"{start} - INTERVAL 200 DAY",
            "updated_at": f"{start} - INTERVAL 100 DAY",
        },
    )
