"""Courses, their sections and account associations, late policies and blueprint links.

The course mix (``h.course.kind``) covers what adoption marts must filter: current, past and
future term courses, sandboxes and blueprints and templates in the Default Term, courses in
"Manually-Created Courses", soft-deleted ones. Some current courses end early with
``restrict_enrollments_to_course_dates`` (their active enrollments are soft-concluded); some
sections are cross-listed (``course_id`` = host, ``nonxlist_course_id`` = original course).
"""

from __future__ import annotations

from extract.synth.context import GenContext
from extract.synth.rand import list_literal
from extract.synth.text import COURSE_TITLES, SUBJECTS

# kind, share of all courses, minimum count (so even the tiny profile has one of each)
SPECIAL_KINDS = [
    ("blueprint", 0.015, 1),
    ("template", 0.005, 1),
    ("sandbox", 0.04, 1),
    ("deleted", 0.02, 1),
    ("future", 0.06, 1),
    ("past", 0.16, 2),
    ("manual", 0.015, 1),
]


def _kind_bounds(total: int) -> list[tuple[str, int, int]]:
    """Rank ranges [lo, hi) per kind; the remaining ranks are current-term courses."""
    bounds, lo = [], 0
    for kind, share, minimum in SPECIAL_KINDS:
        n = max(minimum, round(total * share))
        bounds.append((kind, lo, lo + n))
        lo += n
    bounds.append(("current", lo, max(total, lo + 4)))
    return bounds


def build(ctx: GenContext) -> None:
    _course_plan(ctx)
    _build_courses(ctx)
    _build_sections(ctx)
    _build_associations(ctx)
    _build_policies(ctx)
    _build_blueprints(ctx)


