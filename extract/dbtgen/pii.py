"""The column privacy policy: which CD2 columns hold personal data, and of which class.

This is the one place the policy is written down (see ``user_needs.md`` §4 and
DECISIONLOG.md). The generator copies it into column ``meta: {pii: <class>}`` of the
current-state and staging models; staging keeps the columns, marts must leave them out
(or hash, truncate or mask them) according to the class.
"""

from __future__ import annotations

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
}


def pii_class(schema: TableSchema, column: str) -> str | None:
    return POLICY.get(schema.qualified_name, {}).get(column)


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
