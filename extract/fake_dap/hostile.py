"""Hostile names, for testing that a client keeps names from the API as data.

With ``ServerConfig(hostile_names=True)`` the fake adds to ``GET /dap/query/canvas/table``:

* ``HOSTILE_TABLES``: names that would be a path out of a work folder, a forged log line or
  an SQL statement if used as they are.
* ``HOSTILE_COLUMNS_TABLE``: a legitimate-looking table whose schema holds column names with a
  double quote (an SQL statement after it) and Jinja code.

Whatever reaches the fake of these names is served in full: their schema and data endpoints
answer with ``ALIAS``'s schema and rows (the hostile-columns table with its own schema), so a
client that does not refuse them goes on to build paths, SQL and log lines from them.
"""

from __future__ import annotations

from typing import Any

from extract.schema import Column, TableSchema

NAMESPACE = "canvas"
HOSTILE_TABLES = (
    "x/../../../victim",
    "a\nINFO forged line",
    't"; drop table raw_canvas.courses; --',
)
HOSTILE_COLUMNS_TABLE = "course_notes"
ALIAS = "courses"  # the store's table whose schema and rows the hostile tables serve
HOSTILE_COLUMNS = (
    'note"; drop table raw_canvas.courses; --',
    "{{ run_query('drop table raw_canvas.courses') }}",
)


def extra_tables(namespace: str) -> list[str]:
    """Names listed after the store's tables of ``namespace``."""
    return [*HOSTILE_TABLES, HOSTILE_COLUMNS_TABLE] if namespace == NAMESPACE else []


def alias(namespace: str, table: str) -> str | None:
    """The store table (``canvas.courses``) that serves a hostile table, None for other tables."""
    if namespace == NAMESPACE and table in (*HOSTILE_TABLES, HOSTILE_COLUMNS_TABLE):
        return f"{NAMESPACE}.{ALIAS}"
    return None


def hostile_columns_schema() -> TableSchema:
    """``canvas.course_notes``: an ordinary key and column, then the hostile column names."""
    columns = (
        Column("id", "integer", "int64", nullable=False),
        Column("title", "string"),
        *(Column(name, "string") for name in HOSTILE_COLUMNS),
    )
    return TableSchema(NAMESPACE, HOSTILE_COLUMNS_TABLE, 1, ("id",), columns)


def table_schema(namespace: str, table: str) -> tuple[int, dict[str, Any]] | None:
    """The schema reply for the hostile-columns table, None for any other table."""
    if (namespace, table) != (NAMESPACE, HOSTILE_COLUMNS_TABLE):
        return None
    schema = hostile_columns_schema()
    return 200, {"schema": schema.to_dap_schema(), "version": schema.version}
