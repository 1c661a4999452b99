"""Newer CD2 schema versions recorded in a DuckDB file, merged over the bundled schemas.

``cd2 sync`` records every schema version it lands in ``cd2_meta.schema_versions`` (the DAP
schema document). When the live API has moved ahead of the bundled copy (new columns), the
generator can use those versions so sources, catalog and staging list the new columns; a table
the bundle lacks altogether (a new namespace) is generated from its recorded version alone.
Facts the DAP document does not carry (foreign keys, truncation placeholders, descriptions)
are kept from the bundled schema for the columns it already knows.
"""

from __future__ import annotations

import json
from pathlib import Path

from extract.database import open_database
from extract.failures import UsageError
from extract.names import NAME_PATTERN, UnsafeNameError, is_safe_name, shown
from extract.schema import TableSchema, bundled_schemas, in_schema_order

LATEST_VERSIONS_SQL = """
    select namespace, table_name, schema_version, schema_json
    from cd2_meta.schema_versions
    qualify row_number() over (partition by namespace, table_name order by schema_version desc) = 1
    order by namespace, table_name
"""


def recorded_schemas(db: Path) -> dict[str, TableSchema]:
    """The latest schema version of each table recorded in the DuckDB file (empty if none)."""
    con = open_database(db, read_only=True, allow_foreign=True)
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
        try:
            schema = TableSchema.from_dap_schema(str(namespace), str(table), doc, int(version))
        except UnsafeNameError as exc:
            raise UnsafeRecordedSchemaError.of(db, str(namespace), str(table), int(version), exc) from exc
        out[schema.qualified_name] = schema
    return out


class UnsafeRecordedSchemaError(UsageError):
    """A schema version recorded in the DuckDB file holds a name that must not reach a dbt file:
    one line naming the table or column (``repr``) and the fix; nothing is generated."""

    @classmethod
    def of(cls, db: Path, namespace: str, table: str, version: int, exc: UnsafeNameError) -> UnsafeRecordedSchemaError:
        if is_safe_name(namespace) and is_safe_name(table):
            where = f"namespace = '{namespace}' and table_name = '{table}' and schema_version = {version}"
        else:  # never echo an unsafe name into a statement meant to be pasted
            pattern = NAME_PATTERN.pattern
            where = f"not regexp_full_match(namespace || '.' || table_name, '{pattern}\\.{pattern}')"
        cause = (
            f"{shown(str(db))}: schema version {version} of {shown(namespace)}.{shown(table)} recorded in "
            f"cd2_meta.schema_versions is refused ({exc}); nothing was generated (the DAP API served this name to "
            "a cd2 that did not check names; cd2 sync now refuses such a table)"
        )
        fix = (
            f"delete that version (`delete from cd2_meta.schema_versions where {where}`), "
            "or run `cd2 codegen` without --db (the bundled schemas)"
        )
        return cls(cause, fix)


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
    """Bundled schemas, each replaced by a newer version recorded in ``db`` where there is one,
    then the recorded tables the bundle lacks (a namespace or table this release does not know:
    whatever the API served is generated like the rest)."""
    bundled = bundled_schemas()
    recorded = recorded_schemas(db) if db is not None else {}
    out: list[TableSchema] = []
    for qname, schema in bundled.items():
        newer = recorded.get(qname)
        out.append(merge(schema, newer) if newer is not None and newer.version > schema.version else schema)
    out += [schema for qname, schema in recorded.items() if qname not in bundled]
    return in_schema_order(out)
