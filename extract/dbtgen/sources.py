"""``_<namespace>__sources.yml``: the raw change-log tables as dbt sources, one file per namespace.

They sit beside the current-state models, their only readers. Each table carries the facts the
current-state macros read from dbt's ``graph.sources`` (``macros/current_state/cd2_table_spec.sql``):
``meta.cd2_table``, ``meta.primary_key``, ``meta.history`` and every column's landing ``data_type``.
"""

from __future__ import annotations

from typing import Any

from extract.dbtgen import describe, docs, naming, pii
from extract.dbtgen.render import GeneratedFile, yaml_file
from extract.landing.tables import LOAD_COLUMNS
from extract.schema import TableSchema

FRESHNESS = {
    "warn_after": {"count": "{{ var('cd2_freshness_warn_hours', 12) }}", "period": "hour"},
    "error_after": {"count": "{{ var('cd2_freshness_error_hours', 36) }}", "period": "hour"},
}


def _table_entry(schema: TableSchema) -> dict[str, Any]:
    columns: list[dict[str, Any]] = []
    for column in schema.columns:
        entry = describe.column_entry(schema, column, "raw")
        entry.update(pii.column_config(schema, column.name))
        columns.append(entry)
    for name, data_type in LOAD_COLUMNS:
        columns.append(
            {
                "name": name,
                "description": describe.doc_ref(describe.load_doc_block(name)),
                "data_type": data_type.lower(),
            }
        )
    return {
        "name": schema.name,
        "description": describe.source_table_text(schema),
        "config": {
            "meta": {
                "cd2_table": schema.qualified_name,
                "primary_key": schema.primary_key[0],
                "history": naming.is_history(schema),
            }
        },
        "columns": columns,
    }


def sources_yaml(namespace: str, schemas: list[TableSchema]) -> GeneratedFile:
    source = naming.source_name(namespace)
    document = {
        "version": 2,
        "sources": [
            {
                "name": source,
                "schema": source,
                "description": describe.doc_ref(docs.source_block(namespace)),
                "config": {"loaded_at_field": "_loaded_at", "freshness": FRESHNESS},
                "tables": [_table_entry(s) for s in schemas if s.namespace == namespace],
            }
        ],
    }
    return yaml_file(
        f"{naming.CURRENT_STATE_DIR}/{namespace}/_{namespace}__sources.yml",
        document,
        f"Raw change logs of the CD2 namespace `{namespace}`, as landed by `cd2 sync`",
    )


def files(schemas: list[TableSchema]) -> list[GeneratedFile]:
    namespaces = sorted({s.namespace for s in schemas})
    return [sources_yaml(ns, schemas) for ns in namespaces]
