"""Reference for M12 (mart_course_design) and M13 (fct_module_progress, mart_module_funnel,
mart_student_module_completion)."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from extract.tests.marts_reference import MartRows, Row, Truth
from extract.tests.marts_reference.core import dim_course
from extract.tests.marts_reference.enrollment import student_courses

FUNNEL_STATUSES = ("active", "soft_concluded", "completed")
ONLINE_TYPES = ("online_upload", "online_text_entry", "online_url", "media_recording", "student_annotation")
ITEM_TYPES = {
    "Assignment": "n_items_assignment",
    "Quizzes::Quiz": "n_items_quiz",
    "DiscussionTopic": "n_items_discussion",
    "WikiPage": "n_items_page",
    "Attachment": "n_items_file",
    "ContextExternalTool": "n_items_external_tool",
    "ExternalUrl": "n_items_external_url",
    "ContextModuleSubHeader": "n_items_subheader",
}
SUBMISSION_GROUPS = (
    "online",
    "quiz",
    "discussion",
    "external_tool",
    "on_paper",
    "no_submission",
    "not_graded",
    "other",
)


def _median(values: list[float]) -> float | None:
    """quantile_cont(x, 0.5): linear interpolation between the middle values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * 0.5
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def active_modules(truth: Truth) -> list[Row]:
    """Published modules of non-deleted courses, ranked in course order (like int_courses__modules)."""
    live_courses = {c["id"] for c in truth.rows("courses") if c["workflow_state"] != "deleted"}
    by_course: dict[int, list[Row]] = defaultdict(list)
    for m in truth.rows("context_modules"):
        if m["context_type"] == "Course" and m["workflow_state"] == "active" and m["context_id"] in live_courses:
            by_course[m["context_id"]].append(m)
    out: list[Row] = []
    for course_id, mods in by_course.items():
        mods.sort(key=lambda m: (m["position"] is None, m["position"] or 0, m["id"]))
        for rank, m in enumerate(mods, start=1):
            out.append(
                {"context_module_id": m["id"], "course_id": course_id, "module_position": m["position"], "rank": rank}
            )
    return out


def _types(assignment: Row) -> list[str]:
    return [t for t in (assignment["submission_types"] or []) if t is not None]


def _submission_group(types: list[str], is_quiz_any: bool) -> str:
    if is_quiz_any:
        return "quiz"
    if "discussion_topic" in types:
        return "discussion"
    if "external_tool" in types:
        return "external_tool"
    if any(t in ONLINE_TYPES for t in types):
        return "online"
    if "on_paper" in types:
        return "on_paper"
    if "not_graded" in types:
        return "not_graded"
    if not types or "none" in types:
        return "no_submission"
    return "other"


