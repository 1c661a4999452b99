"""Names that come from the DAP API are data: checked before they become paths or SQL.

CD2 namespaces, tables and (top-level) columns are lowercase snake_case identifiers. The API
is trusted for data, never for code: a table name is used in work-folder paths, SQL
identifiers, dbt model names and log lines, so one that does not follow that pattern (a
``/``, a quote, a newline, ...) is refused where it enters (``TableSchema.from_dap_schema``,
the sync, codegen). Where names are used they are still quoted (SQL), escaped (log lines) or
proven to stay inside their folder (paths): a second line, should a check be bypassed.

Every name in the bundled schemas and the project's reference copy of them fits
``NAME_PATTERN`` (``extract/tests/test_hostile_names.py`` checks it). Names of properties
nested inside a JSON column are not checked: they never become paths or identifiers of
their own (landing keeps such columns as JSON; the generated dbt files quote and escape them).
"""

from __future__ import annotations

import re
from pathlib import Path

MAX_NAME_LENGTH = 63  # PostgreSQL's identifier limit, far above CD2's longest name
NAME_PATTERN = re.compile(rf"[a-z_][a-z0-9_]{{0,{MAX_NAME_LENGTH - 1}}}")


class UnsafeNameError(ValueError):
    """A name from the API (or a file it wrote) that must not become a path or an identifier."""

    error_type = "UnsafeNameError"  # what the sync records as the failure's type


class UnsafePathError(ValueError):
    """A path that would leave the folder it must stay in."""


def is_safe_name(value: object) -> bool:
    return isinstance(value, str) and NAME_PATTERN.fullmatch(value) is not None


def check_name(kind: str, value: object, where: str = "") -> str:
    """``value`` when it is a safe CD2 name, else ``UnsafeNameError`` naming it with ``repr``.

    ``where`` (e.g. ``"canvas.courses"``) says whose column it is; it must itself be safe or
    already shown with ``repr``.
    """
    if is_safe_name(value):
        return str(value)
    of = f" of {where}" if where else ""
    raise UnsafeNameError(
        f"unsafe {kind} name {_shown_repr(value)}{of}: a CD2 name is 1 to {MAX_NAME_LENGTH} lowercase ASCII "
        "letters, digits or underscores, not starting with a digit; refused, as names become file paths and SQL"
    )


def check_qualified_name(qname: str) -> tuple[str, str]:
    """``(namespace, table)`` of a safe ``namespace.table``, else ``UnsafeNameError``."""
    namespace, dot, table = qname.partition(".")
    if not dot:
        raise UnsafeNameError(f"{_shown_repr(qname)} is not a qualified table name (namespace.table)")
    return check_name("namespace", namespace), check_name("table", table)


def shown(value: str, limit: int = 200) -> str:
    """``value`` for a log line or a message: unchanged when safe, else ``repr``-escaped (a
    newline shows as ``\\n``, never as a line break) without the outer quotes, cut at ``limit``."""
    if is_safe_name(value):
        return value
    text = repr(value)[1:-1]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_qualified(qname: str) -> str:
    """``shown`` of each part of ``namespace.table`` (the dot that separates them stays)."""
    namespace, dot, table = qname.partition(".")
    return f"{shown(namespace)}{dot}{shown(table)}" if dot else shown(qname)


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier (an embedded quote doubled): for any text."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """``text`` as a single-quoted SQL string literal (an embedded quote doubled): for any text."""
    return "'" + text.replace("'", "''") + "'"


def inside(root: Path, path: Path) -> Path:
    """``path`` when it resolves (symlinks followed) strictly inside ``root``, else ``UnsafePathError``."""
    base = root.resolve()
    resolved = path.resolve()
    if resolved == base or not resolved.is_relative_to(base):
        raise UnsafePathError(f"{shown(str(path))} is not inside {shown(str(root))}")
    return path


def _shown_repr(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:199] + "…"
