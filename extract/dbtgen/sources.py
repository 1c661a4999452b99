"""The dbt sources of the CD2 tables, one file of each kind per namespace.

``_<namespace>__sources.yml``: the raw change-log tables ``cd2 sync`` lands.
They sit beside the current-state models, their only readers. Each table carries the facts the
current-state macros read from dbt's ``graph.sources`` (``macros/current_state/cd2_table_spec.sql``):
``meta.cd2_table``, ``meta.primary_key``, ``meta.history`` and every column's landing ``data_type``.

``_<namespace>__dap_sources.yml`` (beside the staging views): the same tables as Instructure's
``dap initdb``/``syncdb`` maintain them (``<namespace>.<table>``), which staging reads in
``dap_syncdb`` mode; enabled only in that mode. ``meta.schema_version`` is the version the
models are written for (``cd2_current_table`` refuses an older one).
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
                "config": {"enabled": CD2_MODE_ENABLED, "loaded_at_field": "_loaded_at", "freshness": FRESHNESS},
                "tables": [_table_entry(s) for s in schemas if s.namespace == namespace],
            }
        ],
    }
    return yaml_file(
        f"{naming.CURRENT_STATE_DIR}/{namespace}/_{namespace}__sources.yml",
        document,
        f"Raw change logs of the CD2 namespace `{namespace}`, as landed by `cd2 sync`",
    )


# The source mode as yml and dbt_project.yml read it. They cannot call the macro
# cd2_source_mode() (macros/sources/), and dbt hands project vars to yml unrendered, so the
# engine's default is spelled out here: the one place in models/ where the engine is named
# (test_dbt_project checks that no other place does).
SOURCE_MODE_DEFAULT = "'dap_syncdb' if target.type == 'postgres' else 'cd2'"
SOURCE_MODE = f"var('cd2_source_mode', {SOURCE_MODE_DEFAULT})"
DAP_MODE_ENABLED = "{{ " + SOURCE_MODE + " == 'dap_syncdb' }}"
CD2_MODE_ENABLED = "{{ " + SOURCE_MODE + " != 'dap_syncdb' }}"


def dap_sources_yaml(namespace: str, schemas: list[TableSchema]) -> GeneratedFile:
    tables = [
        {
            "name": s.name,
            "description": f"`{s.qualified_name}` as `dap initdb`/`syncdb` maintain it (`dap_syncdb` mode).",
            "config": {"meta": {"cd2_table": s.qualified_name, "schema_version": s.version}},
        }
        for s in schemas
        if s.namespace == namespace
    ]
    document = {
        "version": 2,
        "sources": [
            {
                "name": naming.dap_source_name(namespace),
                "schema": namespace,
                "description": describe.doc_ref("cd2__source_dap"),
                "config": {"enabled": DAP_MODE_ENABLED},
                "tables": tables,
            }
        ],
    }
    return yaml_file(
        f"{naming.STAGING_DIR}/{namespace}/_{namespace}__dap_sources.yml",
        document,
        f"The CD2 namespace `{namespace}` as Instructure's dap syncdb maintains it",
    )


def files(schemas: list[TableSchema]) -> list[GeneratedFile]:
    namespaces = sorted({s.namespace for s in schemas})
    return [
        *(sources_yaml(ns, schemas) for ns in namespaces),
        *(dap_sources_yaml(ns, schemas) for ns in namespaces),
    ]
