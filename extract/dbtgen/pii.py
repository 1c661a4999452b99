"""The column privacy policy: which CD2 columns hold personal data, and of which class.

This is the one place the policy is written down (see ``user_needs.md`` §4 and
DECISIONLOG.md). The generator copies it into column ``meta: {pii: <class>}`` of the
current-state and staging models; staging keeps the columns, marts must leave them out
(or hash, truncate or mask them) according to the class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from extract.schema import TableSchema

PII_CLASSES: dict[str, str] = {
    "direct_identifier": "names a person or reaches them directly (name, login, SIS id, e-mail, phone)",
    "network": "network or device data that identifies a person or session (IP address, user agent, session)",
    "url": "a URL, whose query string can hold search terms, names or tokens",
    "free_text": "text written by a person (student work, messages, comments, file names)",
    "quasi_identifier": "harmless alone, identifying in combination (time zone, locale, account creation time)",
}

POLICY: dict[str, dict[str, str]] = {
    "canvas.users": {
        "name": "direct_identifier",
        "sortable_name": "direct_identifier",
        "short_name": "direct_identifier",
        "avatar_image_url": "direct_identifier",
        "pronouns": "direct_identifier",
        "time_zone": "quasi_identifier",
        "locale": "quasi_identifier",
        "created_at": "quasi_identifier",
    },
    "canvas.pseudonyms": {
        "unique_id": "direct_identifier",
        "sis_user_id": "direct_identifier",
        "integration_id": "direct_identifier",
        "current_login_ip": "network",
        "last_login_ip": "network",
    },
    "canvas.communication_channels": {"path": "direct_identifier"},
    "canvas.submissions": {"body": "free_text", "url": "free_text"},
    "canvas.submission_comments": {"comment": "free_text", "author_name": "direct_identifier"},
    "canvas.discussion_entries": {"message": "free_text"},
    "canvas.conversations": {"subject": "free_text"},
    "canvas.conversation_messages": {"body": "free_text"},
    "canvas.quiz_submissions": {"submission_data": "free_text"},
    "canvas.attachments": {"display_name": "free_text", "filename": "free_text"},
    "canvas_logs.web_logs": {
        "remote_ip": "network",
        "user_agent": "network",
        "session_id": "network",
        "url": "url",
    },
    # Canvas Catalog: buyers, applicants and admins are people too.
    "catalog.account_admins": {"name": "direct_identifier", "email": "direct_identifier"},
    "catalog.applicants": {"name": "direct_identifier", "email": "direct_identifier", "token": "direct_identifier"},
    "catalog.bulk_invitations": {"email": "direct_identifier", "code": "direct_identifier"},
    "catalog.orders": {"name": "direct_identifier", "email": "direct_identifier"},
    "catalog.users": {
        "user_name": "direct_identifier",
        "email_address": "direct_identifier",
        # answers to the account's registration questions (address, phone, birth date …)
        "custom_fields": "direct_identifier",
        "time_zone": "quasi_identifier",
        "created_at": "quasi_identifier",
    },
    "catalog.enrollments": {"last_sync_error": "free_text"},
}


def pii_class(schema: TableSchema, column: str) -> str | None:
    return POLICY.get(schema.qualified_name, {}).get(column)


def column_config(schema: TableSchema, column: str) -> dict[str, Any]:
    """The ``config`` of a column's YAML entry: its PII class as ``meta.pii``, nothing when it has none."""
    klass = pii_class(schema, column)
    return {"config": {"meta": {"pii": klass}}} if klass else {}


def check_policy(schemas: dict[str, TableSchema]) -> None:
    """Every policy entry of the given tables must name an existing column and a known class."""
    for qname, columns in POLICY.items():
        schema = schemas.get(qname)
        if schema is None:
            continue
        names = {c.name for c in schema.columns}
        for column, klass in columns.items():
            if column not in names:
                raise ValueError(f"PII policy names unknown column {qname}.{column}")
            if klass not in PII_CLASSES:
                raise ValueError(f"PII policy: unknown class {klass!r} for {qname}.{column}")


@dataclass(frozen=True)
class Treatment:
    """How staging reduces a personal column: a new name, the macro computing it, a description."""

    target: str
    macro: str
    description: str


_IP = "cd2_ip_prefix"
_IP_TEXT = (
    "The {name} reduced to its network (IPv4 /24, IPv6 /48: the host part zeroed); the full address "
    "stays in the restricted replica layers. Null when absent."
)

# Staging never exposes these columns as they are; direct identifiers are left out entirely (they live
# in the restricted `pii` schema), the columns below are reduced.
TREATMENTS: dict[str, dict[str, Treatment]] = {
    "canvas_logs.web_logs": {
        "remote_ip": Treatment("remote_ip_prefix", _IP, _IP_TEXT.format(name="client IP address")),
        "user_agent": Treatment(
            "user_agent_class",
            "cd2_user_agent_class",
            "The browser's user agent reduced to a device class: `mobile_app`, `mobile`, `tablet`, `bot`, "
            "`desktop` or `other` (null when absent or truncated).",
        ),
        "session_id": Treatment(
            "session_key",
            "cd2_session_key",
            "MD5 of the web session id: groups requests of one session without exposing the session token.",
        ),
        "url": Treatment(
            "url_path",
            "cd2_url_path",
            "The requested URL without its query string and fragment (they can hold search terms, names or tokens).",
        ),
    },
    "canvas.pseudonyms": {
        "current_login_ip": Treatment("current_login_ip_prefix", _IP, _IP_TEXT.format(name="current login IP")),
        "last_login_ip": Treatment("last_login_ip_prefix", _IP, _IP_TEXT.format(name="last login IP")),
    },
}


def staging_treatment(schema: TableSchema, column: str) -> Treatment | None:
    return TREATMENTS.get(schema.qualified_name, {}).get(column)


def dropped_in_staging(schema: TableSchema, column: str) -> bool:
    """Direct identifiers never reach staging (see the `pii` models)."""
    return pii_class(schema, column) == "direct_identifier"
