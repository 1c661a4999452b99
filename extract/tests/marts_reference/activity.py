"""Reference for M7, M8 and M15: web sessions, daily web activity, last activity and LTI tool usage.

Definitions (DECISIONLOG.md): student requests are web_logs rows with a user and a course,
no masquerade, of a student of that course whose best effective status is not ``pending`` (test
students excluded). Sessions run per user and session key (null keys form their own runs); a gap of
``cd2_session_gap_minutes`` or more starts a new session. Time on a request is the time to the next
request of its session.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from extract.tests.marts_reference import MartRows, Row, Truth, per_truth
from extract.tests.marts_reference.enrollment import effective_enrollments, student_courses, test_user_ids

API_PATH = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://[^/]*)?/api/")
TOOL_IN_PATH = re.compile(r"/external_tools/([0-9]+)")
MICROSECONDS_PER_MINUTE = 60_000_000
MICROSECONDS_PER_DAY = 86_400_000_000
FILE_ACTIONS = {"show", "download", "show_relative"}
LAUNCH_ACTIONS = {"show", "retrieve"}


@dataclass
class Request:
    """One student request, as int_activity__student_requests / int_activity__sessionized_requests hold it."""

    web_log_id: str
    user_id: int
    course_id: int
    ts: datetime
    activity_date: date
    session_key: str | None
    is_page_view: bool
    is_participation: bool
    is_assignment_view: bool
    is_quiz_view: bool
    is_discussion_view: bool
    is_file_view: bool
    is_wiki_page_view: bool
    is_lti_launch: bool
    external_tool_id: int | None
    web_session_id: str = ""
    active_microseconds: int = 0
    is_session_start: bool = False


def _micros(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def url_path(url: str) -> str:
    """The URL up to its first ``?`` or ``#`` (staging's ``url_path``)."""
    return re.split(r"[?#]", url, maxsplit=1)[0]


def session_key(session_id: Any) -> str | None:
    """md5 hex of the session id's text (staging's ``session_key``)."""
    if session_id is None:
        return None
    return hashlib.md5(str(session_id).encode()).hexdigest()


def _is_success(status: int) -> bool:
    return 200 <= status <= 299 or status == 304


def classify(truth: Truth, w: Row) -> Request:
    """A web_logs row as a student request with its page-view and asset flags."""
    path = url_path(w["url"])
    is_api = API_PATH.match(path) is not None
    include_api = bool(truth.params.get("cd2_page_views_include_api", False))
    controller, action = w["web_application_controller"], w["web_application_action"]
    is_get = w["http_method"] == "GET"
    status = w["http_status"]
    is_page_view = is_get and _is_success(status) and controller is not None and (include_api or not is_api)
    is_lti_launch = (
        is_get and _is_success(status) and controller == "external_tools" and action in LAUNCH_ACTIONS and not is_api
    )
    tool = TOOL_IN_PATH.search(path) if is_lti_launch and action == "show" else None
    local = truth.local(w["timestamp"])
    assert local is not None
    return Request(
        web_log_id=str(w["id"]),
        user_id=w["user_id"],
        course_id=w["course_id"],
        ts=w["timestamp"],
        activity_date=local.date(),
        session_key=session_key(w["session_id"]),
        is_page_view=is_page_view,
        is_participation=bool(w["participated"]),
        is_assignment_view=is_page_view and w["assignment_id"] is not None,
        is_quiz_view=is_page_view and w["quiz_id"] is not None,
        is_discussion_view=is_page_view and w["discussion_id"] is not None,
        is_file_view=(
            is_get and 200 <= status <= 399 and controller == "files" and action in FILE_ACTIONS and not is_api
        ),
        is_wiki_page_view=is_page_view and controller == "wiki_pages",
        is_lti_launch=is_lti_launch,
        external_tool_id=int(tool.group(1)) if tool else None,
    )


def tracked_students(truth: Truth) -> set[tuple[int, int]]:
    """Student x course pairs whose requests count: any best status but pending; no test users."""
    tests = test_user_ids(truth)
    return {
        (sc["user_id"], sc["course_id"])
        for sc in student_courses(truth)
        if sc["effective_status"] != "pending" and sc["user_id"] not in tests
    }


@per_truth
def student_requests(truth: Truth) -> list[Request]:
    tracked = tracked_students(truth)
    out = []
    for w in truth.web_logs:
        if w["user_id"] is None or w["course_id"] is None or w["real_user_id"] is not None:
            continue
        if (w["user_id"], w["course_id"]) not in tracked:
            continue
        out.append(classify(truth, w))
    return out


