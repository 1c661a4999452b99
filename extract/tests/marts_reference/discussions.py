"""Reference for M10: discussion participation per student and course, and per week of the term."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from extract.schema import TRUNCATION_MARKERS
from extract.tests.marts_reference import MartRows, Row, Truth
from extract.tests.marts_reference.enrollment import student_courses
from extract.tests.marts_reference.grades import quantile_cont

HTML_TAG = re.compile(r"<[^>]*>")
MICROSECONDS_PER_HOUR = 3_600_000_000


def _hours(later: datetime, earlier: datetime | None) -> float | None:
    if earlier is None:
        return None
    return ((later - earlier) // timedelta(microseconds=1)) / MICROSECONDS_PER_HOUR


def entries(truth: Truth) -> list[Row]:
    """Entries that count: not deleted, in a non-deleted topic that is not an announcement, with a course."""
    groups = {g["id"]: g for g in truth.rows("groups")}
    topics: dict[int, tuple[int, datetime | None]] = {}
    for t in truth.rows("discussion_topics"):
        if t["workflow_state"] == "deleted" or t["type"] == "Announcement":
            continue
        course_id = None
        if t["context_type"] == "Course":
            course_id = t["context_id"]
        elif t["context_type"] == "Group":
            g = groups.get(t["context_id"])
            if g is not None and g["context_type"] == "Course":
                course_id = g["context_id"]
        if course_id is not None:
            topics[t["id"]] = (course_id, t["posted_at"])
    kept = [e for e in truth.rows("discussion_entries") if e["workflow_state"] != "deleted"]
    kept = [e for e in kept if e["discussion_topic_id"] in topics]
    authors = {e["id"]: e["user_id"] for e in kept}
    out: list[Row] = []
    for e in kept:
        course_id, posted_at = topics[e["discussion_topic_id"]]
        message = e["message"]
        if message in TRUNCATION_MARKERS:  # staging reads either CD2 placeholder as truncated (T12)
            message = None
        local = truth.local(e["created_at"])
        out.append(
            {
                "id": e["id"],
                "topic_id": e["discussion_topic_id"],
                "course_id": course_id,
                "user_id": e["user_id"],
                "is_post": e["parent_id"] is None,
                "parent_user_id": authors.get(e["parent_id"]) if e["parent_id"] is not None else None,
                "length": len(HTML_TAG.sub("", message)) if message is not None else None,
                "created_at": e["created_at"],
                "created_local_date": local.date() if local else None,
                "topic_posted_at": posted_at,
            }
        )
    return out


def _is_reply_received(e: Row) -> bool:
    return not e["is_post"] and e["parent_user_id"] is not None and e["user_id"] != e["parent_user_id"]


def _avg(values: list[int]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _first_posts(items: list[Row]) -> dict[tuple[Any, ...], Row]:
    """Per (user, course, topic) the earliest top-level post."""
    first: dict[tuple[Any, ...], Row] = {}
    for e in items:
        if not e["is_post"]:
            continue
        key = (e["user_id"], e["course_id"], e["topic_id"])
        if key not in first or e["created_at"] < first[key]["created_at"]:
            first[key] = e
    return first


def _median_hours(posts: list[Row]) -> float | None:
    hours = [_hours(p["created_at"], p["topic_posted_at"]) for p in posts]
    return quantile_cont([h for h in hours if h is not None], 0.5)


def participation(truth: Truth, items: list[Row]) -> list[Row]:
    own: dict[tuple[int, int], list[Row]] = {}
    received: dict[tuple[int, int], int] = {}
    for e in items:
        own.setdefault((e["user_id"], e["course_id"]), []).append(e)
        if _is_reply_received(e):
            key = (e["parent_user_id"], e["course_id"])
            received[key] = received.get(key, 0) + 1
    first_by_student: dict[tuple[int, int], list[Row]] = {}
    for (user_id, course_id, _), post in _first_posts(items).items():
        first_by_student.setdefault((user_id, course_id), []).append(post)
    rows: list[Row] = []
    for sc in student_courses(truth):
        key = (sc["user_id"], sc["course_id"])
        mine = own.get(key, [])
        rows.append(
            {
                "user_key": truth.user_key(sc["user_id"]),
                "course_id": sc["course_id"],
                "term_id": sc["term_id"],
                "effective_status": sc["effective_status"],
                "n_posts": sum(1 for e in mine if e["is_post"]),
                "n_replies": sum(1 for e in mine if not e["is_post"]),
                "n_topics_participated": len({e["topic_id"] for e in mine}),
                "avg_entry_length": _avg([e["length"] for e in mine]),
                "replies_received": received.get(key, 0),
                "median_hours_to_first_post": _median_hours(first_by_student.get(key, [])),
                "first_entry_at": min((e["created_at"] for e in mine), default=None),
                "last_entry_at": max((e["created_at"] for e in mine), default=None),
            }
        )
    return rows


def _week(local_date: date, week1: date) -> int:
    return (local_date - week1).days // 7 + 1


def participation_weekly(truth: Truth, items: list[Row]) -> list[Row]:
    from extract.tests.marts_reference import core

    week1 = {c["course_id"]: c["week1_start_local_date"] for c in core.compute(truth)["dim_course"].rows}
    students = {(sc["user_id"], sc["course_id"]) for sc in student_courses(truth)}
    weeked = []
    for e in items:
        start = week1.get(e["course_id"])
        if start is None or e["created_local_date"] is None:
            continue
        weeked.append({**e, "week": _week(e["created_local_date"], start)})
    own: dict[tuple[int, int, int], list[Row]] = {}
    received: dict[tuple[int, int, int], int] = {}
    for e in weeked:
        own.setdefault((e["user_id"], e["course_id"], e["week"]), []).append(e)
        if _is_reply_received(e):
            key = (e["parent_user_id"], e["course_id"], e["week"])
            received[key] = received.get(key, 0) + 1
    first: dict[tuple[int, int, int], list[Row]] = {}
    for (user_id, course_id, _), post in _first_posts(weeked).items():
        first.setdefault((user_id, course_id, post["week"]), []).append(post)
    rows: list[Row] = []
    for key in own.keys() | received.keys():
        user_id, course_id, week = key
        if (user_id, course_id) not in students:
            continue
        mine = own.get(key, [])
        rows.append(
            {
                "user_key": truth.user_key(user_id),
                "course_id": course_id,
                "week_in_term": week,
                "week_start_local_date": week1[course_id] + timedelta(days=7 * (week - 1)),
                "n_posts": sum(1 for e in mine if e["is_post"]),
                "n_replies": sum(1 for e in mine if not e["is_post"]),
                "n_topics_participated": len({e["topic_id"] for e in mine}),
                "avg_entry_length": _avg([e["length"] for e in mine]),
                "replies_received": received.get(key, 0),
                "median_hours_to_first_post": _median_hours(first.get(key, [])),
            }
        )
    return rows


def compute(truth: Truth) -> dict[str, MartRows]:
    items = entries(truth)
    out = {"mart_discussion_participation": MartRows(("user_key", "course_id"), participation(truth, items))}
    try:
        weekly = participation_weekly(truth, items)
    except ImportError:  # the core reference (dim_course) is not there yet
        return out
    out["mart_discussion_participation_weekly"] = MartRows(("user_key", "course_id", "week_in_term"), weekly)
    return out