def _course_plan(ctx: GenContext) -> None:
    r, p = ctx.rand, ctx.profile
    bounds = _kind_bounds(p.courses)
    total = bounds[-1][2]
    kind_case = " ".join(f"WHEN rank < {hi} THEN '{kind}'" for kind, _, hi in bounds)
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.course_rank AS
        SELECT range AS k, CAST(row_number() OVER (ORDER BY {r.h("course.rank", "range")}, range) - 1 AS BIGINT) AS rank
        FROM range({total})
    """)
    u = lambda tag: r.u(tag, "c.k")  # noqa: E731
    n_past = max(1, p.past_terms)
    subject_names = list_literal([name for _, name in SUBJECTS])
    subject_codes = list_literal([code for code, _ in SUBJECTS])
    titles = list_literal(COURSE_TITLES)
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.course_kind AS
        SELECT c.k, c.rank, CASE {kind_case} END AS kind FROM h.course_rank c
    """)
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.course AS
        WITH leaf AS (
            SELECT id, subject, row_number() OVER (ORDER BY id) - 1 AS i FROM h.account
            WHERE kind IN ('department', 'program')
        ), past AS (
            SELECT id, start_at, end_at, row_number() OVER (ORDER BY k DESC) - 1 AS i FROM h.term WHERE kind = 'past'
        ), base AS (
            SELECT c.k, c.kind, {ctx.base("courses")} + c.k AS id,
                   (SELECT id FROM leaf WHERE leaf.i = {r.index("(SELECT count(*) FROM leaf)", "course.acct", "c.k")})
                       AS leaf_id,
                   CASE c.kind
                       WHEN 'past' THEN (SELECT id FROM past WHERE past.i = {r.index(n_past, "course.term", "c.k")} %
                           (SELECT count(*) FROM past))
                       WHEN 'future' THEN (SELECT id FROM h.term WHERE kind = 'future')
                       WHEN 'current' THEN (SELECT id FROM h.term WHERE kind = 'current')
                       WHEN 'manual' THEN (SELECT id FROM h.term WHERE kind = 'current')
                       WHEN 'deleted' THEN (SELECT id FROM h.term WHERE kind = 'current')
                       ELSE (SELECT id FROM h.term WHERE kind = 'default')
                   END AS term_id,
                   {u("course.u1")} AS u1, {u("course.u2")} AS u2, {u("course.u3")} AS u3, {u("course.u4")} AS u4
            FROM h.course_kind c
        )
        SELECT b.*, t.start_at AS term_start, t.end_at AS term_end,
               CASE b.kind WHEN 'sandbox' THEN (SELECT id FROM h.account WHERE kind = 'sandbox')
                           WHEN 'manual' THEN (SELECT id FROM h.account WHERE kind = 'manual')
                           ELSE b.leaf_id END AS account_id,
               coalesce(a.subject, CAST(b.k AS INTEGER)) % {len(SUBJECTS)} AS subject,
               100 + CAST({r.h("course.number", "b.k")} % 400 AS INTEGER) AS number,
               b.kind IN ('current', 'past', 'future', 'blueprint', 'deleted') AS is_sis,
               CASE b.kind
                   WHEN 'current' THEN CASE WHEN b.u1 < 0.88 THEN 'available' WHEN b.u1 < 0.95 THEN 'claimed'
                                            WHEN b.u1 < 0.98 THEN 'created' ELSE 'completed' END
                   WHEN 'past' THEN CASE WHEN b.u1 < 0.85 THEN 'completed' ELSE 'available' END
                   WHEN 'future' THEN CASE WHEN b.u1 < 0.5 THEN 'claimed' WHEN b.u1 < 0.8 THEN 'created' ELSE
                       'available' END
                   WHEN 'sandbox' THEN CASE WHEN b.u1 < 0.5 THEN 'claimed' ELSE 'available' END
                   WHEN 'template' THEN 'claimed'
                   WHEN 'deleted' THEN 'deleted'
                   ELSE 'available'
               END AS workflow_state,
               -- a share of current courses is a short first-half session that already ended
               b.kind = 'current' AND (b.u2 < 0.08 OR b.k = (SELECT max(k) FROM h.course_kind WHERE kind = 'current'))
                   AS short_session,
               CASE WHEN b.kind IN ('current', 'past', 'manual')
                    THEN CAST(round({p.students_per_course} * (0.3 + 1.4 * b.u3) * (CASE WHEN b.u4 < 0.05 THEN 3 ELSE
                        1 END)) AS INTEGER)
                    WHEN b.kind = 'future' THEN CAST(round({p.students_per_course} * 0.4 * b.u3) AS INTEGER)
                    ELSE 0 END AS size,
               b.kind = 'current' AND {r.chance(0.6, "course.sv", "b.k")}
                   OR b.kind = 'past' AND {r.chance(0.2, "course.sv", "b.k")} AS has_student_view,
               {r.chance(0.4, "course.weighted", "b.k")} AS weighted,
               b.kind IN ('current', 'past') AND {r.chance(0.4, "course.late_policy", "b.k")} AS late_policy,
               {r.chance(0.1, "course.post_manual", "b.k")} AS post_manually,
               ({subject_codes})[1 + coalesce(a.subject, CAST(b.k AS INTEGER)) % {len(SUBJECTS)}] AS subject_code,
               replace(({titles})[1 + CAST({r.h("course.title", "b.k")} % {len(COURSE_TITLES)} AS BIGINT)], '{{s}}',
                       ({subject_names})[1 + coalesce(a.subject, CAST(b.k AS INTEGER)) % {len(SUBJECTS)}]) AS title
        FROM base b
        LEFT JOIN h.term t ON t.id = b.term_id
        LEFT JOIN h.account a ON a.id = b.leaf_id
    """)
    # number of sections: bigger courses get more; a third of the rest get a second one
    ctx.sql(f"""
        ALTER TABLE h.course ADD COLUMN n_sections INTEGER;
        UPDATE h.course SET n_sections = CASE
            WHEN kind = 'template' THEN 0
            WHEN kind NOT IN ('current', 'past', 'future') THEN 1
            ELSE 1 + CAST(size > 45 AS INTEGER) + CAST(size > 90 AS INTEGER)
                   + CAST({r.chance(0.35, "course.sections", "k")} AS INTEGER) END;
    """)


def _build_courses(ctx: GenContext) -> None:
    r = ctx.rand
    start = ctx.now
    code = "src.subject_code || ' ' || CAST(src.number AS VARCHAR)"
    created = (
        f"least(coalesce(src.term_start, {start}) - INTERVAL 60 DAY - to_days(CAST({r.h('course.created', 'src.k')} % "
        f"60 AS INTEGER)), {start} - INTERVAL 5 DAY)"
    )
    ctx.build(
        "courses",
        "SELECT * FROM h.course",
        {
            "name": f"""CASE src.kind
                WHEN 'sandbox' THEN 'Sandbox - ' || syn_first({r.h("course.owner", "src.k")}) || ' ' ||
                    syn_last({r.h("course.owner2", "src.k")})
                WHEN 'blueprint' THEN '[BLUEPRINT] ' || {code} || ': ' || src.title
                WHEN 'template' THEN 'Course Template ' || CAST(src.k AS VARCHAR)
                ELSE {code} || ': ' || src.title END""",
            "course_code": f"CASE src.kind WHEN 'sandbox' THEN 'SANDBOX-' || CAST(src.k AS VARCHAR) ELSE {code} END",
            "workflow_state": "src.workflow_state",
            "account_id": "src.account_id",
            "enrollment_term_id": "src.term_id",
            "sis_source_id": (
                "CASE WHEN src.is_sis THEN coalesce((SELECT code FROM h.term t WHERE t.id = src.term_id), 'BP') || "
                "'-' || src.subject_code || '-' || CAST(src.number AS VARCHAR) || '-' || CAST(src.k AS VARCHAR) END"
            ),
            "integration_id": "NULL",
            "sis_batch_id": f"CASE WHEN src.is_sis THEN {ctx.registry.lookup('sis_batches', 'src.k')} END",
            "start_at": (
                "CASE WHEN src.kind IN ('current', 'past', 'future', 'manual') AND "
                f"{r.chance(0.8, 'course.has_dates', 'src.k')} THEN src.term_start END"
            ),
            "conclude_at": f"""CASE WHEN src.short_session THEN least(src.term_start + INTERVAL 49 DAY, {start} -
                INTERVAL 3 DAY)
                WHEN src.kind IN ('current', 'past', 'future', 'manual') AND
                    {r.chance(0.8, "course.has_dates", "src.k")} THEN src.term_end END""",
            "restrict_enrollments_to_course_dates": (
                f"src.short_session OR (src.kind = 'past' AND {r.chance(0.1, 'course.restrict', 'src.k')})"
            ),
            "time_zone": (
                f"CASE WHEN src.u4 < 0.8 THEN '{ctx.profile.time_zone}' WHEN src.u4 < 0.92 THEN NULL ELSE "
                "'America/Chicago' END"
            ),
            "created_at": created,
            "updated_at": r.ts_between(created, start, "course.updated", "src.k"),
            "wiki_id": f"{ctx.base('wikis')} + src.k",
            "template": "src.kind = 'template'",
            "homeroom_course": "false",
            "sync_enrollments_from_homeroom": "false",
            "homeroom_course_id": "NULL",
            "template_course_id": "NULL",
            "replacement_course_id": "NULL",
            "abstract_course_id": "NULL",
            "allow_student_organized_groups": "true",
            "group_weighting_scheme": "CASE WHEN src.weighted THEN 'percent' ELSE 'equal' END",
            "default_view": r.pick(
                ["modules", "modules", "wiki", "feed", "assignments", "syllabus"], "course.view", "src.k"
            ),
            "syllabus_body": f"CASE WHEN {r.chance(0.6, 'course.syllabus', 'src.k')} THEN {_syllabus(ctx)} END",
            "is_public": "src.kind = 'template' OR src.u2 > 0.97",
            "license": r.pick(["private", "private", "cc_by", "public_domain"], "course.license", "src.k"),
            "locale": "CASE WHEN src.subject_code = 'SPAN' THEN 'es' WHEN src.subject_code = 'FREN' THEN 'fr' END",
            "self_enrollment": "false",
            "open_enrollment": "false",
            "uuid": r.token(40, "course.uuid", "src.k"),
            "lti_context_id": r.token(40, "course.lti", "src.k"),
            "grading_standard_id": "NULL",
            "storage_quota": "CASE WHEN src.kind = 'sandbox' THEN 104857600 END",
        },
        pick_nullable_fks=False,
    )


def _syllabus(ctx: GenContext) -> str:
    r = ctx.rand
    return (
        f"CASE WHEN {r.chance(0.03, 'course.syl_marker', 'src.k')} THEN syn_marker({r.h('course.syl_m', 'src.k')}) "
        f"WHEN {r.chance(0.05, 'course.syl_messy', 'src.k')} THEN syn_messy({r.h('course.syl_mm', 'src.k')}) "
        f"ELSE '<h2>Syllabus</h2>' || syn_html({r.h('course.syl', 'src.k')}, 4) END"
    )


def _build_sections(ctx: GenContext) -> None:
    r = ctx.rand
    base = ctx.base("course_sections")
    n_xlist = max(1, round(ctx.scalar("SELECT count(*) FROM h.course WHERE kind = 'current'") * 0.08))  # type: ignore[operator]
    # cross-listing: a few current courses give one section to the next current course by rank
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.xlist AS
        WITH cur AS (
            SELECT id, row_number() OVER (ORDER BY {r.h("xlist.order", "id")}, id) - 1 AS i
            FROM h.course WHERE kind = 'current' AND size > 0 AND workflow_state = 'available'
        )
        SELECT a.id AS source_course_id, b.id AS host_course_id
        FROM cur a JOIN cur b ON b.i = a.i + 1
        WHERE a.i % 2 = 0 AND a.i < {2 * n_xlist}
    """)
    ctx.sql(f"""
        CREATE OR REPLACE TABLE h.section AS
        WITH own AS (
            SELECT c.id AS course_id, CAST(unnest(range(c.n_sections)) AS INTEGER) AS s, NULL::BIGINT AS
                nonxlist_course_id
            FROM h.course c WHERE c.n_sections > 0
        ), xl AS (
            SELECT x.host_course_id AS course_id, 100 AS s, x.source_course_id AS nonxlist_course_id FROM h.xlist x
        ), dead AS (
            SELECT c.id AS course_id, 200 AS s, NULL::BIGINT FROM h.course c
            WHERE c.kind IN ('current', 'past') AND {r.chance(0.05, "section.dead", "c.id")}
        ), allsec AS (SELECT * FROM own UNION ALL SELECT * FROM xl UNION ALL SELECT * FROM dead)
        SELECT {base} + row_number() OVER (ORDER BY a.course_id, a.s) - 1 AS id, a.course_id, a.s,
               a.nonxlist_course_id, a.s = 0 AS default_section, a.s = 200 AS dead,
               c.kind AS course_kind, c.term_start, c.term_end, c.term_id,
               c.kind = 'current' AND a.s BETWEEN 1 AND 99 AND {r.chance(0.15, "section.ended", "a.course_id", "a.s")}
                   AS ended_early
        FROM allsec a JOIN h.course c ON c.id = a.course_id
    """)
    start = ctx.now
    created = f"least(coalesce(src.term_start, {start}) - INTERVAL 50 DAY, {start} - INTERVAL 4 DAY)"
    ctx.build(
        "course_sections",
        "SELECT s.*, c.course_code, c.name AS course_name, c.sis_source_id AS course_sis FROM h.section s "
        "JOIN m.courses c ON c.id = s.course_id",
        {
            "name": """CASE WHEN src.default_section THEN src.course_name
                WHEN src.nonxlist_course_id IS NOT NULL THEN (SELECT course_code FROM m.courses x WHERE x.id =
                    src.nonxlist_course_id) || ' Section 01'
                WHEN src.dead THEN src.course_code || ' Section 99 (cancelled)'
                ELSE src.course_code || ' Section ' || lpad(CAST(src.s + 1 AS VARCHAR), 2, '0') END""",
            "workflow_state": "CASE WHEN src.dead THEN 'deleted' ELSE 'active' END",
            "sis_source_id": (
                "CASE WHEN src.course_sis IS NOT NULL THEN src.course_sis || '-S' || CAST(src.s AS VARCHAR) END"
            ),
            "integration_id": "NULL",
            "sis_batch_id": (
                f"CASE WHEN src.course_sis IS NOT NULL THEN {ctx.registry.lookup('sis_batches', 'src.s')} END"
            ),
            "start_at": "CASE WHEN src.ended_early THEN src.term_start END",
            "end_at": f"CASE WHEN src.ended_early THEN {start} - INTERVAL 5 DAY END",
            "restrict_enrollments_to_section_dates": "src.ended_early",
            "default_section": "src.default_section",
            "accepting_enrollments": "NOT src.dead",
            "nonxlist_course_id": "src.nonxlist_course_id",
            "enrollment_term_id": "src.term_id",
            "created_at": created,
            "updated_at": r.ts_between(created, start, "section.updated", "src.id"),
        },
    )


