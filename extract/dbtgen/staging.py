"""Staging views ``stg_<namespace>__<table>``: one SQL file per CD2 table, and their YAML.

Staging reads the current-state model and renames the key to ``<entity>_id``, turns landed
JSON into typed values, maps the enum sentinel and truncation placeholders to null (with an
``is_<column>_truncated`` flag) and flags soft deletes (``is_deleted``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from extract.dbtgen import describe, naming, pii
from extract.dbtgen.current_state import load_column_entries
from extract.dbtgen.render import (
    SQLFLUFF_KEYWORD_NAMES,
    FlowList,
    GeneratedFile,
    ident,
    jinja_string,
    jinja_text,
    sql_header,
    sql_string,
    yaml_file,
)
from extract.landing.tables import landing_type
from extract.schema import ENUM_UNKNOWN, Column, TableSchema

INDENT = " " * 8
MAX_LINE = 100  # sqlfluff's layout.long_lines


def has_soft_delete(schema: TableSchema) -> bool:
    names = {c.name: c for c in schema.columns}
    state = names.get("workflow_state")
    return state is not None and state.enum is not None and "deleted" in state.enum


def maps_sentinel(column: Column) -> bool:
    return column.enum is not None and ENUM_UNKNOWN in column.enum


def staging_type(column: Column) -> str:
    """The column's type in staging, for the YAML (which dbt renders with Jinja): a STRUCT type
    spells out nested property names, which come from the API."""
    return jinja_text((column.duckdb_type() if column.is_nested else landing_type(column)).lower())


def _alias(name: str) -> str:
    """`` as <name>``; a name sqlfluff takes for a keyword gets a ``noqa`` (it is a valid DuckDB alias)."""
    return f" as {ident(name)}" + ("  -- noqa: RF04" if name in SQLFLUFF_KEYWORD_NAMES else "")


def _select_items(schema: TableSchema) -> list[str]:
    """Select-list items; an item whose alias carries a ``noqa`` comment must stay last on its line."""
    items: list[str] = []
    for column in schema.columns:
        name = ident(column.name)
        target = naming.staging_name(schema, column.name)
        alias = _alias(target)
        treatment = pii.staging_treatment(schema, column.name)
        if pii.dropped_in_staging(schema, column.name):
            continue
        if treatment:
            items.append(f"{{{{ {treatment.macro}({sql_string(column.name)}) }}}} as {ident(treatment.target)}")
        elif column.is_nested:
            value = f"cd2_untruncated({sql_string(column.name)}, json=true)"
            structure = jinja_string(column.json_structure(), INDENT + "    ")
            call = f"{{{{ cd2_typed_json(\n{INDENT}    {value},\n{INDENT}    {structure}\n{INDENT}) }}}}"
            items.append(f"{call}{alias}")
            items.append(
                f"{{{{ cd2_is_truncated({sql_string(column.name)}, json=true) }}}} as {naming.truncation_flag(target)}"
            )
        elif maps_sentinel(column):
            items.append(f"{{{{ cd2_enum_value({sql_string(column.name)}) }}}}{alias}")
        elif column.enum is not None and column.type == "string":
            items.append(f"{{{{ cd2_enum_text({sql_string(column.name)}) }}}}{alias}")
        elif column.may_be_truncated:
            items.append(f"{{{{ cd2_untruncated({sql_string(column.name)}) }}}}{alias}")
            items.append(f"{{{{ cd2_is_truncated({sql_string(column.name)}) }}}} as {naming.truncation_flag(target)}")
        else:
            items.append(name if target == column.name else f"{name}{alias}")
        if column.name == "workflow_state" and has_soft_delete(schema):
            items.append("coalesce(workflow_state = 'deleted', false) as is_deleted")
    # `_meta_ts`, `_batch_id`, `_loaded_at` are typed nulls in dap_syncdb mode (no per-row metadata
    # there), `_schema_version` the table's version in dap's meta table
    items.append(f"{{{{ cd2_load_metadata({sql_string(schema.namespace)}, {sql_string(schema.name)}) }}}}")
    return items


def _join_items(items: list[str]) -> str:
    """Comma-separate select items, keeping a trailing ``-- noqa`` comment after the comma."""
    lines: list[str] = []
    for position, item in enumerate(items):
        comma = "," if position < len(items) - 1 else ""
        code, marker, comment = item.partition("  -- noqa")
        line = f"{code}{comma}{marker}{comment}"
        if len(INDENT + line) > MAX_LINE and " as " in code and "\n" not in code:
            expression, _, alias = code.rpartition(" as ")
            line = f"{expression}\n{INDENT}    as {alias}{comma}{marker}{comment}"
        lines.append(line)
    return f"\n{INDENT}".join(lines)


def current_table(schema: TableSchema) -> str:
    """The macro call that names the table's current state: the current-state model
    ``<namespace>__<table>`` (``naming.current_state_model``), or dap's table (dap_syncdb mode)."""
    return f"cd2_current_table({sql_string(schema.namespace)}, {sql_string(schema.name)})"


def model_path(schema: TableSchema) -> Path:
    return Path(naming.STAGING_DIR) / schema.namespace / f"{naming.staging_model(schema)}.sql"