def mart_course_design(truth: Truth) -> list[Row]:
    courses = {c["id"]: c for c in truth.rows("courses")}
    modules = {m["context_module_id"]: m for m in active_modules(truth)}
    quiz_lti = {s["assignment_id"] for s in truth.rows("submissions") if s["cached_quiz_lti"]}
    counts: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    points: dict[int, list[float]] = defaultdict(list)
    for m in modules.values():
        counts[m["course_id"]]["n_modules"] += 1
    for t in truth.rows("content_tags"):
        module = modules.get(t["context_module_id"])
        if t["tag_type"] != "context_module" or t["workflow_state"] != "active" or module is None:
            continue
        counts[module["course_id"]]["n_module_items"] += 1
        if t["content_type"] in ITEM_TYPES:
            counts[module["course_id"]][ITEM_TYPES[t["content_type"]]] += 1
    for a in truth.rows("assignments"):
        if a["context_type"] != "Course" or a["workflow_state"] != "published":
            continue
        types = _types(a)
        is_quiz = "online_quiz" in types
        is_new_quiz = "external_tool" in types and a["id"] in quiz_lti
        c = counts[a["context_id"]]
        c["n_assignments"] += 1
        c["n_assignments_" + _submission_group(types, is_quiz or is_new_quiz)] += 1
        c["n_assignments_with_due_date"] += a["due_at"] is not None
        c["n_new_quizzes"] += is_new_quiz and not is_quiz
        if a["points_possible"] is not None:
            points[a["context_id"]].append(float(a["points_possible"]))
    for g in truth.rows("assignment_groups"):
        if g["context_type"] == "Course" and g["workflow_state"] != "deleted":
            counts[g["context_id"]]["n_assignment_groups"] += 1
    late: dict[int, tuple[bool, bool]] = {}
    for p in truth.rows("late_policies"):
        before = late.get(p["course_id"], (False, False))
        late[p["course_id"]] = (
            before[0] or bool(p["late_submission_deduction_enabled"]),
            before[1] or bool(p["missing_submission_deduction_enabled"]),
        )
    for tool in truth.rows("context_external_tools"):
        if tool["context_type"] == "Course" and (tool["workflow_state"] or "") not in ("deleted", "disabled"):
            counts[tool["context_id"]]["n_external_tools"] += 1
    for page in truth.rows("wiki_pages"):
        if page["context_type"] == "Course" and page["workflow_state"] == "active":
            counts[page["context_id"]]["n_pages"] += 1
    for f in truth.rows("attachments"):
        if f["context_type"] == "Course" and f["workflow_state"] != "deleted" and f["file_state"] != "deleted":
            counts[f["context_id"]]["n_files"] += 1
    for topic in truth.rows("discussion_topics"):
        if topic["context_type"] == "Course" and topic["workflow_state"] in ("active", "locked"):
            key = "n_announcements" if topic["type"] == "Announcement" else "n_discussions"
            counts[topic["context_id"]][key] += 1
    for q in truth.rows("quizzes"):
        if q["context_type"] == "Course" and q["workflow_state"] == "available":
            counts[q["context_id"]]["n_classic_quizzes"] += 1

    out: list[Row] = []
    for d in dim_course(truth):
        if d["is_deleted"]:
            continue
        course_id = d["course_id"]
        c = counts[course_id]
        pts = points[course_id]
        n_assignments = c["n_assignments"]
        row: Row = {
            "course_id": course_id,
            "term_id": d["term_id"],
            "account_id": d["account_id"],
            "is_published": d["is_published"],
            "is_non_teaching": d["is_non_teaching"],
            "n_modules": c["n_modules"],
            "n_module_items": c["n_module_items"],
        }
        row.update({name: c[name] for name in ITEM_TYPES.values()})
        row["n_assignments"] = n_assignments
        row.update({f"n_assignments_{g}": c[f"n_assignments_{g}"] for g in SUBMISSION_GROUPS})
        late_flags = late.get(course_id)
        row.update(
            {
                "n_assignments_with_due_date": c["n_assignments_with_due_date"],
                "pct_assignments_with_due_date": (
                    c["n_assignments_with_due_date"] / n_assignments if n_assignments else None
                ),
                "total_points_possible": sum(pts) if pts else None,
                "avg_points_possible": sum(pts) / len(pts) if pts else None,
                "median_points_possible": _median(pts),
                "max_points_possible": max(pts) if pts else None,
                "n_assignment_groups": c["n_assignment_groups"],
                "uses_group_weights": courses[course_id]["group_weighting_scheme"] == "percent",
                "has_late_policy": late_flags is not None,
                "is_late_deduction_enabled": bool(late_flags and late_flags[0]),
                "is_missing_deduction_enabled": bool(late_flags and late_flags[1]),
                "n_external_tools": c["n_external_tools"],
                "n_pages": c["n_pages"],
                "n_files": c["n_files"],
                "n_discussions": c["n_discussions"],
                "n_announcements": c["n_announcements"],
                "n_classic_quizzes": c["n_classic_quizzes"],
                "n_new_quizzes": c["n_new_quizzes"],
                "n_quizzes": c["n_classic_quizzes"] + c["n_new_quizzes"],
            }
        )
        out.append(row)
    return out


def _n_requirements(value: Any) -> int:
    if value is None:
        return 0
    try:
        parsed = json.loads(value) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return 0
    return len(parsed) if isinstance(parsed, list) else 0


