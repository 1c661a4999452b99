"""Reference for M1: effective enrollment status (fct_enrollment_status) and student x course (mart_student_course)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from extract.tests.marts_reference import MartRows, Row, Truth, per_truth

TEACHER_SIDE = {"TeacherEnrollment", "TaEnrollment", "DesignerEnrollment"}
STATUS_RANK = {"active": 1, "not_started": 2, "soft_concluded": 3, "completed": 4, "inactive": 5}


@per_truth
def test_user_ids(truth: Truth) -> set[int]:
    return {e["user_id"] for e in truth.rows("enrollments") if e["type"] == "StudentViewEnrollment"}


def _by_id(rows: list[Row]) -> dict[Any, Row]:
    return {r["id"]: r for r in rows}


def _effective_dates(section: Row | None, course: Row | None, term: Row | None) -> tuple[Any, Any, str | None]:
    """Section dates when the section restricts to them, else the course's when it does, else the term's."""
    if section and section["restrict_enrollments_to_section_dates"] and section["start_at"] is not None:
        start = section["start_at"]
    elif course and course["restrict_enrollments_to_course_dates"] and course["start_at"] is not None:
        start = course["start_at"]
    else:
        start = term["start_at"] if term else None
    if section and section["restrict_enrollments_to_section_dates"] and section["end_at"] is not None:
        return start, section["end_at"], "section"
    if course and course["restrict_enrollments_to_course_dates"] and course["conclude_at"] is not None:
        return start, course["conclude_at"], "course"
    if term and term["end_at"] is not None:
        return start, term["end_at"], "term"
    return start, None, None


def _status(state: str, now: datetime, start: datetime | None, end: datetime | None) -> str:
    if state in ("invited", "creation_pending"):
        return "pending"
    if state in ("inactive", "completed"):
        return state
    if end is not None and now >= end:
        return "soft_concluded"
    if start is not None and now < start:
        return "not_started"
    return "active"


@per_truth
def effective_enrollments(truth: Truth) -> list[Row]:
    """Every enrollment but deleted/rejected ones and test students, with user_id.

    Like int_enrollment__effective_enrollments."""
    sections = _by_id(truth.rows("course_sections"))
    courses = _by_id(truth.rows("courses"))
    terms = _by_id(truth.rows("enrollment_terms"))
    roles = _by_id(truth.rows("roles"))
    tests = test_user_ids(truth)
    out: list[Row] = []
    for e in truth.rows("enrollments"):
        if e["workflow_state"] in ("deleted", "rejected") or e["type"] == "StudentViewEnrollment":
            continue
        if e["user_id"] in tests:
            continue
        course = courses.get(e["course_id"])
        term = terms.get(course["enrollment_term_id"]) if course else None
        role = roles.get(e["role_id"])
        base = (role["base_role_type"] if role else None) or e["type"]
        start, end, source = _effective_dates(sections.get(e["course_section_id"]), course, term)
        status = _status(e["workflow_state"], truth.as_of, start, end)
        out.append(
            {
                "enrollment_id": e["id"],
                "user_id": e["user_id"],
                "course_id": e["course_id"],
                "course_section_id": e["course_section_id"],
                "term_id": course["enrollment_term_id"] if course else None,
                "enrollment_type": e["type"],
                "role_id": e["role_id"],
                "base_role_type": base,
                "is_student": base == "StudentEnrollment",
                "is_teacher_side": base in TEACHER_SIDE,
                "is_observer": base == "ObserverEnrollment",
                "workflow_state": e["workflow_state"],
                "effective_start_at": start,
                "effective_end_at": end,
                "effective_end_source": source,
                "effective_status": status,
                "is_active": status == "active",
                "created_at": e["created_at"],
                "start_at": e["start_at"],
                "end_at": e["end_at"],
                "completed_at": e["completed_at"],
                "last_activity_at": e["last_activity_at"],
                "last_attended_at": e["last_attended_at"],
                "total_activity_time": e["total_activity_time"],
            }
        )
    return out


def _max(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _min(values: list[Any]) -> Any:
    present = [v for v in values if v is not None]
    return min(present) if present else None


@per_truth
def student_courses(truth: Truth) -> list[Row]:
    """One row per student x course with the best status of the student's enrollments.

    Like int_enrollment__student_courses."""
    groups: dict[tuple[int, int], list[Row]] = {}
    for e in effective_enrollments(truth):
        if e["is_student"]:
            groups.setdefault((e["user_id"], e["course_id"]), []).append(e)
    out: list[Row] = []
    for (user_id, course_id), rows in groups.items():
        best = min(rows, key=lambda r: STATUS_RANK.get(r["effective_status"], 6))
        out.append(
            {
                "user_id": user_id,
                "course_id": course_id,
                "term_id": rows[0]["term_id"],
                "n_enrollments": len(rows),
                "n_sections": len({r["course_section_id"] for r in rows if r["course_section_id"] is not None}),
                "effective_status": best["effective_status"],
                "is_active": any(r["is_active"] for r in rows),
                "first_enrolled_at": _min([r["created_at"] for r in rows]),
                "last_activity_at": _max([r["last_activity_at"] for r in rows]),
                "total_activity_time": _max([r["total_activity_time"] for r in rows]),
            }
        )
    return out


def _keyed(truth: Truth, rows: list[Row]) -> list[Row]:
    out = []
    for row in rows:
        keyed = {"user_key": truth.user_key(row["user_id"])}
        keyed.update({k: v for k, v in row.items() if k != "user_id"})
        out.append(keyed)
    return out


def compute(truth: Truth) -> dict[str, MartRows]:
    return {
        "fct_enrollment_status": MartRows(("enrollment_id",), _keyed(truth, effective_enrollments(truth))),
        "mart_student_course": MartRows(("user_key", "course_id"), _keyed(truth, student_courses(truth))),
    }