def _build_associations(ctx: GenContext) -> None:
    """Each course with its account and every ancestor (depth 0 = own account)."""
    ctx.sql("""
        CREATE OR REPLACE TABLE h.account_chain AS
        WITH RECURSIVE chain(account_id, ancestor_id, depth) AS (
            SELECT id, id, 0 FROM h.account
            UNION ALL
            SELECT c.account_id, a.parent_id, c.depth + 1 FROM chain c JOIN h.account a ON a.id = c.ancestor_id
            WHERE a.parent_id IS NOT NULL
        ) SELECT * FROM chain
    """)
    start = ctx.now
    ctx.build(
        "course_account_associations",
        f"""
        SELECT {ctx.base("course_account_associations")} + row_number() OVER (ORDER BY course_id, course_section_id
            NULLS FIRST, depth) - 1 AS id, *
        FROM (
            SELECT c.id AS course_id, ch.ancestor_id AS account_id, NULL::BIGINT AS course_section_id, ch.depth
            FROM h.course c JOIN h.account_chain ch ON ch.account_id = c.account_id
            UNION ALL
            SELECT s.course_id, src.account_id, s.id, 0
            FROM h.section s JOIN h.course src ON src.id = s.nonxlist_course_id
        )
        """,
        {
            "created_at": "(SELECT created_at FROM m.courses c WHERE c.id = src.course_id)",
            "updated_at": (
                f"least((SELECT created_at FROM m.courses c WHERE c.id = src.course_id) + INTERVAL 1 DAY, {start})"
            ),
        },
    )


