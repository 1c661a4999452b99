"""Reference for M11: course adoption (mart_course_adoption) and its roll-up to every account of the tree
per term (mart_adoption_by_account_term).

Definitions (DECISIONLOG.md): structure counts are mart_course_design's; students are the
student x course pairs whose best status is not_started, active, soft_concluded or completed; active
students are those with an active enrollment; "active in the last 7 days" = mart_last_activity's
last_activity_ts >= as_of - 7 days; teachers = distinct teacher-side users with an active enrollment;
teacher page views = the activity page-view rule over requests of teacher-side members of the course
(no masquerade) in [as_of - 30 days, as_of]. Suppression on the course's (or row's) students.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Any

from extract.tests.marts_reference import MartRows, Row, Truth
from extract.tests.marts_reference.activity import classify, last_activity, student_requests
from extract.tests.marts_reference.core import dim_account, dim_course
from extract.tests.marts_reference.courses import mart_course_design
from extract.tests.marts_reference.enrollment import effective_enrollments, student_courses
from extract.tests.marts_reference.submissions import submissions

ENROLLED = {"not_started", "active", "soft_concluded", "completed"}


def quantile_cont(values: list[float], q: float) -> float | None:
    """DuckDB quantile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def teacher_page_views(truth: Truth, enrollments: list[Row]) -> dict[int, int]:
    """Page views in [as_of - 30 days, as_of] by teacher-side members of the course, per course."""
    teachers = {(e["user_id"], e["course_id"]) for e in enrollments if e["is_teacher_side"]}
    start = truth.as_of - timedelta(days=30)
    out: dict[int, int] = defaultdict(int)
    for w in truth.web_logs:
        if w["real_user_id"] is not None or (w["user_id"], w["course_id"]) not in teachers:
            continue
        if not start <= w["timestamp"] <= truth.as_of:
            continue
        if classify(truth, w).is_page_view:
            out[w["course_id"]] += 1
    return out


