"""Which rows other rows point at, so hard deletes never leave a dangling foreign key."""

from __future__ import annotations

from extract.schema import bundled_schemas
from extract.synth.ids import TYPE_TABLES, model_name, qualified_name
from extract.synth.rows import quote


def incoming(table: str) -> list[tuple[str, str, str | None, list[str]]]:
    """(referencing table, column, discriminator column or None, its values) for ``table`` (a
    generator name, see ``ids.model_name``); referencing tables are generator names too."""
    target = f"{qualified_name(table)}.id"
    out = []
    for schema in bundled_schemas().values():
        referencing = model_name(schema.qualified_name)
        names = {c.name for c in schema.columns}
        for column in schema.columns:
            if target not in column.references:
                continue
            if len(column.references) == 1:
                out.append((referencing, column.name, None, []))
                continue
            type_column = column.name[: -len("_id")] + "_type"
            values = [v for v, t in TYPE_TABLES.items() if t == table]
            out.append((referencing, column.name, type_column if type_column in names else None, values))
    return out


def referenced_ids_sql(table: str, *, ignore: frozenset[str] = frozenset()) -> str:
    """Ids of ``table`` that some live row of another table (not in ``ignore``) points at."""
    parts = []
    for other, column, type_column, values in incoming(table):
        if other in ignore:
            continue
        where = f"{quote(column)} IS NOT NULL"
        if type_column is not None:
            where += f" AND {quote(type_column)} IN ({', '.join(repr(v) for v in values) or 'NULL'})"
        parts.append(f"SELECT {quote(column)} AS id FROM cur.{other} WHERE {where}")
    return " UNION ".join(parts) if parts else "SELECT NULL::BIGINT AS id WHERE false"


def is_referenced(table: str) -> bool:
    return bool(incoming(table))
