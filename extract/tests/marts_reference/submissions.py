"""Reference for M3/M4/M5/M14: submissions with Canvas's missing/late rules (T9), student timeliness
(overall and weekly), the assignment summary and grading turnaround (DECISIONLOG.md)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

from extract.tests.marts_reference import MartRows, Row, Truth, per_truth
from extract.tests.marts_reference.enrollment import student_courses, test_user_ids

# canvas-lms Submission.missing: assignments whose submission_types are these expect no digital work
NOT_DIGITAL = {"none", "not_graded", "on_paper", "wiki_page", "external_tool"}
# Unizin's timeliness rule leaves out assignments with only these types
OFFLINE = {"none", "not_graded", "on_paper", "wiki_page"}
# Canvas counts needs-grading only for students with an active enrollment (soft-concluded included)
ACTIVE_ENROLLMENT = {"active", "not_started", "soft_concluded"}
AUTO_GRADED_TYPES = {"online_quiz", "basic_lti_launch"}
HOUR = timedelta(hours=1)


def quantile_cont(values: list[float], q: float) -> float | None:
    """DuckDB ``quantile_cont``: linear interpolation between the order statistics around (n - 1) * q."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _types(assignment: Row) -> list[str]:
    return [t for t in (assignment["submission_types"] or []) if t is not None]


def assignment_rules(truth: Truth) -> dict[int, Row]:
    """Like int_submissions__assignment_rules, by assignment id."""
    quiz_lti: dict[int, bool] = {}
    for s in truth.rows("submissions"):
        quiz_lti[s["assignment_id"]] = quiz_lti.get(s["assignment_id"], False) or bool(s["cached_quiz_lti"])
    include_offline = bool(truth.params.get("cd2_timeliness_include_offline_types", False))
    out: dict[int, Row] = {}
    for a in truth.rows("assignments"):
        if a["context_type"] != "Course":
            continue
        types = _types(a)
        is_published = a["workflow_state"] == "published"
        is_new_quiz = "external_tool" in types and quiz_lti.get(a["id"], False)
        out[a["id"]] = {
            "assignment_id": a["id"],
            "course_id": a["context_id"],
            "is_published": is_published,
            "is_quiz": "online_quiz" in types,
            "is_new_quiz": is_new_quiz,
            "expects_digital_submission": any(t not in NOT_DIGITAL for t in types) or is_new_quiz,
            "counts_for_timeliness": is_published
            and a["due_at"] is not None
            and (a["points_possible"] or 0) > 0
            and (include_offline or any(t not in OFFLINE for t in types)),
        }
    return out


def course_week1(truth: Truth) -> dict[int, date]:
    """Week 1 of each course (like dim_course.week1_start_local_date): the local date of the course's
    start, else of its term's start; courses with neither are left out (no term weeks)."""
    terms = {t["id"]: t for t in truth.rows("enrollment_terms")}
    out: dict[int, date] = {}
    for c in truth.rows("courses"):
        term = terms.get(c["enrollment_term_id"])
        local = truth.local(c["start_at"] or (term["start_at"] if term else None))
        if local is not None:
            out[c["id"]] = local.date()
    return out


def week_in_term(local_day: date, week1: date) -> int:
    return (local_day - week1).days // 7 + 1


def _status(s: Row, is_missing: bool, is_late: bool, is_submitted: bool, is_past_due: bool) -> str:
    if s["excused"]:
        return "excused"
    if s["custom_grade_status_id"] is not None:
        return "custom"
    if s["late_policy_status"] == "extended":
        return "extended"
    if is_missing:
        return "missing"
    if is_late:
        return "late"
    if is_submitted:
        return "on_time"
    if s["cached_due_date"] is None:
        return "floating"
    if not is_past_due:
        return "not_yet_due"
    return "floating"


