"""Current-state models: one small SQL file per CD2 table, their YAML, and the tombstone log.

Each file only configures the model and calls the shared macros in
``macros/current_state/`` (the logic is written once, there). The macros read the table's
facts from its source (``sources.py``) in dbt's ``graph``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from extract.dbtgen import describe, naming, pii
from extract.dbtgen.render import GeneratedFile, ident, sql_header, yaml_file
from extract.schema import TableSchema

KEPT_LOAD_COLUMNS = ("_meta_ts", "_batch_id", "_loaded_at", "_schema_version")
LOAD_TYPES = {"_meta_ts": "timestamp", "_batch_id": "bigint", "_loaded_at": "timestamp", "_schema_version": "integer"}


def model_path(schema: TableSchema) -> Path:
    return Path(naming.CURRENT_STATE_DIR) / schema.namespace / f"{naming.current_state_model(schema)}.sql"


def _config(*settings: str) -> str:
    """A model's ``config()`` block, one setting a line."""
    return "{{\n    config(\n" + "".join(f"        {setting},\n" for setting in settings) + "    )\n}}\n\n"


def model_sql(schema: TableSchema) -> GeneratedFile:
    ns, table = schema.namespace, schema.name
    text = (
        sql_header(f"Current state of {schema.qualified_name}")
        + _config(
            f"schema='{ns}'",
            f"alias='{table}'",
            f"unique_key='{schema.primary_key[0]}'",
            f"pre_hook=\"{{{{ cd2_current_state_prepare('{ns}', '{table}') }}}}\"",
        )
        + f"{{{{ cd2_current_state('{ns}', '{table}') }}}}\n"
    )
    return GeneratedFile(model_path(schema), text)


def deleted_rows_sql(schemas: list[TableSchema]) -> GeneratedFile:
    """The tombstone log, which reads every raw table: its ``source()`` calls are written out so
    that dbt records them at parse time (the macro finds the tables in ``graph.sources``, which
    dbt fills only at execution)."""
    sources = "".join(f"{{%- do source('{naming.source_name(s.namespace)}', '{s.name}') -%}}\n" for s in schemas)
    text = (
        sql_header("Tombstone log of every CD2 table (relation `cd2_audit.deleted_rows`)")
        + _config("alias='deleted_rows'", "incremental_strategy='append'")
        + sources
        + "\n{{ cd2_deleted_rows() }}\n"
    )
    return GeneratedFile(Path(naming.CURRENT_STATE_DIR) / "cd2" / "cd2__deleted_rows.sql", text)


def load_column_entries() -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "description": describe.doc_ref(describe.load_doc_block(name)),
            "data_type": LOAD_TYPES[name],
        }
        for name in KEPT_LOAD_COLUMNS
    ]


def model_entry(schema: TableSchema) -> dict[str, Any]:
    columns: list[dict[str, Any]] = []
    for column in schema.columns:
        entry = describe.column_entry(schema, column, "current")
        if ident(column.name) != column.name:  # a reserved word: dbt quotes it in tests
            entry["quote"] = True
        entry.update(pii.column_config(schema, column.name))
        if column.name in schema.primary_key:
            # checked on the rows not yet tested: tests/generic/unique_incremental.sql
            entry["data_tests"] = ["unique_incremental", "not_null_incremental"]
        columns.append(entry)
    columns += load_column_entries()
    return {
        "name": naming.current_state_model(schema),
        "description": describe.current_state_model_text(schema),
        "config": {"meta": {"cd2_table": schema.qualified_name}},
        "columns": columns,
    }


def models_yaml(schemas: list[TableSchema]) -> GeneratedFile:
    return yaml_file(
        f"{naming.CURRENT_STATE_DIR}/_current_state__models.yml",
        {"version": 2, "models": [model_entry(s) for s in schemas]},
        "Current-state models, one per CD2 table",
    )


def files(schemas: list[TableSchema]) -> list[GeneratedFile]:
    return [*(model_sql(s) for s in schemas), models_yaml(schemas), deleted_rows_sql(schemas)]
