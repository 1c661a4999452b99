"""Reference for the conformed dimensions dim_account (ancestor path), dim_course (publication and
non-teaching flags) and dim_user (chosen login, login counts and last sign-in without Inst ID logins)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from extract.tests.marts_reference import MartRows, Row, Truth, per_truth
from extract.tests.marts_reference.enrollment import test_user_ids

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


def _is_inst_id(login: Row) -> bool:
    """A Canvas Identity (Inst ID) login; an unknown flag (null) is a regular login."""
    return login["is_inst_id"] is True


def chosen_logins(truth: Truth) -> dict[int, tuple[Row, str]]:
    """The login standing for each user and how it was chosen (DECISIONLOG, "Chosen login"):
    the latest SIS enrollment's login, else an active login (SIS id first, then position, id),
    else any login (non-deleted first); Inst ID logins are never candidates."""
    users = {u["id"] for u in truth.rows("users")}
    logins = [p for p in truth.rows("pseudonyms") if not _is_inst_id(p) and p["user_id"] in users]
    by_id = {p["id"]: p for p in logins}
    chosen: dict[int, tuple[Row, str]] = {}
    enrollments = sorted(
        truth.rows("enrollments"),
        key=lambda e: (e["updated_at"] is not None, e["updated_at"] or datetime.min, e["id"]),
        reverse=True,
    )
    for e in enrollments:
        login = by_id.get(e["sis_pseudonym_id"])
        if e["user_id"] in chosen or login is None or login["user_id"] != e["user_id"]:
            continue
        if login["workflow_state"] != "deleted":
            chosen[e["user_id"]] = (login, "sis_enrollment")

    def order(p: Row) -> tuple[Any, ...]:
        return (p["sis_user_id"] is None, p["position"] is None, p["position"] or 0, p["id"])

    for p in sorted((p for p in logins if p["workflow_state"] == "active"), key=order):
        chosen.setdefault(p["user_id"], (p, "active_login"))
    for p in sorted(logins, key=lambda p: (p["workflow_state"] == "deleted", *order(p))):
        chosen.setdefault(p["user_id"], (p, "any"))
    return chosen


def dim_user(truth: Truth) -> list[Row]:
    tests = test_user_ids(truth)
    keyed = {u["id"] for u in truth.rows("users")} | {e["user_id"] for e in truth.rows("enrollments")}
    keyed |= {s[c] for s in truth.rows("submissions") for c in ("user_id", "grader_id")}
    chosen = chosen_logins(truth)
    logins: dict[int, list[Row]] = {}
    for p in truth.rows("pseudonyms"):
        logins.setdefault(p["user_id"], []).append(p)
    out: list[Row] = []
    for u in truth.rows("users"):
        mine = logins.get(u["id"], [])
        regular = [p for p in mine if not _is_inst_id(p)]
        sign_ins = [t for p in regular for t in (p["current_login_at"], p["last_login_at"]) if t is not None]
        login, source = chosen.get(u["id"], (None, None))
        merged_into = u["merged_into_user_id"]
        out.append(
            {
                "user_key": truth.user_key(u["id"]),
                "workflow_state": u["workflow_state"],
                "is_deleted": u["workflow_state"] == "deleted",
                "is_test_user": u["id"] in tests,
                "is_merged_away": merged_into is not None,
                "merged_into_user_key": truth.user_key(merged_into) if merged_into in keyed else None,
                "chosen_login_source": source,
                "has_sis_id": login is not None and login["sis_user_id"] is not None,
                "n_logins": sum(p["workflow_state"] == "active" for p in regular),
                "n_inst_id_logins": sum(_is_inst_id(p) for p in mine),
                "last_login_at": max(sign_ins, default=None),
            }
        )
    return out


def compute(truth: Truth) -> dict[str, MartRows]:
    return {
        "dim_account": MartRows(("account_id",), dim_account(truth)),
        "dim_course": MartRows(("course_id",), dim_course(truth)),
        "dim_user": MartRows(("user_key",), dim_user(truth)),
    }
