"""Newer CD2 schema versions recorded in a DuckDB file, merged over the bundled schemas.

``cd2 sync`` records every schema version it lands in ``cd2_meta.schema_versions`` (the DAP
schema document). When the live API has moved ahead of the bundled copy (new columns), the
generator can use those versions so sources, catalog and staging list the new columns.
Facts the DAP document does not carry (foreign keys, truncation placeholders, descriptions)
are kept from the bundled schema for the columns it already knows.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from extract.schema import TableSchema, bundled_schemas

LATEST_VERSIONS_SQL = """
    select namespace, table_name, schema_version, schema_json
    from cd2_meta.schema_versions
    qualify row_number() over (partition by namespace, table_name order by schema_version desc) = 1
    order by namespace, table_name
"""


def recorded_schemas(db: Path) -> dict[str, TableSchema]:
    """The latest schema version of each table recorded in the DuckDB file (empty if none)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        exists = con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'cd2_meta' and table_name = 'schema_versions'"
        ).fetchone()
        if not exists or not exists[0]:
            return {}
        rows = con.execute(LATEST_VERSIONS_SQL).fetchall()
    finally:
        con.close()
    out: dict[str, TableSchema] = {}
    for namespace, table, version, document in rows:
        doc = json.loads(document) if isinstance(document, str) else document
        schema = TableSchema.from_dap_schema(str(namespace), str(table), doc, int(version))
        out[schema.qualified_name] = schema
    return out


def merge(bundled: TableSchema, recorded: TableSchema) -> TableSchema:
    """The recorded version's columns, with the bundled facts for columns the bundled schema has."""
    known = {c.name: c for c in bundled.columns}
    columns = tuple(known.get(c.name, c) for c in recorded.columns)
    columns += tuple(c for c in bundled.columns if c.name not in {r.name for r in recorded.columns})
    return TableSchema(
        namespace=bundled.namespace,
        name=bundled.name,
        version=recorded.version,
        primary_key=bundled.primary_key,
        columns=columns,
        description=bundled.description,
        extra=bundled.extra,
    )


def schemas_with_db(db: Path | None) -> list[TableSchema]:
    """Bundled schemas, each replaced by a newer version recorded in ``db`` where there is one."""
    bundled = bundled_schemas()
    recorded = recorded_schemas(db) if db is not None else {}
    out: list[TableSchema] = []
    for qname, schema in bundled.items():
        newer = recorded.get(qname)
        out.append(merge(schema, newer) if newer is not None and newer.version > schema.version else schema)
    return out