def _build_policies(ctx: GenContext) -> None:
    r = ctx.rand
    start = ctx.now
    ctx.build(
        "late_policies",
        f"""SELECT {ctx.base("late_policies")} + row_number() OVER (ORDER BY c.id) - 1 AS id, c.id AS course_id,
            c.term_start
            FROM h.course c WHERE c.late_policy OR c.id = (SELECT min(id) FROM h.course WHERE kind = 'current')""",
        {
            "created_at": f"least(coalesce(src.term_start, {start}) - INTERVAL 3 DAY, {start} - INTERVAL 2 DAY)",
            "updated_at": f"least(coalesce(src.term_start, {start}) + INTERVAL 2 DAY, {start} - INTERVAL 1 DAY)",
            "missing_submission_deduction_enabled": r.chance(0.5, "late.missing_on", "src.id"),
            "missing_submission_deduction": r.pick([100.0, 100.0, 50.0, 80.0], "late.missing", "src.id"),
            "late_submission_deduction_enabled": r.chance(0.8, "late.late_on", "src.id"),
            "late_submission_deduction": r.pick([5.0, 10.0, 10.0, 20.0, 2.5], "late.late", "src.id"),
            "late_submission_interval": r.pick(["day", "day", "hour"], "late.interval", "src.id"),
            "late_submission_minimum_percent_enabled": r.chance(0.3, "late.min_on", "src.id"),
            "late_submission_minimum_percent": r.pick([0.0, 50.0, 60.0], "late.min", "src.id"),
        },
    )


