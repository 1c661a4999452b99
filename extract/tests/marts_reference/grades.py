"""Reference for M2/M6: course grades (current and daily), assignment-group grades, grade distribution and summary."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from extract.tests.marts_reference import MartRows, Row, Truth, per_truth
from extract.tests.marts_reference.enrollment import effective_enrollments

# T5: which of a student's enrollments in a course stands for the student in course-level marts.
GRADE_STATUS_RANK = {"active": 1, "soft_concluded": 2, "completed": 3, "not_started": 4, "inactive": 5}
IN_DISTRIBUTION = ("active", "soft_concluded", "completed")
BANDS: list[tuple[str, int, float | None]] = [
    ("A", 1, 90.0),
    ("B", 2, 80.0),
    ("C", 3, 70.0),
    ("D", 4, 60.0),
    ("F", 5, None),
    ("no_grade", 6, None),
]


def quantile_cont(values: list[float], q: float) -> float | None:
    """DuckDB ``quantile_cont``: linear interpolation between the order statistics around (n - 1) * q."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = math.floor(pos)
    hi = math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _latest(rows: list[Row]) -> Row:
    """The row with the latest updated_at (nulls last), then the highest id."""
    return max(rows, key=lambda r: (r["updated_at"] is not None, r["updated_at"] or datetime.min, r["id"]))


def _student_enrollments(truth: Truth) -> dict[int, Row]:
    return {
        e["enrollment_id"]: e
        for e in effective_enrollments(truth)
        if e["is_student"] and e["effective_status"] != "pending"
    }


@per_truth
def course_grade_current(truth: Truth) -> list[Row]:
    enrollments = _student_enrollments(truth)
    by_enrollment: dict[int, list[Row]] = {}
    for s in truth.rows("scores"):
        if (
            s["course_score"]
            and s["workflow_state"] == "active"
            and s["assignment_group_id"] is None
            and s["grading_period_id"] is None
        ):
            by_enrollment.setdefault(s["enrollment_id"], []).append(s)
    rows: list[Row] = []
    for enrollment_id, candidates in by_enrollment.items():
        e = enrollments.get(enrollment_id)
        if e is None:
            continue
        s = _latest(candidates)
        override, current = s["override_score"], s["current_score"]
        rows.append(
            {
                "enrollment_id": enrollment_id,
                "user_key": truth.user_key(e["user_id"]),
                "course_id": e["course_id"],
                "course_section_id": e["course_section_id"],
                "current_score": current,
                "final_score": s["final_score"],
                "unposted_current_score": s["unposted_current_score"],
                "unposted_final_score": s["unposted_final_score"],
                "override_score": override,
                "effective_score": override if override is not None else current,
                "course_z": None,
                "is_primary_in_course": False,
                "score_updated_at": s["updated_at"],
                "effective_status": e["effective_status"],
            }
        )
    # T5: one row per student and course: best status, latest score update, lowest enrollment id
    groups: dict[tuple[str, int], list[Row]] = {}
    for r in rows:
        groups.setdefault((r["user_key"], r["course_id"]), []).append(r)
    for members in groups.values():
        best = min(
            members,
            key=lambda r: (
                GRADE_STATUS_RANK.get(r["effective_status"], 5),
                r["score_updated_at"] is None,
                -(r["score_updated_at"].timestamp() if r["score_updated_at"] else 0.0),
                r["enrollment_id"],
            ),
        )
        best["is_primary_in_course"] = True
    # course_z over the active students' (one row each) effective scores, population sd
    population: dict[int, list[float]] = {}
    for r in rows:
        if r["is_primary_in_course"] and r["effective_status"] == "active" and r["effective_score"] is not None:
            population.setdefault(r["course_id"], []).append(r["effective_score"])
    for r in rows:
        values = population.get(r["course_id"], [])
        if len(values) < 2 or r["effective_score"] is None:
            continue
        mean = sum(values) / len(values)
        sd = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
        if sd > 0:
            r["course_z"] = (r["effective_score"] - mean) / sd
    return rows


def course_grade_daily(truth: Truth) -> list[Row]:
    """Each sync (earlier ones, then this one) gives the rows of its local as-of date; the latest sync per date wins."""
    by_date: dict[Any, list[Row]] = {}
    for t in [*truth.earlier, truth]:
        local_now = t.local(t.as_of)
        assert local_now is not None
        snapshot_date = local_now.date()
        by_date[snapshot_date] = [
            {
                "snapshot_date": snapshot_date,
                "enrollment_id": r["enrollment_id"],
                "user_key": r["user_key"],
                "course_id": r["course_id"],
                "current_score": r["current_score"],
                "final_score": r["final_score"],
                "effective_score": r["effective_score"],
            }
            for r in course_grade_current(t)
        ]
    return [row for rows in by_date.values() for row in rows]