def submissions(truth: Truth) -> list[Row]:
    """fct_submission rows (all columns but data_as_of)."""
    now = truth.as_of
    rules = assignment_rules(truth)
    assignments = {a["id"]: a for a in truth.rows("assignments")}
    quiz_states = {q["id"]: q["workflow_state"] for q in truth.rows("quiz_submissions")}
    students = {(r["user_id"], r["course_id"]): r["effective_status"] for r in student_courses(truth)}
    tests = test_user_ids(truth)
    out: list[Row] = []
    for s in truth.rows("submissions"):
        status = students.get((s["user_id"], s["course_id"]))
        assignment = assignments.get(s["assignment_id"])
        if status is None or status == "pending" or s["user_id"] in tests:
            continue
        if s["workflow_state"] == "deleted" or assignment is None or assignment["workflow_state"] == "deleted":
            continue
        rule = rules.get(s["assignment_id"])
        due: datetime | None = s["cached_due_date"]
        submitted: datetime | None = s["submitted_at"]
        lps = s["late_policy_status"]
        is_excused = bool(s["excused"])
        is_submitted = s["submission_type"] is not None
        missing_grace = timedelta(minutes=1) if rule and rule["is_quiz"] else timedelta(0)
        late_grace = timedelta(minutes=1) if s["submission_type"] == "online_quiz" else timedelta(0)
        is_past_due = due is not None and now >= due + missing_grace
        digital = bool(rule and rule["expects_digital_submission"]) or bool(s["cached_quiz_lti"])
        is_missing = (
            not is_excused
            and s["custom_grade_status_id"] is None
            and lps != "extended"
            and (
                lps == "missing"
                or (
                    is_past_due
                    and s["submission_type"] is None
                    and digital
                    and not (lps is None and s["grader_id"] is not None)
                )
            )
        )
        quiz_complete = s["quiz_submission_id"] is None or quiz_states.get(s["quiz_submission_id"]) == "complete"
        is_late = (
            not is_excused
            and s["custom_grade_status_id"] is None
            and (
                lps == "late"
                or (
                    lps is None
                    and submitted is not None
                    and due is not None
                    and submitted >= due + late_grace
                    and quiz_complete
                )
            )
        )
        needs_grading = (
            is_submitted
            and not is_excused
            and (
                s["workflow_state"] == "pending_review"
                or (
                    s["workflow_state"] in ("submitted", "graded")
                    and (s["score"] is None or s["grade_matches_current_submission"] is False)
                )
            )
        )
        timeliness = _status(s, is_missing, is_late, is_submitted, is_past_due)
        points = assignment["points_possible"]
        seconds_late: int | None = None
        if submitted is not None:
            if s["seconds_late_override"] is not None:
                seconds_late = s["seconds_late_override"]
            elif due is not None:
                seconds_late = max(0, (submitted - due) // timedelta(seconds=1))
        grader = s["grader_id"]
        out.append(
            {
                "submission_id": s["id"],
                "assignment_id": s["assignment_id"],
                "course_id": s["course_id"],
                "user_key": truth.user_key(s["user_id"]),
                "grader_key": truth.user_key(grader) if grader is not None and grader > 0 else None,
                "student_enrollment_status": status,
                "workflow_state": s["workflow_state"],
                "submission_type": s["submission_type"],
                "submitted_at": submitted,
                "due_at_effective": due,
                "graded_at": s["graded_at"],
                "posted_at": s["posted_at"],
                "is_posted": s["posted_at"] is not None,
                "score": s["score"],
                "points_possible": points,
                "score_pct": s["score"] / points if s["score"] is not None and points else None,
                "excused": s["excused"],
                "late_policy_status": lps,
                "seconds_late": seconds_late,
                "hours_before_due": (due - submitted) / HOUR if due is not None and submitted is not None else None,
                "is_submitted": is_submitted,
                "is_past_due": is_past_due,
                "is_graded": is_excused or (s["score"] is not None and s["workflow_state"] == "graded"),
                "needs_grading": needs_grading,
                "is_missing": is_missing,
                "is_late": is_late,
                "is_on_time": timeliness == "on_time",
                "is_excused": is_excused,
                "timeliness_status": timeliness,
                "counts_for_timeliness": bool(rule and rule["counts_for_timeliness"]),
                "group_id": s["group_id"],
                "is_group_submission": s["group_id"] is not None,
                "attempt": s["attempt"],
                "custom_grade_status_id": s["custom_grade_status_id"],
                "has_custom_grade_status": s["custom_grade_status_id"] is not None,
            }
        )
    return out


def _timeliness(rows: list[Row]) -> Row:
    n_due = len(rows)
    n_on_time = sum(r["timeliness_status"] == "on_time" for r in rows)
    n_excused = sum(r["timeliness_status"] == "excused" for r in rows)
    return {
        "n_assigned_due": n_due,
        "n_submitted": sum(r["is_submitted"] for r in rows),
        "n_on_time": n_on_time,
        "n_late": sum(r["timeliness_status"] == "late" for r in rows),
        "n_missing": sum(r["timeliness_status"] == "missing" for r in rows),
        "n_excused": n_excused,
        "n_custom": sum(r["timeliness_status"] == "custom" for r in rows),
        "pct_on_time": _ratio(n_on_time, n_due - n_excused),
        "avg_hours_before_due": _mean([r["hours_before_due"] for r in rows if r["hours_before_due"] is not None]),
        "avg_score_pct": _mean([r["score_pct"] for r in rows if r["is_posted"] and r["score_pct"] is not None]),
    }


def student_timeliness(fct: list[Row]) -> list[Row]:
    groups: dict[tuple[str, int], list[Row]] = {}
    for r in fct:
        groups.setdefault((r["user_key"], r["course_id"]), [])
        if r["counts_for_timeliness"] and r["is_past_due"]:
            groups[(r["user_key"], r["course_id"])].append(r)
    return [{"user_key": u, "course_id": c, **_timeliness(rows)} for (u, c), rows in groups.items()]


def student_timeliness_weekly(truth: Truth, fct: list[Row]) -> list[Row]:
    week1 = course_week1(truth)
    groups: dict[tuple[str, int, int], list[Row]] = {}
    for r in fct:
        if not (r["counts_for_timeliness"] and r["is_past_due"]) or r["course_id"] not in week1:
            continue
        local = truth.local(r["due_at_effective"])
        assert local is not None
        week = week_in_term(local.date(), week1[r["course_id"]])
        groups.setdefault((r["user_key"], r["course_id"], week), []).append(r)
    return [
        {
            "user_key": u,
            "course_id": c,
            "week_in_term": w,
            "week_start_local_date": week1[c] + timedelta(days=7 * (w - 1)),
            **_timeliness(rows),
        }
        for (u, c, w), rows in groups.items()
    ]


def _visible_comments(truth: Truth) -> list[Row]:
    return [
        c
        for c in truth.rows("submission_comments")
        if c["draft"] is not True and c["hidden"] is not True and c["provisional_grade_id"] is None
    ]


def _suppressed(truth: Truth, n_students: int, metrics: dict[str, Any]) -> dict[str, Any]:
    keep = n_students >= int(truth.params["cd2_min_cell_size"])
    return {**{k: (v if keep else None) for k, v in metrics.items()}, "is_suppressed": not keep}


def assignment_summary(truth: Truth, fct: list[Row]) -> list[Row]:
    rules = assignment_rules(truth)
    comments: dict[int, int] = {}
    for c in _visible_comments(truth):
        comments[c["submission_id"]] = comments.get(c["submission_id"], 0) + 1
    by_assignment: dict[int, list[Row]] = {}
    for r in fct:
        by_assignment.setdefault(r["assignment_id"], []).append(r)
    out: list[Row] = []
    for a in truth.rows("assignments"):
        if a["id"] not in rules or a["workflow_state"] == "deleted":
            continue
        rows = by_assignment.get(a["id"], [])
        as_group = a["group_category_id"] is not None and a["grade_group_students_individually"] is not True
        waiting = [r for r in rows if r["needs_grading"] and r["student_enrollment_status"] in ACTIVE_ENROLLMENT]
        units = {
            ("group", r["group_id"]) if as_group and r["is_group_submission"] else ("submission", r["submission_id"])
            for r in waiting
        }
        scores = [r["score"] for r in rows if r["score"] is not None]
        hours = [
            (r["graded_at"] - r["submitted_at"]) / HOUR
            for r in rows
            if r["graded_at"] is not None and r["submitted_at"] is not None and r["graded_at"] >= r["submitted_at"]
        ]
        n_students = len({r["user_key"] for r in rows})
        metrics = {
            "n_students": n_students,
            "n_assigned": len(rows),
            "n_submitted": sum(r["is_submitted"] for r in rows),
            "n_graded": sum(r["is_graded"] for r in rows),
            "n_missing": sum(r["timeliness_status"] == "missing" for r in rows),
            "n_late": sum(r["timeliness_status"] == "late" for r in rows),
            "needs_grading_count": len(waiting),
            "needs_grading_group_count": len(units),
            "score_p25": quantile_cont(scores, 0.25),
            "score_median": quantile_cont(scores, 0.5),
            "score_p75": quantile_cont(scores, 0.75),
            "median_hours_to_grade": quantile_cont(hours, 0.5),
            "n_comments": sum(comments.get(r["submission_id"], 0) for r in rows),
        }
        rule = rules[a["id"]]
        out.append(
            {
                "assignment_id": a["id"],
                "course_id": rule["course_id"],
                "is_published": rule["is_published"],
                "counts_for_timeliness": rule["counts_for_timeliness"],
                "due_at": a["due_at"],
                "points_possible": a["points_possible"],
                **_suppressed(truth, n_students, metrics),
            }
        )
    return out


def grading_turnaround(truth: Truth, fct: list[Row]) -> list[Row]:
    week1 = course_week1(truth)
    user_of = {s["id"]: s["user_id"] for s in truth.rows("submissions")}
    with_feedback = {
        c["submission_id"] for c in _visible_comments(truth) if c["author_id"] != user_of.get(c["submission_id"])
    }
    week_old = truth.as_of - timedelta(days=7)
    groups: dict[tuple[int, int], list[Row]] = {}
    for r in fct:
        if r["submitted_at"] is None or r["course_id"] not in week1:
            continue
        if r["submission_type"] is None or r["submission_type"] in AUTO_GRADED_TYPES:
            continue
        local = truth.local(r["submitted_at"])
        assert local is not None
        groups.setdefault((r["course_id"], week_in_term(local.date(), week1[r["course_id"]])), []).append(r)
    out: list[Row] = []
    for (course_id, week), rows in groups.items():
        graded = [r for r in rows if r["graded_at"] is not None and r["graded_at"] >= r["submitted_at"]]
        old = [r for r in rows if r["submitted_at"] <= week_old]
        within = [
            r
            for r in old
            if r["graded_at"] is not None
            and r["graded_at"] >= r["submitted_at"]
            and (r["graded_at"] - r["submitted_at"]) / HOUR <= 168
        ]
        n_students = len({r["user_key"] for r in rows})
        metrics = {
            "n_students": n_students,
            "n_submitted": len(rows),
            "n_graded": len(graded),
            "median_hours_to_grade": quantile_cont([(r["graded_at"] - r["submitted_at"]) / HOUR for r in graded], 0.5),
            "pct_graded_within_7d": _ratio(len(within), len(old)),
            "feedback_comment_rate": _ratio(sum(r["submission_id"] in with_feedback for r in graded), len(graded)),
        }
        out.append(
            {
                "course_id": course_id,
                "week_in_term": week,
                "week_start_local_date": week1[course_id] + timedelta(days=7 * (week - 1)),
                **_suppressed(truth, n_students, metrics),
            }
        )
    return out


@per_truth
def compute(truth: Truth) -> dict[str, MartRows]:
    fct = submissions(truth)
    return {
        "fct_submission": MartRows(("submission_id",), fct),
        "mart_student_timeliness": MartRows(("user_key", "course_id"), student_timeliness(fct)),
        "mart_student_timeliness_weekly": MartRows(
            ("user_key", "course_id", "week_in_term"), student_timeliness_weekly(truth, fct)
        ),
        "mart_assignment_summary": MartRows(("assignment_id",), assignment_summary(truth, fct)),
        "mart_grading_turnaround": MartRows(("course_id", "week_in_term"), grading_turnaround(truth, fct)),
    }