def fct_module_progress(truth: Truth) -> list[Row]:
    modules = {m["context_module_id"]: m for m in active_modules(truth)}
    status = {(s["user_id"], s["course_id"]): s["effective_status"] for s in student_courses(truth)}
    out: list[Row] = []
    for p in truth.rows("context_module_progressions"):
        module = modules.get(p["context_module_id"])
        if module is None or (p["user_id"], module["course_id"]) not in status:
            continue
        out.append(
            {
                "user_key": truth.user_key(p["user_id"]),
                "context_module_id": p["context_module_id"],
                "course_id": module["course_id"],
                "module_position": module["module_position"],
                "module_rank": module["rank"],
                "student_status": status[(p["user_id"], module["course_id"])],
                "workflow_state": p["workflow_state"],
                "n_requirements_met": _n_requirements(p["requirements_met"]),
                "is_started": p["workflow_state"] in ("started", "completed"),
                "is_completed": p["workflow_state"] == "completed",
                "completed_at": p["completed_at"],
                "evaluated_at": p["evaluated_at"],
            }
        )
    return out


def mart_module_funnel(truth: Truth, progress: list[Row]) -> list[Row]:
    min_cell = int(truth.params.get("cd2_min_cell_size", 10))
    n_students: dict[int, int] = defaultdict(int)
    for s in student_courses(truth):
        if s["effective_status"] in FUNNEL_STATUSES:
            n_students[s["course_id"]] += 1
    started: dict[int, int] = defaultdict(int)
    completed: dict[int, int] = defaultdict(int)
    for p in progress:
        if p["student_status"] in FUNNEL_STATUSES:
            started[p["context_module_id"]] += p["is_started"]
            completed[p["context_module_id"]] += p["is_completed"]
    out: list[Row] = []
    previous: dict[int, float | None] = {}
    for m in sorted(active_modules(truth), key=lambda m: (m["course_id"], m["rank"])):
        module_id, course_id = m["context_module_id"], m["course_id"]
        n = n_students.get(course_id, 0)
        pct_started = started[module_id] / n if n else None
        pct_completed = completed[module_id] / n if n else None
        before = previous.get(course_id)
        drop_off = (
            before - pct_completed if m["rank"] > 1 and before is not None and pct_completed is not None else None
        )
        previous[course_id] = pct_completed
        shown = n >= min_cell
        out.append(
            {
                "course_id": course_id,
                "context_module_id": module_id,
                "module_position": m["module_position"],
                "module_rank": m["rank"],
                "is_suppressed": not shown,
                "n_students": n if shown else None,
                "n_started": started[module_id] if shown else None,
                "n_completed": completed[module_id] if shown else None,
                "pct_started": pct_started if shown else None,
                "pct_completed": pct_completed if shown else None,
                "completion_drop_off": drop_off if shown else None,
            }
        )
    return out


def mart_student_module_completion(truth: Truth, progress: list[Row]) -> list[Row]:
    n_modules: dict[int, int] = defaultdict(int)
    for m in active_modules(truth):
        n_modules[m["course_id"]] += 1
    per_student: dict[tuple[str, int], list[Row]] = defaultdict(list)
    for p in progress:
        per_student[(p["user_key"], p["course_id"])].append(p)
    out: list[Row] = []
    for s in student_courses(truth):
        if s["course_id"] not in n_modules:
            continue
        user_key = truth.user_key(s["user_id"])
        rows = per_student.get((user_key, s["course_id"]), [])
        n_done = sum(r["is_completed"] for r in rows)
        completed_at = [r["completed_at"] for r in rows if r["completed_at"] is not None]
        out.append(
            {
                "user_key": user_key,
                "course_id": s["course_id"],
                "student_status": s["effective_status"],
                "n_modules": n_modules[s["course_id"]],
                "n_modules_started": sum(r["is_started"] for r in rows),
                "n_modules_completed": n_done,
                "pct_modules_completed": n_done / n_modules[s["course_id"]],
                "last_completed_at": max(completed_at) if completed_at else None,
            }
        )
    return out


def compute(truth: Truth) -> dict[str, MartRows]:
    progress = fct_module_progress(truth)
    return {
        "mart_course_design": MartRows(("course_id",), mart_course_design(truth)),
        "fct_module_progress": MartRows(("user_key", "context_module_id"), progress),
        "mart_module_funnel": MartRows(("context_module_id",), mart_module_funnel(truth, progress)),
        "mart_student_module_completion": MartRows(
            ("user_key", "course_id"), mart_student_module_completion(truth, progress)
        ),
    }