def sessionize(truth: Truth, requests: list[Request]) -> list[Request]:
    """Sets web_session_id, is_session_start and active_microseconds on every request."""
    gap = int(truth.params.get("cd2_session_gap_minutes", 30)) * MICROSECONDS_PER_MINUTE
    runs: dict[tuple[int, str | None], list[Request]] = defaultdict(list)
    for r in requests:
        runs[(r.user_id, r.session_key)].append(r)
    for run in runs.values():
        run.sort(key=lambda r: (r.ts, r.web_log_id))
        session_id = ""
        for i, r in enumerate(run):
            if i == 0 or _micros(r.ts - run[i - 1].ts) >= gap:
                session_id = hashlib.md5(r.web_log_id.encode()).hexdigest()
                r.is_session_start = True
            r.web_session_id = session_id
            if i + 1 < len(run):
                to_next = _micros(run[i + 1].ts - r.ts)
                r.active_microseconds = to_next if to_next < gap else 0
    return requests


def _user_keys(truth: Truth) -> dict[int, str]:
    """The users pii_user_keys covers (users, enrollments, submissions incl. graders)."""
    ids: set[int] = {u["id"] for u in truth.rows("users")}
    ids |= {e["user_id"] for e in truth.rows("enrollments")}
    for s in truth.rows("submissions"):
        ids |= {s["user_id"], s["grader_id"]}
    return {i: key for i in ids if i is not None and (key := truth.user_key(i)) is not None}


def web_sessions(truth: Truth, requests: list[Request], keys: dict[int, str]) -> list[Row]:
    sessions: dict[str, list[Request]] = defaultdict(list)
    for r in requests:
        sessions[r.web_session_id].append(r)
    out = []
    for session_id, rows in sessions.items():
        if rows[0].user_id not in keys:
            continue
        first = next(r for r in rows if r.is_session_start)
        start, end = min(r.ts for r in rows), max(r.ts for r in rows)
        local_start = truth.local(start)
        assert local_start is not None
        out.append(
            {
                "web_session_id": session_id,
                "user_key": keys[rows[0].user_id],
                "course_id": first.course_id,
                "n_courses": len({r.course_id for r in rows}),
                "has_session_key": any(r.session_key is not None for r in rows),
                "start_ts": start,
                "end_ts": end,
                "start_local_date": local_start.date(),
                "n_requests": len(rows),
                "n_page_views": sum(r.is_page_view for r in rows),
                "n_participations": sum(r.is_participation for r in rows),
                "active_minutes": sum(r.active_microseconds for r in rows) / MICROSECONDS_PER_MINUTE,
            }
        )
    return out


def web_activity_daily(requests: list[Request], keys: dict[int, str]) -> list[Row]:
    days: dict[tuple[int, int, date], list[Request]] = defaultdict(list)
    for r in requests:
        days[(r.user_id, r.course_id, r.activity_date)].append(r)
    out = []
    for (user_id, course_id, day), rows in days.items():
        if user_id not in keys:
            continue
        out.append(
            {
                "user_key": keys[user_id],
                "course_id": course_id,
                "activity_date": day,
                "n_requests": len(rows),
                "n_page_views": sum(r.is_page_view for r in rows),
                "n_participations": sum(r.is_participation for r in rows),
                "n_sessions": len({r.web_session_id for r in rows}),
                "active_minutes": sum(r.active_microseconds for r in rows) / MICROSECONDS_PER_MINUTE,
                "first_ts": min(r.ts for r in rows),
                "last_ts": max(r.ts for r in rows),
                "n_assignment_views": sum(r.is_assignment_view for r in rows),
                "n_quiz_views": sum(r.is_quiz_view for r in rows),
                "n_discussion_views": sum(r.is_discussion_view for r in rows),
                "n_file_views": sum(r.is_file_view for r in rows),
                "n_wiki_page_views": sum(r.is_wiki_page_view for r in rows),
                "n_lti_launches": sum(r.is_lti_launch for r in rows),
            }
        )
    return out


def _latest(values: list[datetime | None]) -> datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _topic_courses(truth: Truth) -> dict[int, int | None]:
    """Course of every non-deleted topic: its context, or its group's course."""
    groups = {g["id"]: g for g in truth.rows("groups")}
    out: dict[int, int | None] = {}
    for t in truth.rows("discussion_topics"):
        if t["workflow_state"] == "deleted":
            continue
        course_id = None
        if t["context_type"] == "Course":
            course_id = t["context_id"]
        elif t["context_type"] == "Group":
            group = groups.get(t["context_id"])
            if group is not None and group["context_type"] == "Course":
                course_id = group["context_id"]
        out[t["id"]] = course_id
    return out


