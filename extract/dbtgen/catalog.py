"""``macros/generated/cd2_catalog.sql``: the tables, keys and column types the dbt macros need.

The current-state and tombstone macros read this (not the dbt ``graph``, which unit tests and
the parser do not fill) to build typed empty relations and to fill columns a raw table lacks.
"""

from __future__ import annotations

from pathlib import Path

from extract.dbtgen.render import GeneratedFile, sql_header, sql_string
from extract.landing.tables import landing_type
from extract.schema import ENUM_UNKNOWN, TRUNCATION_MARKERS, TableSchema

# Tables whose history is kept: snapshots are partial (web_logs: the last 30 days), never a reload.
HISTORY_TABLES = frozenset({"canvas_logs.web_logs"})
PATH = "macros/generated/cd2_catalog.sql"


def is_history(schema: TableSchema) -> bool:
    return schema.qualified_name in HISTORY_TABLES


def _table_entry(schema: TableSchema) -> str:
    columns = ",\n".join(
        f"                [{sql_string(c.name)}, {sql_string(landing_type(c).lower())}]" for c in schema.columns
    )
    return (
        f"        {sql_string(schema.qualified_name)}: {{\n"
        f"            'namespace': {sql_string(schema.namespace)},\n"
        f"            'table': {sql_string(schema.name)},\n"
        f"            'key': {sql_string(schema.primary_key[0])},\n"
        f"            'history': {'true' if is_history(schema) else 'false'},\n"
        f"            'columns': [\n{columns},\n            ],\n"
        f"        }}"
    )


def catalog_macro(schemas: list[TableSchema]) -> GeneratedFile:
    entries = ",\n".join(_table_entry(s) for s in schemas)
    markers = ", ".join(sql_string(m) for m in TRUNCATION_MARKERS)
    text = (
        sql_header("The CD2 tables and their landing column types")
        + "\n{% macro cd2_catalog() %}\n    {{ return({\n"
        + entries
        + ",\n    }) }}\n{% endmacro %}\n\n"
        + "{% macro cd2_truncation_markers() %}\n"
        + f"    {{{{ return([{markers}]) }}}}\n"
        + "{% endmacro %}\n\n"
        + "{% macro cd2_enum_unknown() %}\n"
        + f"    {{{{ return({sql_string(ENUM_UNKNOWN)}) }}}}\n"
        + "{% endmacro %}\n"
    )
    return GeneratedFile(Path(PATH), text)