def assignment_group_grade(truth: Truth) -> list[Row]:
    enrollments = _student_enrollments(truth)
    groups = {g["id"]: g for g in truth.rows("assignment_groups")}
    candidates: dict[tuple[int, int], list[Row]] = {}
    for s in truth.rows("scores"):
        if not s["course_score"] and s["workflow_state"] == "active" and s["assignment_group_id"] is not None:
            candidates.setdefault((s["enrollment_id"], s["assignment_group_id"]), []).append(s)
    rows: list[Row] = []
    for (enrollment_id, group_id), scores in candidates.items():
        e = enrollments.get(enrollment_id)
        g = groups.get(group_id)
        if e is None or g is None or g["workflow_state"] == "deleted":
            continue
        s = _latest(scores)
        rows.append(
            {
                "enrollment_id": enrollment_id,
                "assignment_group_id": group_id,
                "user_key": truth.user_key(e["user_id"]),
                "course_id": e["course_id"],
                "group_weight": g["group_weight"],
                "current_score": s["current_score"],
                "final_score": s["final_score"],
                "unposted_current_score": s["unposted_current_score"],
                "unposted_final_score": s["unposted_final_score"],
                "score_updated_at": s["updated_at"],
                "effective_status": e["effective_status"],
            }
        )
    return rows


def _courses(truth: Truth) -> dict[int, Row]:
    """dim_course rows by course_id (term_id, is_non_teaching) from the core reference."""
    from extract.tests.marts_reference import core

    return {r["course_id"]: r for r in core.compute(truth)["dim_course"].rows}


def _distribution_students(truth: Truth, current: list[Row]) -> dict[int, list[Row]]:
    """Per course: one row per student (primary enrollment), active or concluded, in live teaching courses."""
    courses = _courses(truth)
    exclude = bool(truth.params.get("cd2_exclude_non_teaching_courses", True))
    out: dict[int, list[Row]] = {}
    for r in current:
        course = courses.get(r["course_id"])
        if course is None or not r["is_primary_in_course"] or r["effective_status"] not in IN_DISTRIBUTION:
            continue
        if course["is_deleted"]:
            continue
        if exclude and course["is_non_teaching"]:
            continue
        out.setdefault(r["course_id"], []).append(r)
    return out


def _band(score: float | None) -> str:
    if score is None:
        return "no_grade"
    for name, _, lower in BANDS:
        if lower is not None and score >= lower:
            return name
    return "F"


def grade_distribution(truth: Truth, current: list[Row]) -> tuple[list[Row], list[Row]]:
    courses = _courses(truth)
    min_cell = int(truth.params.get("cd2_min_cell_size", 10))
    threshold = float(truth.params.get("cd2_grade_dfw_threshold", 70))
    bands: list[Row] = []
    summary: list[Row] = []
    for course_id, students in _distribution_students(truth, current).items():
        n = len({s["user_key"] for s in students})
        shown = n >= min_cell
        term_id = courses[course_id]["term_id"]
        counts: dict[str, int] = {}
        for s in students:
            band = _band(s["effective_score"])
            counts[band] = counts.get(band, 0) + 1
        for name, order, lower in BANDS:
            count = counts.get(name, 0)
            bands.append(
                {
                    "course_id": course_id,
                    "grade_band": name,
                    "term_id": term_id,
                    "band_order": order,
                    "band_min_score": lower,
                    "n_students": count if shown else None,
                    "pct_of_students": count / n if shown else None,
                    "is_suppressed": not shown,
                }
            )
        scores = [s["effective_score"] for s in students if s["effective_score"] is not None]
        below = sum(1 for v in scores if v < threshold)
        summary.append(
            {
                "course_id": course_id,
                "term_id": term_id,
                "n_students": n if shown else None,
                "n_graded": len(scores) if shown else None,
                "mean_score": (sum(scores) / len(scores) if scores else None) if shown else None,
                "median_score": quantile_cont(scores, 0.5) if shown else None,
                "pct_below_threshold": (below / len(scores) if scores else None) if shown else None,
                "is_suppressed": not shown,
            }
        )
    return bands, summary


def compute(truth: Truth) -> dict[str, MartRows]:
    current = course_grade_current(truth)
    out = {
        "fct_course_grade_current": MartRows(("enrollment_id",), current),
        "fct_course_grade_daily": MartRows(("enrollment_id", "snapshot_date"), course_grade_daily(truth)),
        "fct_assignment_group_grade": MartRows(("enrollment_id", "assignment_group_id"), assignment_group_grade(truth)),
    }
    try:
        bands, summary = grade_distribution(truth, current)
    except ImportError:  # the core reference (dim_course) is not there yet
        return out
    out["mart_course_grade_distribution"] = MartRows(("course_id", "grade_band"), bands)
    out["mart_course_grade_summary"] = MartRows(("course_id",), summary)
    return out
