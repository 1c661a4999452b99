"""Reference for M16: the weekly Student Activity Score, by course and by section.

Definitions (models/marts/activity_score/_activity_score__docs.md, DECISIONLOG.md): students
whose best status in the course is active, soft-concluded or completed, every week from week 1
to the course's current week (or the week its course, else its term, ended); per week the
assignments due (the student's own due date, published, points possible > 0, not excused, due
by as_of) and submitted, minutes active and web sessions (the daily web activity summed), and
the same summed from week 1. Each input is z-scored within the cohort (course or section, and
week; 0 when null or without spread), the score is 5·z(ratio) + 2·z(minutes) + z(sessions), its
own z-score and octile (percent rank in eighths, ties low; null without spread) follow.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from extract.tests.marts_reference import MartRows, Row, Truth, activity, core, submissions
from extract.tests.marts_reference.enrollment import effective_enrollments, student_courses

IN_COURSE = ("active", "soft_concluded", "completed")
INPUTS = ("submission_ratio", "active_minutes", "n_sessions")


def _local_date(truth: Truth, ts: Any) -> date | None:
    local = truth.local(ts)
    return local.date() if local is not None else None


def _course_weeks(truth: Truth) -> dict[int, tuple[date, int]]:
    """Course -> (week 1's first local date, the last week of term to score)."""
    today = _local_date(truth, truth.as_of)
    assert today is not None
    term_ends = {t["id"]: _local_date(truth, t["end_at"]) for t in truth.rows("enrollment_terms")}
    out: dict[int, tuple[date, int]] = {}
    for c in core.dim_course(truth):
        week1 = c["week1_start_local_date"]
        if c["is_deleted"] or week1 is None or submissions.week_in_term(today, week1) < 1:
            continue
        end = _local_date(truth, c["conclude_at"]) or term_ends.get(c["term_id"])
        last = end if end is not None and end < today else today
        if last >= week1:
            out[c["course_id"]] = (week1, submissions.week_in_term(last, week1))
    return out


def weekly_inputs(truth: Truth) -> list[Row]:
    """int_activity_score__weekly_inputs."""
    weeks = _course_weeks(truth)
    rules = submissions.assignment_rules(truth)
    due: dict[tuple[str, int, int], list[int]] = {}
    for s in submissions.submissions(truth):
        course = weeks.get(s["course_id"])
        rule = rules.get(s["assignment_id"])
        at = s["due_at_effective"]
        if course is None or rule is None or not rule["is_published"] or at is None or at > truth.as_of:
            continue
        if not (s["points_possible"] or 0) > 0 or s["is_excused"]:
            continue
        local = _local_date(truth, at)
        assert local is not None
        counts = due.setdefault((s["user_key"], s["course_id"], submissions.week_in_term(local, course[0])), [0, 0])
        counts[0] += 1
        counts[1] += int(bool(s["is_submitted"]))
    active: dict[tuple[str, int, int], list[float]] = {}
    for d in activity.compute(truth)["fct_web_activity_daily"].rows:
        course = weeks.get(d["course_id"])
        if course is None:
            continue
        totals = active.setdefault(
            (d["user_key"], d["course_id"], submissions.week_in_term(d["activity_date"], course[0])), [0.0, 0]
        )
        totals[0] += d["active_minutes"]
        totals[1] += d["n_sessions"]
    rows: list[Row] = []
    for sc in student_courses(truth):
        user_key = truth.user_key(sc["user_id"])
        course = weeks.get(sc["course_id"])
        if sc["effective_status"] not in IN_COURSE or user_key is None or course is None:
            continue
        week1, last_week = course
        sums = [0, 0, 0.0, 0]
        for week in range(1, last_week + 1):
            n_due, n_submitted = due.get((user_key, sc["course_id"], week), (0, 0))
            minutes, sessions = active.get((user_key, sc["course_id"], week), (0.0, 0))
            sums = [sums[0] + n_due, sums[1] + n_submitted, sums[2] + minutes, sums[3] + sessions]
            rows.append(
                {
                    "user_key": user_key,
                    "course_id": sc["course_id"],
                    "term_id": sc["term_id"],
                    "week_in_term": week,
                    "week_start_local_date": week1 + timedelta(days=7 * (week - 1)),
                    "n_assignments_due": n_due,
                    "n_submitted": n_submitted,
                    "submission_ratio": n_submitted / n_due if n_due else None,
                    "active_minutes": float(minutes),
                    "n_sessions": sessions,
                    "n_assignments_due_cumulative": sums[0],
                    "n_submitted_cumulative": sums[1],
                    "submission_ratio_cumulative": sums[1] / sums[0] if sums[0] else None,
                    "active_minutes_cumulative": float(sums[2]),
                    "n_sessions_cumulative": sums[3],
                }
            )
    return rows


def z_scores(values: Sequence[float | None]) -> list[float | None]:
    """Population z-scores of the non-null values; None for null values, for fewer than two of
    them or without spread (like cd2_z_score over stddev_pop)."""
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return [None] * len(values)
    mean = sum(present) / len(present)
    sd = math.sqrt(sum((v - mean) ** 2 for v in present) / len(present))
    if not sd > 0:
        return [None] * len(values)
    return [None if v is None else (v - mean) / sd for v in values]


def octiles(scores: list[float], spread: bool) -> list[float | None]:
    """The eighth each score falls in: the share of the others scoring lower, in eighths (ties low)."""
    n = len(scores)
    if not spread or n < 2:
        return [None] * n
    ordered = sorted(scores)
    out: list[float | None] = []
    for s in scores:
        below = next(i for i, v in enumerate(ordered) if v == s)  # rank - 1 of the first tied score
        out.append(min(math.floor(8 * below / (n - 1)) + 1, 8) / 8)
    return out


def score_cohort(rows: list[Row]) -> list[Row]:
    """The score columns of one cohort's rows (one week of a course or a section)."""
    out = [dict(r) for r in rows]
    for suffix in ("", "_cumulative"):
        for name in INPUTS:
            for r, z in zip(out, z_scores([r[name + suffix] for r in rows]), strict=True):
                r[f"{name}{suffix}_z"] = z if z is not None else 0.0
        scores = [
            5 * r[f"submission_ratio{suffix}_z"] + 2 * r[f"active_minutes{suffix}_z"] + r[f"n_sessions{suffix}_z"]
            for r in out
        ]
        score_z = z_scores(scores)
        spread = any(z is not None for z in score_z)
        for r, s, z, o in zip(out, scores, score_z, octiles(scores, spread), strict=True):
            name = "student_activity_score" + suffix
            r[name], r[name + "_z"] = s, z
            r["student_activity_score_octile" + suffix] = o
    for r in out:
        r["n_cohort_students"] = len(rows)
    return out


def _scored(rows: list[Row], cohort: Callable[[Row], tuple[Any, ...]]) -> list[Row]:
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for r in rows:
        groups.setdefault(cohort(r), []).append(r)
    return [scored for members in groups.values() for scored in score_cohort(members)]


COURSE_COLUMNS = (
    "user_key", "course_id", "term_id", "week_in_term", "week_start_local_date", "n_assignments_due",
    "n_submitted", "submission_ratio", "active_minutes", "n_sessions", "submission_ratio_z", "active_minutes_z",
    "n_sessions_z", "student_activity_score", "student_activity_score_z", "student_activity_score_octile",
    "n_assignments_due_cumulative", "n_submitted_cumulative", "submission_ratio_cumulative",
    "active_minutes_cumulative", "n_sessions_cumulative", "student_activity_score_cumulative",
    "student_activity_score_cumulative_z", "student_activity_score_octile_cumulative",
)  # fmt: skip
SECTION_COLUMNS = (
    "user_key", "course_section_id", "course_id", "term_id", "week_in_term", "week_start_local_date",
    "n_assignments_due", "n_submitted", "submission_ratio", "active_minutes", "n_sessions",
    "student_activity_score", "student_activity_score_z", "student_activity_score_octile",
    "student_activity_score_cumulative", "student_activity_score_cumulative_z",
    "student_activity_score_octile_cumulative",
)  # fmt: skip


def course_weekly(inputs: list[Row]) -> list[Row]:
    out = []
    for r in _scored(inputs, lambda r: (r["course_id"], r["week_in_term"])):
        n = r["n_cohort_students"]
        out.append(
            {**{c: r[c] for c in COURSE_COLUMNS}, "n_course_students": n, "course_has_10_or_more_students": n >= 10}
        )
    return out


def section_weekly(truth: Truth, inputs: list[Row]) -> list[Row]:
    sections: dict[tuple[str, int], set[int]] = {}
    for e in effective_enrollments(truth):
        user_key = truth.user_key(e["user_id"])
        if e["is_student"] and e["effective_status"] in IN_COURSE and user_key and e["course_section_id"] is not None:
            sections.setdefault((user_key, e["course_id"]), set()).add(e["course_section_id"])
    by_course: dict[int, set[int]] = {}
    for (_, course_id), ids in sections.items():
        by_course.setdefault(course_id, set()).update(ids)
    rows = [
        {**r, "course_section_id": section}
        for r in inputs
        if len(by_course.get(r["course_id"], ())) >= 2
        for section in sorted(sections.get((r["user_key"], r["course_id"]), ()))
    ]
    out = []
    for r in _scored(rows, lambda r: (r["course_section_id"], r["week_in_term"])):
        n = r["n_cohort_students"]
        out.append(
            {**{c: r[c] for c in SECTION_COLUMNS}, "n_section_students": n, "section_has_10_or_more_students": n >= 10}
        )
    return out


def compute(truth: Truth) -> dict[str, MartRows]:
    inputs = weekly_inputs(truth)
    return {
        "mart_student_activity_score_weekly": MartRows(
            ("user_key", "course_id", "week_in_term"), course_weekly(inputs)
        ),
        "mart_student_activity_score_section_weekly": MartRows(
            ("user_key", "course_section_id", "week_in_term"), section_weekly(truth, inputs)
        ),
    }
