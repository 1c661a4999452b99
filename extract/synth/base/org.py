"""The institution's skeleton: account tree, terms, grading periods and roles.

* accounts: root → colleges → departments → (some) programs, plus "Manually-Created Courses",
  "Sandboxes" and a soft-deleted account; course-holding accounts are listed in ``h.account``.
* enrollment_terms: "Default Term", past terms, the current term (containing the start
  time), one future term, and a soft-deleted term; dates are local midnights in UTC (``h.term``).
* grading_period_groups / grading_periods for the current and the latest past term.
* roles: the built-in base roles plus custom ones (``base_role_type`` is what counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from extract.synth.context import GenContext
from extract.synth.ids import id_base
from extract.synth.profiles import Profile
from extract.synth.sqlutil import values_source
from extract.synth.text import SUBJECTS

COLLEGES = [
    "College of Arts & Sciences", "College of Engineering", "School of Nursing", "College of Business",
    "School of Education", "College of Fine Arts", "Graduate School", "College of Agriculture",
]  # fmt: skip

# (name, base_role_type, workflow_state); built-in roles are named after their base type
ROLES = [
    ("StudentEnrollment", "StudentEnrollment", "built_in"),
    ("TeacherEnrollment", "TeacherEnrollment", "built_in"),
    ("TaEnrollment", "TaEnrollment", "built_in"),
    ("DesignerEnrollment", "DesignerEnrollment", "built_in"),
    ("ObserverEnrollment", "ObserverEnrollment", "built_in"),
    ("AccountAdmin", "AccountAdmin", "built_in"),
    ("Grader", "TaEnrollment", "active"),
    ("Guest Lecturer", "TeacherEnrollment", "active"),
    ("Auditor", "StudentEnrollment", "active"),
    ("Support Staff", "AccountMembership", "active"),
    ("Librarian", "TaEnrollment", "inactive"),
    ("Old Custom Role", "StudentEnrollment", "deleted"),
    ("No Permissions", "NoPermissions", "active"),
]
ROLE_INDEX = {name: k for k, (name, _, _) in enumerate(ROLES)}


@dataclass(frozen=True)
class Term:
    k: int
    name: str
    code: str | None
    kind: str  # default, past, current, future, deleted
    start: datetime | None
    end: datetime | None


def local_to_utc(day: date, tz: ZoneInfo, at: time = time(0, 0)) -> datetime:
    return datetime.combine(day, at, tzinfo=tz).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def term_calendar(profile: Profile) -> list[Term]:
    """Default Term, ``past_terms`` past terms, the current one, one future term and a deleted one."""
    tz = ZoneInfo(profile.time_zone)
    seasons = [("Spring", "SP", (1, 13), (5, 9)), ("Summer", "SU", (5, 19), (8, 8)), ("Fall", "FA", (8, 26), (12, 20))]
    dated: list[tuple[str, str, datetime, datetime]] = []
    for year in range(profile.start.year - 3, profile.start.year + 2):
        for season, code, (m1, d1), (m2, d2) in seasons:
            begin = local_to_utc(date(year, m1, d1), tz)
            finish = local_to_utc(date(year, m2, d2), tz, time(23, 59, 59))
            dated.append((f"{season} {year}", f"{year}{code}", begin, finish))
    current = max(i for i, term in enumerate(dated) if term[2] <= profile.start)
    chosen = dated[current - profile.past_terms : current + 2]
    terms = [Term(0, "Default Term", None, "default", None, None)]
    for offset, (name, code, begin, finish) in enumerate(chosen):
        index = current - profile.past_terms + offset
        kind = "past" if index < current else "current" if index == current else "future"
        terms.append(Term(len(terms), name, code, kind, begin, finish))
    terms.append(Term(len(terms), "Test Term (do not use)", "TEST", "deleted", None, None))
    return terms


def _accounts(profile: Profile) -> list[tuple[int, int | None, int, str, str, str | None, int | None]]:
    """(k, parent_k, level, kind, name, sis code, subject index) in a fixed order."""
    rows: list[tuple[int, int | None, int, str, str, str | None, int | None]] = [
        (0, None, 0, "root", "Synthetic State University", None, None)
    ]
    subject = 0
    for c in range(profile.colleges):
        college_k = len(rows)
        rows.append((college_k, 0, 1, "college", COLLEGES[c % len(COLLEGES)], f"COL{c + 1:02d}", None))
        for _ in range(profile.departments_per_college):
            code, name = SUBJECTS[subject % len(SUBJECTS)]
            dept_k = len(rows)
            rows.append(
                (dept_k, college_k, 2, "department", f"Department of {name}", f"DEPT-{code}-{subject}", subject)
            )
            for p in range(profile.programs_per_department if subject % 2 == 0 else 0):
                label = ("Online", "Honors", "Graduate")[p % 3]
                rows.append((len(rows), dept_k, 3, "program", f"{label} {name}", f"PRG-{code}-{subject}-{p}", subject))
            subject += 1
    rows.append((len(rows), 0, 1, "manual", "Manually-Created Courses", None, None))
    rows.append((len(rows), 0, 1, "sandbox", "Sandboxes", None, None))
    rows.append((len(rows), 0, 1, "deleted", "Archived Programs", "OLD-ARCH", None))
    return rows


def build(ctx: GenContext) -> None:
    _build_accounts(ctx)
    _build_terms(ctx)
    _build_roles(ctx)


def _build_accounts(ctx: GenContext) -> None:
    r, base = ctx.rand, ctx.base("accounts")
    rows = _accounts(ctx.profile)
    ctx.sql(
        "CREATE OR REPLACE TABLE h.account AS SELECT "
        f"{base} + k AS id, CASE WHEN parent_k IS NULL THEN NULL ELSE {base} + parent_k END AS parent_id, "
        "level, kind, name, code, subject FROM ("
        + values_source(["k", "parent_k", "level", "kind", "name", "code", "subject"], rows)
        + ")"
    )
    created = (
        f"(TIMESTAMP '2016-06-01' + to_days(CAST(src.level * 200 + {r.index(100, 'acct.created', 'src.id')} AS "
        "INTEGER)))"
    )
    ctx.build(
        "accounts",
        "SELECT * FROM h.account",
        {
            "name": "src.name",
            "parent_account_id": "src.parent_id",
            "workflow_state": "CASE src.kind WHEN 'deleted' THEN 'deleted' ELSE 'active' END",
            "created_at": created,
            "updated_at": r.ts_between(created, ctx.now, "acct.updated", "src.id"),
            "default_time_zone": (
                f"CASE WHEN src.level = 0 THEN '{ctx.profile.time_zone}' WHEN src.id % 7 = 3 THEN 'America/Chicago' END"
            ),
            "default_locale": "CASE WHEN src.level = 0 THEN 'en' END",
            "sis_source_id": "src.code",
            "integration_id": "CASE WHEN src.kind = 'college' THEN 'INT-' || src.code END",
            "consortium_parent_account_id": "NULL",
            "course_template_id": "NULL",
            "current_sis_batch_id": (f"CASE WHEN src.level = 0 THEN {ctx.registry.lookup('sis_batches', '0')} END"),
            "lti_context_id": r.token(40, "acct.lti", "src.id"),
            "uuid": r.token(40, "acct.uuid", "src.id"),
        },
    )


def _build_terms(ctx: GenContext) -> None:
    r = ctx.rand
    terms = term_calendar(ctx.profile)
    base = ctx.base("enrollment_terms")
    gpg_base = ctx.base("grading_period_groups")
    rows = [(t.k, t.name, t.code, t.kind, t.start, t.end) for t in terms]
    latest_past = max((t.k for t in terms if t.kind == "past"), default=None)
    ctx.sql(
        "CREATE OR REPLACE TABLE h.term AS SELECT "
        f"{base} + k AS id, k, name, code, kind, CAST(start_at AS TIMESTAMP) AS start_at, "
        "CAST(end_at AS TIMESTAMP) AS end_at, "
        f"CASE kind WHEN 'current' THEN {gpg_base} WHEN 'past' THEN "
        f"(CASE WHEN k = {latest_past if latest_past is not None else -1} THEN {gpg_base + 1} END) END "
        "AS grading_period_group_id FROM ("
        + values_source(["k", "name", "code", "kind", "start_at", "end_at"], rows)
        + ")"
    )
    created = "coalesce(src.start_at - INTERVAL 120 DAY, TIMESTAMP '2016-06-01')"
    ctx.build(
        "enrollment_terms",
        "SELECT * FROM h.term",
        {
            "name": "src.name",
            "workflow_state": "CASE src.kind WHEN 'deleted' THEN 'deleted' ELSE 'active' END",
            "start_at": "src.start_at",
            "end_at": "src.end_at",
            "created_at": f"least({created}, {ctx.now} - INTERVAL 2 DAY)",
            "updated_at": r.ts_between(f"least({created}, {ctx.now} - INTERVAL 2 DAY)", ctx.now, "term.upd", "src.id"),
            "sis_source_id": "CASE WHEN src.code IS NOT NULL THEN 'TERM-' || src.code END",
            "term_code": "src.code",
            "integration_id": "NULL",
            "sis_batch_id": f"CASE WHEN src.code IS NOT NULL THEN {ctx.registry.lookup('sis_batches', 'src.k')} END",
            "grading_period_group_id": "src.grading_period_group_id",
        },
    )
    # grading period groups: current term, latest past term, and a deleted leftover
    ctx.build(
        "grading_period_groups",
        f"SELECT {gpg_base} + k AS id, k FROM range(3) AS t(k)",
        {
            "account_id": str(ctx.base("accounts")),
            "course_id": "NULL",
            "workflow_state": "CASE WHEN src.k = 2 THEN 'deleted' ELSE 'active' END",
            "weighted": "src.k = 1",
            "display_totals_for_all_grading_periods": "false",
            "title": "(['Semester Periods', 'Previous Semester Periods', 'Quarters (retired)'])[src.k + 1]",
        },
    )
    # two halves per grouped term; a retired quarter in the deleted group
    ctx.build(
        "grading_periods",
        f"""
        SELECT {ctx.base("grading_periods")} + row_number() OVER (ORDER BY t.k, half) - 1 AS id,
               t.grading_period_group_id AS gpg, half, t.start_at, t.end_at, false AS retired
        FROM h.term t, range(2) AS hh(half) WHERE t.grading_period_group_id IS NOT NULL
        UNION ALL
        SELECT {ctx.base("grading_periods")} + 100, {gpg_base + 2}, 0, {ctx.now} - INTERVAL 700 DAY,
               {ctx.now} - INTERVAL 610 DAY, true
        """,
        {
            "grading_period_group_id": "src.gpg",
            "workflow_state": "CASE WHEN src.retired THEN 'deleted' ELSE 'active' END",
            "start_date": "src.start_at + (src.end_at - src.start_at) * (src.half / 2.0)",
            "end_date": "src.start_at + (src.end_at - src.start_at) * ((src.half + 1) / 2.0)",
            "close_date": "src.start_at + (src.end_at - src.start_at) * ((src.half + 1) / 2.0) + INTERVAL 7 DAY",
            "title": (
                "CASE WHEN src.retired THEN 'Quarter 1' WHEN src.half = 0 THEN 'First Half' ELSE 'Second Half' END"
            ),
            "weight": "50.0",
            "created_at": "least(src.start_at - INTERVAL 30 DAY, " + ctx.now + " - INTERVAL 1 DAY)",
            "updated_at": "least(src.start_at - INTERVAL 20 DAY, " + ctx.now + " - INTERVAL 1 DAY)",
        },
    )


def _build_roles(ctx: GenContext) -> None:
    base = ctx.base("roles")
    rows = [(k, name, base_type, state) for k, (name, base_type, state) in enumerate(ROLES)]
    ctx.build(
        "roles",
        f"SELECT {base} + k AS id, * FROM (" + values_source(["k", "role_name", "base_type", "state"], rows) + ")",
        {
            "name": "src.role_name",
            "base_role_type": "src.base_type",
            "workflow_state": "src.state",
            "account_id": str(ctx.base("accounts")),
            "created_at": "TIMESTAMP '2016-06-01' + to_days(CAST(src.k * 31 AS INTEGER))",
            "updated_at": "TIMESTAMP '2017-06-01' + to_days(CAST(src.k * 37 AS INTEGER))",
        },
    )


def role_id(name: str) -> int:
    return id_base("roles") + ROLE_INDEX[name]
