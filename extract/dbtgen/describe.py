"""Descriptions of generated sources, models and columns: hand-written text plus schema facts.

Shared prose lives in doc blocks (``_canvas__docs.md``, written by ``docs.py``); per-column
facts (type, nullability, enum members, reference target, truncation, PII class) are
generated here, so every model and column has a description.
"""

from __future__ import annotations

from typing import Any

from extract.dbtgen import descriptions, naming, pii
from extract.dbtgen.render import jinja_text
from extract.landing.tables import landing_type
from extract.schema import ENUM_UNKNOWN, Column, TableSchema

LAYERS = ("raw", "current", "staging")
MAX_LISTED_MEMBERS = 12
LOAD_COLUMNS = ("_meta_ts", "_meta_action", "_batch_id", "_loaded_at", "_schema_version")
# dbt-duckdb quotes column comments with this: a description holding it fails the build.
COMMENT_QUOTE = "$dbt_comment_literal_block$"


def doc_ref(block: str) -> str:
    return "{{ doc('" + block + "') }}"


def common_doc_block(column: str) -> str:
    return f"cd2__column__{column}"


def load_doc_block(column: str) -> str:
    return f"cd2__{column.lstrip('_')}"


def _is_described(schema: TableSchema) -> bool:
    """Whether the hand-written Canvas texts apply (catalog has tables named like Canvas's)."""
    return schema.namespace in descriptions.DESCRIBED_NAMESPACES


def table_text(schema: TableSchema) -> str:
    fallback = descriptions.OTHER_TABLES.get(schema.qualified_name, f"Rows of the CD2 table `{schema.qualified_name}`.")
    return descriptions.TABLES.get(schema.name, fallback) if _is_described(schema) else fallback


def _prose(schema: TableSchema, column: Column) -> str:
    if _is_described(schema):
        specific = descriptions.TABLE_COLUMNS.get(schema.name, {}).get(column.name)
        if specific:
            return specific
        if column.name in descriptions.COMMON_COLUMNS:
            return doc_ref(common_doc_block(column.name))
    words = column.name.replace("_", " ")
    if column.references and len(column.references) == 1:
        target = column.references[0].rsplit(".", 1)[0]
        return f"The referenced {naming.singular(target.split('.', 1)[1]).replace('_', ' ')} (`{target}`)."
    if column.format == "date-time":
        return f"Timestamp (UTC): {words}."
    if column.type == "boolean":
        return f"Flag: {words}."
    return f"{words[:1].upper()}{words[1:]}."


def _type_fact(column: Column, layer: str) -> str:
    if layer == "staging" and column.is_nested:
        kind = "list" if column.type == "array" else "struct"
        return f"Typed {kind} parsed from the landed JSON."
    if column.is_nested:
        return "Nested value kept as JSON (staging parses it into a typed value)."
    return f"`{column.duckdb_type(nested_as_json=True).lower()}`."


def _enum_fact(column: Column, layer: str) -> str | None:
    if column.enum is None:
        return None
    members = [m for m in column.enum if m != ENUM_UNKNOWN]
    if len(members) <= MAX_LISTED_MEMBERS and not any(COMMENT_QUOTE in str(m) for m in members):
        # members come from the API: data in a description dbt renders with Jinja
        listed = "One of " + ", ".join(jinja_text(f"`{m}`") for m in members) + "."
    else:
        listed = f"One of {len(members)} documented values."
    if column.enum_open:
        listed += " Other values are allowed (an open list)."
    if ENUM_UNKNOWN in column.enum:
        if layer == "staging":
            listed += f" CD2's `{ENUM_UNKNOWN}` (a value outside the list) is null here."
        else:
            listed += f" CD2 sends `{ENUM_UNKNOWN}` for a value outside the list."
    return listed


def _reference_fact(schema: TableSchema, column: Column) -> str | None:
    if not column.references:
        return None
    if len(column.references) == 1:
        return f"References `{column.references[0]}`."
    targets = ", ".join(f"`{r}`" for r in column.references)
    sibling = column.name[:-3] + "_type" if column.name.endswith("_id") else None
    names = {c.name for c in schema.columns}
    chooser = f", chosen by `{sibling}`" if sibling in names else ""
    return f"References one of {targets}{chooser}."


def column_text(schema: TableSchema, column: Column, layer: str) -> str:
    """The description of a CD2 column in the raw source, the current state or staging."""
    parts = [_prose(schema, column)]
    if column.deprecated:
        parts.append(f"**Deprecated**: {column.deprecated}.")
    if column.name in schema.primary_key:
        parts.append("Primary key.")
    parts.append(_type_fact(column, layer))
    if column.name not in schema.primary_key:
        # CD2 held NULLs in columns its schema called required (its 2026-04-27 fix): never "never null".
        parts.append("Required in the CD2 schema, yet may be null." if not column.nullable else "May be null.")
    for fact in (_enum_fact(column, layer), _reference_fact(schema, column)):
        if fact:
            parts.append(fact)
    if column.may_be_truncated:
        if layer == "staging":
            parts.append(f"Null when CD2 truncated an oversized value (see `{naming.truncation_flag(column.name)}`).")
        else:
            parts.append("CD2 replaces an oversized value with a truncation placeholder.")
    if column.encoded_json:
        parts.append("Serialized JSON (older rows may hold YAML), kept as text.")
    klass = pii.pii_class(schema, column.name)
    if klass:
        parts.append(f"PII ({klass}).")
    return " ".join(parts)


def column_entry(schema: TableSchema, column: Column, layer: str) -> dict[str, Any]:
    """A CD2 column in the raw sources' or the current-state models' YAML: its name, its
    description in ``layer`` and its landing type (the current-state macros read the sources')."""
    return {
        "name": column.name,
        "description": column_text(schema, column, layer),
        "data_type": landing_type(column).lower(),
    }


def truncation_flag_text(column: Column) -> str:
    return (
        f"Whether CD2 replaced an oversized `{column.name}` with a truncation placeholder "
        f"(`{column.name}` is then null)."
    )


def current_state_model_text(schema: TableSchema) -> str:
    history = " History is kept: rows are never removed by a snapshot." if naming.is_history(schema) else ""
    return (
        f"{table_text(schema)}\n\nCurrent state of `{schema.qualified_name}`, one row per "
        f"`{schema.primary_key[0]}`.{history} {doc_ref('cd2__current_state_model')}"
    )


def staging_model_text(schema: TableSchema) -> str:
    return (
        f"{table_text(schema)}\n\nStaging view of `{schema.qualified_name}`: primary key "
        f"`{naming.staging_key(schema)}`. {doc_ref('cd2__staging_model')}"
    )


def source_table_text(schema: TableSchema) -> str:
    return f"{table_text(schema)}\n\n{doc_ref('cd2__raw_table')}"
