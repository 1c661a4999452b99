"""Reference for M9: the weekly early-alert composite (mart_student_risk_weekly).

Definitions (DECISIONLOG.md): each sync gives the rows of its current week (week_in_term of its
local as-of date) for every student whose best status in the course is ``active``; those rows replace
the rows of the same course week written by earlier syncs, earlier weeks are kept. The inputs are the
other reference modules' rows of the same sync (grades, submissions, activity, core, enrollment); the
score of seven days earlier is the daily grade snapshot (latest sync of that local date) of the same
enrollment.
"""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from extract.tests.marts_reference import MartRows, Row, Truth, activity, core, grades, submissions
from extract.tests.marts_reference.enrollment import student_courses

DEFAULTS: dict[str, float] = {
    "cd2_risk_score_below": 70,
    "cd2_risk_missing_at_least": 2,
    "cd2_risk_inactive_days": 7,
    "cd2_risk_page_views_z_below": -1.0,
    "cd2_risk_score_drop_points": 10,
}
KEY = ("user_key", "course_id", "week_in_term")


def _param(truth: Truth, name: str) -> float:
    value = truth.params.get(name)
    return float(DEFAULTS[name] if value is None else value)


def _local_date(truth: Truth) -> date:
    local = truth.local(truth.as_of)
    assert local is not None
    return local.date()


def risk_level(points: int) -> str:
    if points >= 3:
        return "high"
    if points == 2:
        return "medium"
    if points == 1:
        return "low"
    return "none"


def z_scores(values: list[int]) -> list[float | None]:
    """Population z-scores; all null for fewer than 2 values or no spread (like DuckDB stddev_pop)."""
    n = len(values)
    if n < 2:
        return [None] * n
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / n)
    if not sd > 0:
        return [None] * n
    return [(v - mean) / sd for v in values]


def flags(truth: Truth, row: Row) -> Row:
    """The five flags, risk_points and risk_level of a row of inputs (a null input leaves its flag false)."""
    score, change = row["effective_score"], row["score_change_7d"]
    since, z = row["days_since_last_activity"], row["page_views_z"]
    out: Row = {
        "is_low_score": score is not None and score < _param(truth, "cd2_risk_score_below"),
        "is_score_dropping": change is not None and change <= -_param(truth, "cd2_risk_score_drop_points"),
        "has_missing_work": row["n_missing"] >= _param(truth, "cd2_risk_missing_at_least"),
        "is_inactive": row["has_no_activity"] is True
        or (since is not None and since >= _param(truth, "cd2_risk_inactive_days")),
        "is_low_engagement": z is not None and z < _param(truth, "cd2_risk_page_views_z_below"),
    }
    points = sum(bool(v) for v in out.values())
    return {**out, "risk_points": points, "risk_level": risk_level(points)}


def week_rows(truth: Truth, grade_rows: list[Row], scores_by_date: dict[date, dict[int, Any]]) -> list[Row]:
    """The rows a run at this sync writes: the current week of every course (grade_rows: its course grades)."""
    today = _local_date(truth)
    week_ago = scores_by_date.get(today - timedelta(days=7), {})
    weeks: dict[int, tuple[int, date]] = {}
    for c in core.dim_course(truth):
        week1 = c["week1_start_local_date"]
        if c["is_deleted"] or week1 is None:
            continue
        week = submissions.week_in_term(today, week1)
        if week >= 1:
            weeks[c["course_id"]] = (week, week1 + timedelta(days=7 * (week - 1)))

    current = {(r["user_key"], r["course_id"]): r for r in grade_rows if r["is_primary_in_course"]}
    timeliness = {
        (r["user_key"], r["course_id"]): r for r in submissions.compute(truth)["mart_student_timeliness"].rows
    }
    marts = activity.compute(truth)
    daily: dict[tuple[str, int], list[Row]] = {}
    for r in marts["fct_web_activity_daily"].rows:
        daily.setdefault((r["user_key"], r["course_id"]), []).append(r)
    last: dict[tuple[str, int], list[Row]] = {}
    for r in marts["mart_last_activity"].rows:
        last.setdefault((r["user_key"], r["course_id"]), []).append(r)

    rows: list[Row] = []
    for sc in student_courses(truth):
        user_key = truth.user_key(sc["user_id"])
        if sc["effective_status"] != "active" or sc["course_id"] not in weeks or user_key is None:
            continue
        pair = (user_key, sc["course_id"])
        week, week_start = weeks[sc["course_id"]]
        grade = current.get(pair)
        score = grade["effective_score"] if grade else None
        score_ago = week_ago.get(grade["enrollment_id"]) if grade else None
        days = [d for d in daily.get(pair, []) if week_start <= d["activity_date"] <= today]
        activities = last.get(pair, [])
        last_ts = [a["last_activity_ts"] for a in activities if a["last_activity_ts"] is not None]
        since = [a["days_since_last_activity"] for a in activities if a["days_since_last_activity"] is not None]
        t = timeliness.get(pair)
        rows.append(
            {
                "user_key": user_key,
                "course_id": sc["course_id"],
                "week_in_term": week,
                "term_id": sc["term_id"],
                "week_start_local_date": week_start,
                "effective_score": score,
                "effective_score_7d_ago": score_ago,
                "score_change_7d": score - score_ago if score is not None and score_ago is not None else None,
                "n_missing": t["n_missing"] if t else 0,
                "n_late": t["n_late"] if t else 0,
                "n_page_views_week": sum(d["n_page_views"] for d in days),
                "n_participations_week": sum(d["n_participations"] for d in days),
                "page_views_z": None,
                "last_activity_ts": max(last_ts) if last_ts else None,
                "days_since_last_activity": min(since) if since else None,
                "has_no_activity": all(a["has_no_activity"] for a in activities) if activities else None,
            }
        )

    by_course: dict[int, list[Row]] = {}
    for r in rows:
        by_course.setdefault(r["course_id"], []).append(r)
    for members in by_course.values():
        for r, z in zip(members, z_scores([m["n_page_views_week"] for m in members]), strict=True):
            r["page_views_z"] = z
    for r in rows:
        r.update(flags(truth, r))
    return rows


def student_risk_weekly(truth: Truth) -> list[Row]:
    """Replay the syncs oldest first: each one replaces the rows of the course weeks it writes."""
    syncs = [*truth.earlier, truth]
    grade_rows = [grades.course_grade_current(t) for t in syncs]
    # fct_course_grade_daily: the latest sync of a local date gives that date's snapshot
    scores_by_date: dict[date, dict[int, Any]] = {}
    for t, current in zip(syncs, grade_rows, strict=True):
        scores_by_date[_local_date(t)] = {r["enrollment_id"]: r["effective_score"] for r in current}
    table: dict[tuple[Any, ...], Row] = {}
    for t, current in zip(syncs, grade_rows, strict=True):
        # syncs are in time order, so the snapshot of seven days earlier is final when t runs
        new = week_rows(t, current, scores_by_date)
        written = {(r["course_id"], r["week_in_term"]) for r in new}
        table = {k: r for k, r in table.items() if (r["course_id"], r["week_in_term"]) not in written}
        table.update({tuple(r[k] for k in KEY): r for r in new})
    return list(table.values())


def compute(truth: Truth) -> dict[str, MartRows]:
    return {"mart_student_risk_weekly": MartRows(KEY, student_risk_weekly(truth))}