def last_activity(truth: Truth, requests: list[Request], keys: dict[int, str]) -> list[Row]:
    now = truth.as_of
    web: dict[tuple[int, int], list[datetime]] = defaultdict(list)
    web_participation: dict[tuple[int, int], list[datetime]] = defaultdict(list)
    for r in requests:
        if r.ts <= now:
            web[(r.user_id, r.course_id)].append(r.ts)
            if r.is_participation:
                web_participation[(r.user_id, r.course_id)].append(r.ts)
    submitted: dict[tuple[int, int], list[datetime]] = defaultdict(list)
    for s in truth.rows("submissions"):
        if s["workflow_state"] != "deleted" and s["submitted_at"] is not None and s["submitted_at"] <= now:
            submitted[(s["user_id"], s["course_id"])].append(s["submitted_at"])
    topics = _topic_courses(truth)
    posted: dict[tuple[int, int | None], list[datetime]] = defaultdict(list)
    for d in truth.rows("discussion_entries"):
        if d["workflow_state"] == "deleted" or d["discussion_topic_id"] not in topics:
            continue
        if d["created_at"] is not None and d["created_at"] <= now:
            posted[(d["user_id"], topics[d["discussion_topic_id"]])].append(d["created_at"])
    days = [int(n) for n in truth.params.get("cd2_inactivity_days", [5, 7, 10, 14])]
    out = []
    for e in effective_enrollments(truth):
        if not e["is_student"] or e["effective_status"] != "active" or e["user_id"] not in keys:
            continue
        pair = (e["user_id"], e["course_id"])
        last_web = _latest(list(web.get(pair, [])))
        last_submission = _latest(list(submitted.get(pair, [])))
        last_discussion = _latest(list(posted.get(pair, [])))
        canvas_last = (
            e["last_activity_at"] if e["last_activity_at"] is not None and e["last_activity_at"] <= now else None
        )
        last = _latest([last_web, last_submission, last_discussion, canvas_last])
        since = _micros(now - last) // MICROSECONDS_PER_DAY if last is not None else None
        row: Row = {
            "enrollment_id": e["enrollment_id"],
            "user_key": keys[e["user_id"]],
            "course_id": e["course_id"],
            "course_section_id": e["course_section_id"],
            "term_id": e["term_id"],
            "last_web_activity_ts": last_web,
            "last_submission_ts": last_submission,
            "last_discussion_ts": last_discussion,
            "canvas_last_activity_at": canvas_last,
            "total_activity_time": e["total_activity_time"],
            "last_activity_ts": last,
            "last_participation_ts": _latest(
                [_latest(list(web_participation.get(pair, []))), last_submission, last_discussion]
            ),
            "days_since_last_activity": since,
            "has_no_activity": last is None,
        }
        for n in days:
            row[f"inactive_{n}d"] = since is None or since >= n
        out.append(row)
    return out


def tool_usage(truth: Truth, requests: list[Request]) -> list[Row]:
    courses = {c["id"]: c for c in truth.rows("courses")}
    terms = {t["id"]: t for t in truth.rows("enrollment_terms")}
    tools = {t["id"]: t for t in truth.rows("context_external_tools")}
    cell_size = int(truth.params.get("cd2_min_cell_size", 10))
    cells: dict[tuple[int, int | None, int | None, int | None], list[Request]] = defaultdict(list)
    week1: dict[int, date | None] = {}
    for r in requests:
        # dim_course: no deleted courses; week 1 starts on the course start, else the term start
        if not r.is_lti_launch or r.course_id not in courses or courses[r.course_id]["workflow_state"] == "deleted":
            continue
        course = courses[r.course_id]
        term = terms.get(course["enrollment_term_id"])
        start = course["start_at"] or (term["start_at"] if term else None)
        local_start = truth.local(start)
        week1[r.course_id] = local_start.date() if local_start else None
        first = week1[r.course_id]
        week = (r.activity_date - first).days // 7 + 1 if first is not None else None
        cells[(r.course_id, course["enrollment_term_id"], r.external_tool_id, week)].append(r)
    out = []
    for (course_id, term_id, tool_id, week), rows in cells.items():
        first = week1[course_id]
        n_students = len({r.user_id for r in rows})
        shown = n_students >= cell_size
        tool = tools.get(tool_id) if tool_id is not None else None
        out.append(
            {
                "course_id": course_id,
                "term_id": term_id,
                "external_tool_id": tool_id,
                "tool_name": tool["name"] if tool else None,
                "tool_domain": tool["domain"] if tool else None,
                "week_in_term": week,
                "week_start_local_date": first + timedelta(days=7 * (week - 1))
                if first is not None and week is not None
                else None,
                "n_students": n_students if shown else None,
                "n_launches": len(rows) if shown else None,
                "is_suppressed": not shown,
            }
        )
    return out


@per_truth
def compute(truth: Truth) -> dict[str, MartRows]:
    requests = sessionize(truth, student_requests(truth))
    keys = _user_keys(truth)
    return {
        "fct_web_session": MartRows(("web_session_id",), web_sessions(truth, requests, keys)),
        "fct_web_activity_daily": MartRows(
            ("user_key", "course_id", "activity_date"), web_activity_daily(requests, keys)
        ),
        "mart_last_activity": MartRows(("enrollment_id",), last_activity(truth, requests, keys)),
        "mart_tool_usage": MartRows(("course_id", "external_tool_id", "week_in_term"), tool_usage(truth, requests)),
    }