def model_sql(schema: TableSchema) -> GeneratedFile:
    cte = schema.name
    select_list = _join_items(_select_items(schema))
    text = (
        sql_header(f"Staging view of {schema.qualified_name}")
        + f"{{{{ config(enabled=cd2_reads_namespace({sql_string(schema.namespace)})) }}}}\n\n"
        + "with\n\n"
        + f"{cte} as (\n\n"
        + f"    select * from {{{{ {current_table(schema)} }}}}\n\n"
        + "),\n\n"
        + "final as (\n\n"
        + "    select\n"
        + f"{INDENT}{select_list}\n"
        + f"    from {cte}\n\n"
        + ")\n\n"
        + "select * from final\n"
    )
    return GeneratedFile(model_path(schema), text)


def _relationship_test(schema: TableSchema, column: Column, by_name: dict[str, TableSchema]) -> dict[str, Any] | None:
    if len(column.references) != 1 or column.name in schema.primary_key:
        return None
    target_table, target_column = column.references[0].rsplit(".", 1)
    target = by_name.get(target_table)
    if target is None or target.primary_key != (target_column,):
        return None
    name = naming.staging_name(schema, column.name)
    return {
        "relationships": {
            "arguments": {
                "to": f"ref('{naming.staging_model(target)}')",
                "field": naming.staging_key(target),
            },
            "config": {"severity": "warn", "where": f"{name} is not null"},
        }
    }


def _accepted_values_test(column: Column) -> dict[str, Any] | None:
    if column.enum is None or column.enum_open:
        return None
    # Members come from the API. dbt renders test arguments with Jinja, then its accepted_values
    # writes each value into the test's SQL as it is: between quotes, or bare with quote=false.
    members = [m for m in column.enum if m != ENUM_UNKNOWN]
    arguments: dict[str, Any]
    if column.type == "string":
        arguments = {"values": FlowList(jinja_text(str(m).replace("'", "''")) for m in members)}
    elif all(isinstance(m, int | float) and not isinstance(m, bool) for m in members):
        arguments = {"values": FlowList(members), "quote": False}
    else:
        return None  # a member that is not a number would be SQL of its own
    return {"accepted_values": {"arguments": arguments, "config": {"severity": "warn"}}}


def column_entries(schema: TableSchema, by_name: dict[str, TableSchema]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for column in schema.columns:
        target = naming.staging_name(schema, column.name)
        treatment = pii.staging_treatment(schema, column.name)
        if pii.dropped_in_staging(schema, column.name):
            continue
        if treatment:
            entries.append(
                {
                    "name": treatment.target,
                    "description": treatment.description,
                    "data_type": "varchar",
                    "config": {"meta": {"pii": pii.pii_class(schema, column.name), "pii_treatment": treatment.macro}},
                }
            )
            continue
        entry: dict[str, Any] = {
            "name": target,
            "description": describe.column_text(schema, column, "staging"),
            "data_type": staging_type(column),
        }
        if ident(target) != target:  # a reserved word: dbt quotes it in tests and column comments
            entry["quote"] = True
        klass = pii.pii_class(schema, column.name)
        if klass:
            entry["config"] = {"meta": {"pii": klass}}
        tests: list[Any] = []
        if column.name in schema.primary_key:
            tests += ["unique", "not_null"]
        for test in (_relationship_test(schema, column, by_name), _accepted_values_test(column)):
            if test:
                tests.append(test)
        if tests:
            entry["data_tests"] = tests
        entries.append(entry)
        if column.may_be_truncated:
            entries.append(
                {
                    "name": naming.truncation_flag(target),
                    "description": describe.truncation_flag_text(column),
                    "data_type": "boolean",
                }
            )
        if column.name == "workflow_state" and has_soft_delete(schema):
            entries.append(
                {"name": "is_deleted", "description": describe.doc_ref("cd2__is_deleted"), "data_type": "boolean"}
            )
    entries += load_column_entries()
    return entries


def model_entry(schema: TableSchema, by_name: dict[str, TableSchema]) -> dict[str, Any]:
    description = describe.staging_model_text(schema)
    dropped = [c.name for c in schema.columns if pii.dropped_in_staging(schema, c.name)]
    if dropped:
        listed = ", ".join(f"`{name}`" for name in dropped)
        description += f" Direct identifiers ({listed}) are left out: they are only in the restricted `pii` schema."
    return {
        "name": naming.staging_model(schema),
        "description": description,
        "config": {"meta": {"cd2_table": schema.qualified_name}},
        "columns": column_entries(schema, by_name),
    }


def models_yaml(namespace: str, schemas: list[TableSchema]) -> GeneratedFile:
    by_name = {s.qualified_name: s for s in schemas}
    models = [model_entry(s, by_name) for s in schemas if s.namespace == namespace]
    return yaml_file(
        f"{naming.STAGING_DIR}/{namespace}/_{namespace}__models.yml",
        {"version": 2, "models": models},
        f"Staging views of the CD2 namespace `{namespace}`",
    )


def files(schemas: list[TableSchema]) -> list[GeneratedFile]:
    namespaces = sorted({s.namespace for s in schemas})
    return [*(model_sql(s) for s in schemas), *(models_yaml(ns, schemas) for ns in namespaces)]