def course_adoption(truth: Truth) -> list[Row]:
    cell_size = int(truth.params.get("cd2_min_cell_size", 10))
    enrollments = effective_enrollments(truth)
    keys = {e["user_id"]: truth.user_key(e["user_id"]) for e in enrollments}
    students = student_courses(truth)
    courses = {c["course_id"]: c for c in dim_course(truth)}

    n_students: dict[int, int] = defaultdict(int)
    active: set[tuple[str, int]] = set()
    for sc in students:
        if sc["effective_status"] in ENROLLED:
            n_students[sc["course_id"]] += 1
        if sc["is_active"]:
            active.add((keys[sc["user_id"]], sc["course_id"]))
    n_active: dict[int, int] = defaultdict(int)
    for _, course_id in active:
        n_active[course_id] += 1

    latest: dict[tuple[str, int], Any] = {}
    for la in last_activity(truth, student_requests(truth), {k: v for k, v in keys.items() if v is not None}):
        pair = (la["user_key"], la["course_id"])
        if pair not in active:
            continue
        ts = la["last_activity_ts"]
        if pair not in latest or (ts is not None and (latest[pair] is None or ts > latest[pair])):
            latest[pair] = ts
    since = truth.as_of - timedelta(days=7)
    n_recent: dict[int, int] = defaultdict(int)
    for (_, course_id), ts in latest.items():
        if ts is not None and ts >= since:
            n_recent[course_id] += 1

    teachers: dict[int, set[int]] = defaultdict(set)
    for e in enrollments:
        if e["is_teacher_side"] and e["is_active"]:
            teachers[e["course_id"]].add(e["user_id"])

    graded: dict[int, int] = defaultdict(int)
    for s in submissions(truth):
        graded[s["course_id"]] += bool(s["is_graded"])

    views = teacher_page_views(truth, enrollments)

    out: list[Row] = []
    for d in mart_course_design(truth):
        course_id = d["course_id"]
        course = courses[course_id]
        students_n = n_students[course_id]
        active_n = n_active[course_id]
        shown = students_n >= cell_size
        out.append(
            {
                "course_id": course_id,
                "term_id": d["term_id"],
                "account_id": d["account_id"],
                "publish_state": course["publish_state"],
                "is_published": course["is_published"],
                "is_non_teaching": course["is_non_teaching"],
                "has_students": students_n > 0,
                "n_students": students_n if shown else None,
                "n_students_active": active_n if shown else None,
                "n_teachers": len(teachers[course_id]),
                "pct_students_active_7d": (n_recent[course_id] / active_n if shown and active_n >= cell_size else None),
                "n_published_assignments": d["n_assignments"],
                "n_graded_submissions": graded[course_id] if shown else None,
                "uses_gradebook": graded[course_id] > 0,
                "n_modules": d["n_modules"],
                "uses_modules": d["n_module_items"] > 0,
                "n_pages": d["n_pages"],
                "n_files": d["n_files"],
                "n_discussions": d["n_discussions"],
                "n_announcements": d["n_announcements"],
                "n_quizzes": d["n_quizzes"],
                "has_syllabus": course["has_syllabus"],
                "teacher_page_views_30d": views.get(course_id, 0),
                "is_suppressed": not shown,
            }
        )
    return out


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def adoption_by_account_term(truth: Truth, adoption: list[Row]) -> list[Row]:
    cell_size = int(truth.params.get("cd2_min_cell_size", 10))
    exclude = bool(truth.params.get("cd2_exclude_non_teaching_courses", True))
    accounts = {a["account_id"]: a for a in dim_account(truth)}
    in_scope = [c for c in adoption if not (exclude and c["is_non_teaching"])]

    cells: dict[tuple[int, int], list[Row]] = defaultdict(list)
    course_cells: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for c in in_scope:
        account = accounts.get(c["account_id"])
        path = account["account_id_path"] if account else [c["account_id"]]
        for ancestor in path:
            cells[(ancestor, c["term_id"])].append(c)
            course_cells[c["course_id"]].append((ancestor, c["term_id"]))

    enrolled: dict[tuple[int, int], set[int]] = defaultdict(set)
    active: dict[tuple[int, int], set[int]] = defaultdict(set)
    for sc in student_courses(truth):
        for cell in course_cells.get(sc["course_id"], []):
            if sc["effective_status"] in ENROLLED:
                enrolled[cell].add(sc["user_id"])
            if sc["is_active"]:
                active[cell].add(sc["user_id"])

    out: list[Row] = []
    for (account_id, term_id), rows in cells.items():
        account = accounts.get(account_id)
        taught = [c for c in rows if c["has_students"]]
        n_taught = len(taught)
        n_gradebook = sum(c["uses_gradebook"] for c in taught)
        n_modules = sum(c["uses_modules"] for c in taught)
        n_syllabus = sum(c["has_syllabus"] for c in taught)
        rates = [c["pct_students_active_7d"] for c in rows if c["pct_students_active_7d"] is not None]
        n_enrolled = len(enrolled[(account_id, term_id)])
        shown = n_enrolled >= cell_size
        n_published = sum(c["is_published"] for c in rows)
        out.append(
            {
                "account_id": account_id,
                "term_id": term_id,
                "account_depth": account["depth"] if account else None,
                "account_path": account["account_path"] if account else None,
                "n_courses": len(rows),
                "n_published": n_published,
                "pct_published": n_published / len(rows),
                "n_courses_with_students": n_taught,
                "n_courses_using_gradebook": n_gradebook,
                "pct_using_gradebook": _share(n_gradebook, n_taught),
                "n_courses_using_modules": n_modules,
                "pct_using_modules": _share(n_modules, n_taught),
                "n_courses_with_syllabus": n_syllabus,
                "pct_with_syllabus": _share(n_syllabus, n_taught),
                "n_students": n_enrolled if shown else None,
                "n_students_active": len(active[(account_id, term_id)]) if shown else None,
                "n_courses_with_activity_rate": len(rates),
                "median_pct_students_active_7d": quantile_cont(rates, 0.5) if shown else None,
                "teacher_page_views_30d": sum(c["teacher_page_views_30d"] for c in rows),
                "is_suppressed": not shown,
            }
        )
    return out


def compute(truth: Truth) -> dict[str, MartRows]:
    adoption = course_adoption(truth)
    return {
        "mart_course_adoption": MartRows(("course_id",), adoption),
        "mart_adoption_by_account_term": MartRows(("account_id", "term_id"), adoption_by_account_term(truth, adoption)),
    }