def _build_blueprints(ctx: GenContext) -> None:
    r = ctx.rand
    start = ctx.now
    ctx.build(
        "master_courses_master_templates",
        f"""SELECT {ctx.base("master_courses_master_templates")} + row_number() OVER (ORDER BY id) - 1 AS id,
                   id AS course_id FROM h.course WHERE kind = 'blueprint'""",
        {
            "workflow_state": "'active'",
            "full_course": "true",
            "active_migration_id": "NULL",
            "use_default_restrictions_by_type": "false",
            "created_at": f"{start} - INTERVAL 200 DAY",
            "updated_at": f"{start} - INTERVAL 20 DAY",
        },
    )
    # every blueprint feeds a handful of current courses
    ctx.build(
        "master_courses_child_subscriptions",
        f"""
        WITH t AS (SELECT id, course_id, row_number() OVER (ORDER BY id) - 1 AS i, count(*) OVER () AS n
                   FROM m.master_courses_master_templates)
        SELECT {ctx.base("master_courses_child_subscriptions")} + row_number() OVER (ORDER BY c.id) - 1 AS id,
               t.id AS master_template_id, c.id AS child_course_id
        FROM h.course c JOIN t ON t.i = {r.index("t.n", "bp.child", "c.id")}
        WHERE c.kind = 'current' AND ({r.chance(0.15, "bp.sub", "c.id")} OR c.id = (SELECT min(id) FROM h.course WHERE
            kind = 'current'))
        """,
        {
            "workflow_state": f"CASE WHEN {r.chance(0.1, 'bp.sub_dead', 'src.id')} THEN 'deleted' ELSE 'active' END",
            "use_selective_copy": r.chance(0.5, "bp.selective", "src.id"),
            "created_at": f"{start} - INTERVAL 90 DAY",
            "updated_at": f"{start} - INTERVAL 10 DAY",
        },
    )
