"""``macros/generated/cd2_catalog.sql``: the tables, keys and column types the dbt macros need.

The current-state and tombstone macros read this (not the dbt ``graph``, which unit tests and
the parser do not fill) to build typed empty relations and to fill columns a raw table lacks.
"""

from __future__ import annotations

import json
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
    entry = {
        "namespace": schema.namespace,
        "table": schema.name,
        "key": schema.primary_key[0],
        "history": is_history(schema),
        "columns": [[c.name, landing_type(c).lower()] for c in schema.columns],
    }
    return f"        {json.dumps(schema.qualified_name)}: {json.dumps(entry)}"


def catalog_macro(schemas: list[TableSchema]) -> GeneratedFile:
    entries = ",\n".join(_table_entry(s) for s in schemas)
    # JSON in one string literal: Jinja compiles a 90 KB dict literal into Python code on the
    # first call of every dbt process (~0.3 s, on the critical path of each run); a string is
    # one token, and fromjson of it takes about a millisecond per call.
    if "'" in entries or "\\" in entries:
        raise ValueError("a CD2 table or column name holds a quote or a backslash")
    markers = ", ".join(sql_string(m) for m in TRUNCATION_MARKERS)
    text = (
        sql_header("The CD2 tables and their landing column types")
        + "\n{% macro cd2_catalog() %}\n    {{ return(fromjson('{\n"
        + entries
        + "\n    }')) }}\n{% endmacro %}\n\n"
        + "{% macro cd2_truncation_markers() %}\n"
        + f"    {{{{ return([{markers}]) }}}}\n"
        + "{% endmacro %}\n\n"
        + "{% macro cd2_enum_unknown() %}\n"
        + f"    {{{{ return({sql_string(ENUM_UNKNOWN)}) }}}}\n"
        + "{% endmacro %}\n"
    )
    return GeneratedFile(Path(PATH), text)
