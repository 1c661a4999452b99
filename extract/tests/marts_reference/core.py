"""Reference for the conformed dimensions dim_account (ancestor path) and dim_course (publication and
non-teaching flags)."""

from __future__ import annotations

import re
from typing import Any

from extract.tests.marts_reference import MartRows, Row, Truth, per_truth

MAX_DEPTH = 50
PUBLISH_STATE = {
    "created": "unpublished_no_teacher",
    "claimed": "unpublished_with_teacher",
    "available": "published",
    "completed": "concluded",
    "deleted": "deleted",
}


def _ilike(value: str | None, pattern: str) -> bool:
    """SQL ILIKE with % and _ wildcards (no escapes)."""
    if value is None:
        return False
    regex = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, flags=re.IGNORECASE | re.DOTALL) is not None


def _ancestors(account_id: int, accounts: dict[int, Row]) -> list[int]:
    """The account's ancestor ids from the root down to itself (a missing parent still counts)."""
    chain = [account_id]
    current = account_id
    while len(chain) <= MAX_DEPTH:
        row = accounts.get(current)
        parent = row["parent_account_id"] if row else None
        if parent is None:
            break
        chain.append(parent)
        current = parent
    return list(reversed(chain))


def _at(values: list[Any], index: int) -> Any:
    return values[index] if index < len(values) else None


def dim_account(truth: Truth) -> list[Row]:
    accounts = {a["id"]: a for a in truth.rows("accounts")}
    out: list[Row] = []
    for account_id, a in accounts.items():
        path = _ancestors(account_id, accounts)
        names = [accounts[i]["name"] if i in accounts and accounts[i]["name"] is not None else f"#{i}" for i in path]
        out.append(
            {
                "account_id": account_id,
                "account_name": a["name"],
                "parent_account_id": a["parent_account_id"],
                "root_account_id": path[0],
                "sis_source_id": a["sis_source_id"],
                "workflow_state": a["workflow_state"],
                "is_deleted": a["workflow_state"] == "deleted",
                "default_time_zone": a["default_time_zone"],
                "depth": len(path) - 1,
                "account_path": " > ".join(names),
                "account_id_path": path,
                "level_1_account_id": _at(path, 1),
                "level_2_account_id": _at(path, 2),
                "level_3_account_id": _at(path, 3),
            }
        )
    return out


def _has_text(value: str | None) -> bool:
    return value is not None and value.strip(" ") != ""


@per_truth
def dim_course(truth: Truth) -> list[Row]:
    accounts = {a["id"]: a for a in truth.rows("accounts")}
    paths = {r["account_id"]: r["account_path"] for r in dim_account(truth)}
    terms = {t["id"]: t for t in truth.rows("enrollment_terms")}
    default_term = str(truth.params.get("cd2_default_term_name", "Default Term"))
    sandbox_pattern = str(truth.params.get("cd2_sandbox_pattern", "%sandbox%"))
    blueprints = {
        m["course_id"] for m in truth.rows("master_courses_master_templates") if m["workflow_state"] != "deleted"
    }
    out: list[Row] = []
    for c in truth.rows("courses"):
        term = terms.get(c["enrollment_term_id"])
        account_path = paths.get(c["account_id"]) if c["account_id"] in accounts else None
        is_sandbox = (
            _ilike(account_path, sandbox_pattern)
            or _ilike(c["course_code"], "sandbox%")
            or _ilike(c["name"], "sandbox%")
        )
        is_blueprint = c["id"] in blueprints
        is_template = bool(c.get("template"))
        is_default_term = term is not None and term["name"] == default_term
        week1_start = c["start_at"] if c["start_at"] is not None else (term["start_at"] if term else None)
        week1_local = truth.local(week1_start)
        out.append(
            {
                "course_id": c["id"],
                "course_name": c["course_code"] if is_sandbox else c["name"],
                "course_code": c["course_code"],
                "sis_source_id": c["sis_source_id"],
                "account_id": c["account_id"],
                "term_id": c["enrollment_term_id"],
                "workflow_state": c["workflow_state"],
                "is_deleted": c["workflow_state"] == "deleted",
                "publish_state": PUBLISH_STATE.get(c["workflow_state"]),
                "is_published": c["workflow_state"] in ("available", "completed"),
                "is_sandbox": is_sandbox,
                "is_blueprint": is_blueprint,
                "is_template": is_template,
                "is_default_term": is_default_term,
                "is_non_teaching": is_sandbox or is_blueprint or is_template or is_default_term,
                "start_at": c["start_at"],
                "conclude_at": c["conclude_at"],
                "restrict_enrollments_to_course_dates": bool(c["restrict_enrollments_to_course_dates"]),
                "week1_start_local_date": week1_local.date() if week1_local else None,
                "time_zone": c["time_zone"],
                # truth nulls a truncated body; the loader marks it so (an oversized syllabus is one)
                "has_syllabus": _has_text(c["syllabus_body"]) or bool(c.get("is_syllabus_body_truncated")),
            }
        )
    return out


def compute(truth: Truth) -> dict[str, MartRows]:
    return {
        "dim_account": MartRows(("account_id",), dim_account(truth)),
        "dim_course": MartRows(("course_id",), dim_course(truth)),
    }
