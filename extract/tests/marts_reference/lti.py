"""Reference for the LTI tool-use marts (issue 30): mart_lti_tool_use and mart_lti_tool_use_by_term.

Definitions (DECISIONLOG "LTI tool use mart"): a launch is a successful (2xx/304) GET, not under
``/api/``, by a tracked student of the course or by a teacher-side member of it who is not a
tracked student there, without masquerade, on one of five routes: ``external_tools#show``,
``external_tools#resource_selection`` and ``external_tools#retrieve`` under the course, a module
item (``context_modules#item_redirect``) whose content tag is a tool, and ``assignments#show`` of
an external-tool assignment. The placement comes from the route and the tool's settings.
Written from the ground truth and the definition, not from the SQL.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from extract.tests.marts_reference import MartRows, Row, Truth, per_truth
from extract.tests.marts_reference.activity import API_PATH, tracked_students, url_path
from extract.tests.marts_reference.enrollment import effective_enrollments

TOOL_IN_PATH = re.compile(r"/external_tools/([0-9]+)")
MODULE_ITEM_IN_PATH = re.compile(r"/modules/items/([0-9]+)")
SELECTION_PLACEMENTS = ("editor_button", "link_selection", "assignment_selection", "homework_submission")
ENROLLED = {"not_started", "active", "soft_concluded", "completed"}


@dataclass(frozen=True)
class Launch:
    """One row of int_lti__launches."""

    web_log_id: str
    user_id: int
    course_id: int
    role: str
    external_tool_id: int | None
    placement: str
    activity_date: date


def _settings(tool: Row) -> dict[str, Any] | None:
    value = tool.get("settings")
    if isinstance(value, str):
        parsed = json.loads(value)
        return parsed if isinstance(parsed, dict) else None
    return value if isinstance(value, dict) else None


def _placement(route: str, tool: Row | None) -> str:
    settings = _settings(tool) if tool is not None else None
    if route == "show":
        if tool is None or settings is None or settings.get("course_navigation") is not None:
            return "course_navigation"
        return "menu"
    if route == "resource_selection":
        if tool is None:
            return "content_selection"
        declared = [p for p in SELECTION_PLACEMENTS if (settings or {}).get(p) is not None]
        return declared[0] if len(declared) == 1 else "content_selection"
    if route == "retrieve":
        return "content_link"
    return route


def _route(w: Row) -> str | None:
    controller, action = w["web_application_controller"], w["web_application_action"]
    if controller == "external_tools" and action in ("show", "resource_selection", "retrieve"):
        return str(action)
    if controller == "context_modules" and action == "item_redirect":
        return "module_item"
    if controller == "assignments" and action == "show":
        return "assignment"
    return None


@per_truth
def launches(truth: Truth) -> list[Launch]:
    students = tracked_students(truth)
    teachers = {
        (e["user_id"], e["course_id"])
        for e in effective_enrollments(truth)
        if e["is_teacher_side"] and (e["user_id"], e["course_id"]) not in students
    }
    tools = {t["id"]: t for t in truth.rows("context_external_tools")}
    tool_items = {
        t["id"]: t["content_id"]
        for t in truth.rows("content_tags")
        if t["content_type"] == "ContextExternalTool" and t["tag_type"] == "context_module"
    }
    links: dict[int, set[int]] = defaultdict(set)
    for link in truth.rows("lti_resource_links"):
        live = link["workflow_state"] != "deleted" and link["context_external_tool_id"] is not None
        if link["context_type"] == "Assignment" and live:
            links[link["context_id"]].add(link["context_external_tool_id"])
    for tag in truth.rows("content_tags"):
        live = tag["workflow_state"] != "deleted" and tag["content_id"] is not None
        if tag["context_type"] == "Assignment" and tag["content_type"] == "ContextExternalTool" and live:
            links[tag["context_id"]].add(tag["content_id"])
    tool_assignments = {
        a["id"]: min(links[a["id"]]) if links.get(a["id"]) else None
        for a in truth.rows("assignments")
        if "external_tool" in (a["submission_types"] or [])
    }
    out = []
    for w in truth.web_logs:
        if w["user_id"] is None or w["course_id"] is None or w["real_user_id"] is not None:
            continue
        pair = (w["user_id"], w["course_id"])
        role = "student" if pair in students else "teacher" if pair in teachers else None
        route = _route(w)
        if role is None or route is None:
            continue
        status, path = w["http_status"], url_path(w["url"])
        if w["http_method"] != "GET" or not (200 <= status <= 299 or status == 304) or API_PATH.match(path):
            continue
        tool_id: int | None
        if route == "module_item":
            item = MODULE_ITEM_IN_PATH.search(path)
            if item is None or int(item.group(1)) not in tool_items:
                continue
            tool_id = tool_items[int(item.group(1))]
        elif route == "assignment":
            if w["assignment_id"] not in tool_assignments:
                continue
            tool_id = tool_assignments[w["assignment_id"]]
        elif route in ("show", "resource_selection"):
            found = TOOL_IN_PATH.search(path)
            tool_id = int(found.group(1)) if found else None
        else:
            tool_id = None
        local = truth.local(w["timestamp"])
        assert local is not None
        out.append(
            Launch(
                web_log_id=str(w["id"]),
                user_id=w["user_id"],
                course_id=w["course_id"],
                role=role,
                external_tool_id=tool_id,
                placement=_placement(route, tools.get(tool_id) if tool_id is not None else None),
                activity_date=local.date(),
            )
        )
    return out


def _counts(rows: list[Launch], cell_size: int) -> Row:
    students = {r.user_id for r in rows if r.role == "student"}
    shown = len(students) >= cell_size
    return {
        "n_launches": len(rows) if shown else None,
        "n_launching_students": len(students) if shown else None,
        "n_student_launches": sum(r.role == "student" for r in rows) if shown else None,
        "n_launching_teachers": len({r.user_id for r in rows if r.role == "teacher"}),
        "n_teacher_launches": sum(r.role == "teacher" for r in rows),
        "is_suppressed": not shown,
    }


def _tool_columns(tools: dict[int, Row], tool_id: int | None) -> Row:
    tool = tools.get(tool_id) if tool_id is not None else None
    return {
        "tool_name": tool["name"] if tool else None,
        "tool_domain": tool["domain"] if tool else None,
        "tool_context_type": tool["context_type"] if tool else None,
    }


def _course_sizes(truth: Truth) -> dict[int, int]:
    people: dict[int, set[int]] = defaultdict(set)
    for e in effective_enrollments(truth):
        if (e["is_student"] or e["is_observer"]) and e["effective_status"] in ENROLLED:
            people[e["course_id"]].add(e["user_id"])
    return {course_id: len(users) for course_id, users in people.items()}


def _live_courses(truth: Truth) -> dict[int, Row]:
    return {c["id"]: c for c in truth.rows("courses") if c["workflow_state"] != "deleted"}


def tool_use(truth: Truth) -> list[Row]:
    courses = _live_courses(truth)
    terms = {t["id"]: t for t in truth.rows("enrollment_terms")}
    tools = {t["id"]: t for t in truth.rows("context_external_tools")}
    sizes = _course_sizes(truth)
    cell_size = int(truth.params.get("cd2_min_cell_size", 10))
    week1: dict[int, date | None] = {}
    for course_id, course in courses.items():
        # dim_course: week 1 starts on the course start, else the term start
        term = terms.get(course["enrollment_term_id"])
        local_start = truth.local(course["start_at"] or (term["start_at"] if term else None))
        week1[course_id] = local_start.date() if local_start else None
    cells: dict[tuple[int, int | None, str, int | None], list[Launch]] = defaultdict(list)
    for launch in launches(truth):
        if launch.course_id not in courses:
            continue
        first = week1[launch.course_id]
        week = (launch.activity_date - first).days // 7 + 1 if first is not None else None
        cells[(launch.course_id, launch.external_tool_id, launch.placement, week)].append(launch)
    out = []
    for (course_id, tool_id, placement, week), rows in cells.items():
        course, first = courses[course_id], week1[course_id]
        size = sizes.get(course_id)
        out.append(
            {
                "course_id": course_id,
                "term_id": course["enrollment_term_id"],
                "account_id": course["account_id"],
                "external_tool_id": tool_id,
                **_tool_columns(tools, tool_id),
                "placement": placement,
                "week_in_term": week,
                "week_start_local_date": first + timedelta(days=7 * (week - 1))
                if first is not None and week is not None
                else None,
                "n_course_students": size if size is not None and size >= cell_size else None,
                **_counts(rows, cell_size),
            }
        )
    return out


def tool_use_by_term(truth: Truth) -> list[Row]:
    courses = _live_courses(truth)
    tools = {t["id"]: t for t in truth.rows("context_external_tools")}
    cell_size = int(truth.params.get("cd2_min_cell_size", 10))
    cells: dict[tuple[int | None, int | None], list[Launch]] = defaultdict(list)
    for launch in launches(truth):
        if launch.course_id in courses:
            cells[(launch.external_tool_id, courses[launch.course_id]["enrollment_term_id"])].append(launch)
    out = []
    for (tool_id, term_id), rows in cells.items():
        out.append(
            {
                "external_tool_id": tool_id,
                **_tool_columns(tools, tool_id),
                "term_id": term_id,
                "n_courses": len({r.course_id for r in rows}),
                "n_accounts": len({courses[r.course_id]["account_id"] for r in rows}),
                "n_placements": len({r.placement for r in rows}),
                **_counts(rows, cell_size),
            }
        )
    return out


@per_truth
def compute(truth: Truth) -> dict[str, MartRows]:
    return {
        "mart_lti_tool_use": MartRows(("course_id", "external_tool_id", "placement", "week_in_term"), tool_use(truth)),
        "mart_lti_tool_use_by_term": MartRows(("external_tool_id", "term_id"), tool_use_by_term(truth)),
    }
