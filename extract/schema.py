"""CD2 table schemas: the bundled offline copy, the DAP JSON-Schema dialect, and DuckDB types.

The DAP schema endpoint is the source of truth at run time; the JSON files under
``extract/schemas/<namespace>/`` (one per table) are the offline fallback, the code generator's
default input and the synthetic generator's. Every folder there is a namespace: nothing in the
code lists them. ``$CD2_EXTRA_SCHEMAS`` names more such folders (``<dir>/<namespace>/<table>.json``)
for a namespace or table this release does not bundle.

Two directions are supported:

* ``TableSchema.to_dap_schema()`` renders the ``{"$schema", "properties": {"meta", "key",
  "value"}}`` document that the DAP API serves (only keywords the official client accepts).
* ``TableSchema.from_dap_schema()`` parses such a document back (tolerantly: unknown keywords
  are ignored), which is what the extractor does with a live API response.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from extract.names import check_name, quote_identifier

SCHEMA_DIR = Path(__file__).parent / "schemas"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ENUM_UNKNOWN = "__dap_unspecified__"
TRUNCATION_MARKERS = ("__dap_oversized_truncated__", "__cd2_oversized_truncated__")
EXTRA_SCHEMAS_ENV = "CD2_EXTRA_SCHEMAS"

# Columns the bundled schemas no longer have but an API may still serve (its schema document
# carries no deprecation): the note the docs show when a recorded schema has one.
RETIRED_COLUMNS: dict[str, str] = {
    "canvas_logs.web_logs.user_agent_id": "replaced by `user_agent` in November 2023 and dropped from the schema "
    "in 2024; an id into a `user_agents` table CD2 no longer serves",
}

_INT_TYPES = {"int16": "SMALLINT", "int32": "INTEGER", "int64": "BIGINT"}
_STRING_FORMATS = {"date-time": "TIMESTAMP", "date": "DATE", "time": "TIME", "uuid": "UUID"}


@dataclass(frozen=True)
class Column:
    """One CD2 column (or one property of a nested object column)."""

    name: str
    type: str  # JSON type: integer, number, string, boolean, array, object
    format: str | None = None
    nullable: bool = True
    enum: tuple[Any, ...] | None = None
    enum_open: bool = False
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None
    truncation_marker: bool = False
    encoded_json: bool = False
    references: tuple[str, ...] = ()
    properties: tuple[Column, ...] | None = None
    items: Column | None = None
    description: str | None = None
    deprecated: str | None = None  # why and since when, for the docs; the API keeps serving it

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_bundled(cls, raw: dict[str, Any]) -> Column:
        props = raw.get("properties")
        items = raw.get("items")
        return cls(
            name=raw.get("name", ""),
            type=raw["type"],
            format=raw.get("format"),
            nullable=bool(raw.get("nullable", True)),
            enum=tuple(raw["enum"]) if raw.get("enum") is not None else None,
            enum_open=bool(raw.get("enum_open", False)),
            max_length=raw.get("max_length"),
            precision=raw.get("precision"),
            scale=raw.get("scale"),
            truncation_marker=bool(raw.get("truncation_marker", False)),
            encoded_json=bool(raw.get("encoded_json", False)),
            references=tuple(raw.get("references", ())),
            properties=tuple(cls.from_bundled(p) for p in props) if props is not None else None,
            items=cls.from_bundled({"name": "", **items}) if items is not None else None,
            description=raw.get("description"),
            deprecated=raw.get("deprecated"),
        )

    def to_bundled(self) -> dict[str, Any]:
        """The column as a bundled-schema dict (the inverse of ``from_bundled``)."""
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        for key in ("format", "max_length", "precision", "scale", "description", "deprecated"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.enum is not None:
            out["enum"] = list(self.enum)
        for flag in ("enum_open", "truncation_marker", "encoded_json"):
            if getattr(self, flag):
                out[flag] = True
        if self.references:
            out["references"] = list(self.references)
        if self.properties is not None:
            out["properties"] = [p.to_bundled() for p in self.properties]
        if self.items is not None:
            item = self.items.to_bundled()
            item.pop("name", None)
            out["items"] = item
        out["nullable"] = self.nullable
        return out

    # ---- types ----------------------------------------------------------------------------
    @property
    def is_decimal(self) -> bool:
        return self.type == "number" and self.format == "decimal"

    @property
    def is_unbounded_text(self) -> bool:
        """A plain string without ``maxLength``: where CD2 may put a truncation placeholder."""
        return self.type == "string" and self.format is None and not self.enum and self.max_length is None

    @property
    def may_be_truncated(self) -> bool:
        """Whether CD2 may put a truncation placeholder here: unbounded text the schema marks,
        serialized JSON, and nested values (the placeholder then replaces the whole object)."""
        return self.truncation_marker or self.encoded_json or self.is_nested

    @property
    def is_nested(self) -> bool:
        """Objects and arrays: JSON text in tabular formats (always for arrays)."""
        return self.type in ("object", "array")

    def duckdb_type(self, nested_as_json: bool = False) -> str:
        """The DuckDB type for this column.

        Nested objects become STRUCTs and arrays LISTs, unless ``nested_as_json`` is set, in
        which case both become JSON (how a landing table keeps them version-tolerant).
        """
        t = self.type
        if t == "integer":
            if self.format in _INT_TYPES:
                return _INT_TYPES[self.format]
            if self.enum and all(-(2**31) < int(v) < 2**31 for v in self.enum):
                return "INTEGER"
            return "BIGINT"
        if t == "number":
            if self.is_decimal:
                return f"DECIMAL({self.precision or 18},{self.scale or 0})"
            return "REAL" if self.format == "float32" else "DOUBLE"
        if t == "boolean":
            return "BOOLEAN"
        if t == "string":
            return _STRING_FORMATS.get(self.format or "", "VARCHAR")
        if nested_as_json:
            return "JSON"
        if t == "array":
            inner = self.items.duckdb_type() if self.items is not None else "JSON"
            return f"{inner}[]"
        if t == "object":
            if not self.properties:
                return "JSON"
            # nested names are API data, not checked: quoted whatever they hold
            fields = ", ".join(f"{quote_identifier(p.name)} {p.duckdb_type()}" for p in self.properties)
            return f"STRUCT({fields})"
        raise ValueError(f"unsupported CD2 type {t!r} for column {self.name!r}")

    def json_structure(self) -> Any:
        """The structure argument of DuckDB's ``json_transform`` for this column's typed value.

        ``json_transform(json_text, structure)`` turns landed JSON back into the STRUCT / LIST
        of ``duckdb_type()``, tolerating absent keys (CD2 omits null properties).
        """
        if self.type == "object" and self.properties:
            return {p.name: p.json_structure() for p in self.properties}
        if self.type == "array":
            return [self.items.json_structure() if self.items is not None else "JSON"]
        return self.duckdb_type()

    # ---- DAP JSON-Schema dialect -----------------------------------------------------------
    def to_json_schema(self) -> dict[str, Any]:
        """This column as a JSON-Schema node, using only keywords the official client accepts."""
        node: dict[str, Any]
        if self.type == "string" and self.format == "ipv4-or-ipv6":
            node = {"oneOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}]}
        elif self.is_decimal:
            int_digits = (self.precision or 18) - (self.scale or 0)
            bound = 10**int_digits
            step = 10 ** -(self.scale or 0) if self.scale else 1
            node = {
                "type": "number",
                "exclusiveMinimum": -bound,
                "exclusiveMaximum": bound,
                "multipleOf": step,
            }
        elif self.type == "array":
            node = {"type": "array", "items": self.items.to_json_schema() if self.items else {}}
        elif self.type == "object":
            node = {"type": "object"}
            if self.properties:
                node["properties"] = {p.name: p.to_json_schema() for p in self.properties}
                node["additionalProperties"] = False
                required = [p.name for p in self.properties if not p.nullable]
                if required:
                    node["required"] = required
        else:
            node = {"type": self.type}
            if self.format:
                node["format"] = self.format
            if self.enum is not None and not self.enum_open:
                node["enum"] = list(self.enum)
            if self.max_length is not None:
                node["maxLength"] = self.max_length
        if self.description:
            node["description"] = self.description
        return node

    @classmethod
    def from_json_schema(cls, name: str, node: dict[str, Any], nullable: bool) -> Column:
        """Parse one JSON-Schema node from the DAP schema endpoint (unknown keywords ignored)."""
        description = node.get("description")
        if "oneOf" in node:
            formats = {alt.get("format") for alt in node["oneOf"] if isinstance(alt, dict)}
            fmt = "ipv4-or-ipv6" if {"ipv4", "ipv6"} <= formats else None
            return cls(name=name, type="string", format=fmt, nullable=nullable, description=description)
        jtype = node.get("type", "object")
        if isinstance(jtype, list):  # tolerate ["string", "null"] although DAP does not send it
            nullable = nullable or "null" in jtype
            jtype = next((t for t in jtype if t != "null"), "string")
        if jtype == "number" and "multipleOf" in node and node.get("format") not in ("float32", "float64"):
            step = float(node["multipleOf"])
            scale = max(0, round(-_log10(step))) if step < 1 else 0
            bound = float(node.get("exclusiveMaximum", node.get("maximum", 10**18)))
            int_digits = max(1, round(_log10(bound)))
            return cls(
                name=name,
                type="number",
                format="decimal",
                precision=int_digits + scale,
                scale=scale,
                nullable=nullable,
                description=description,
            )
        props = node.get("properties")
        items = node.get("items")
        required = set(node.get("required", ()))
        return cls(
            name=name,
            type=jtype,
            format=node.get("format"),
            nullable=nullable,
            enum=tuple(node["enum"]) if node.get("enum") is not None else None,
            max_length=node.get("maxLength"),
            properties=tuple(
                cls.from_json_schema(pname, pnode, pname not in required) for pname, pnode in props.items()
            )
            if jtype == "object" and props
            else None,
            items=cls.from_json_schema("", items, True) if jtype == "array" and isinstance(items, dict) else None,
            description=description,
        )


def _log10(x: float) -> float:
    import math

    return math.log10(x)


@dataclass(frozen=True)
class TableSchema:
    """A CD2 table: namespace, name, schema version, primary key and ordered columns."""

    namespace: str
    name: str
    version: int
    primary_key: tuple[str, ...]
    columns: tuple[Column, ...]
    description: str | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}.{self.name}"

    @property
    def key_columns(self) -> tuple[Column, ...]:
        by_name = {c.name: c for c in self.columns}
        return tuple(by_name[k] for k in self.primary_key)

    @property
    def value_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.name not in self.primary_key)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.qualified_name} has no column {name!r}")

    def with_added_column(self, column: Column) -> TableSchema:
        """A new schema version with ``column`` appended (CD2 schema changes are additive)."""
        if any(c.name == column.name for c in self.columns):
            raise ValueError(f"{self.qualified_name} already has a column {column.name!r}")
        return replace(self, version=self.version + 1, columns=(*self.columns, column))

    def with_nullable_columns(self, names: Iterable[str]) -> TableSchema:
        """A new schema version in which the named value columns become nullable (no longer in
        ``value.required``), nothing else changed: CD2's 2026-04-27 fix of 'required' columns
        that held NULLs was such a version bump on 25 tables."""
        wanted = list(dict.fromkeys(names))
        if not wanted:
            raise ValueError(f"{self.qualified_name}: name at least one column to make nullable")
        for name in wanted:
            if self.value_column(name).nullable:
                raise ValueError(f"{self.qualified_name}.{name} is already nullable")
        relaxed = tuple(replace(c, nullable=True) if c.name in wanted else c for c in self.columns)
        return replace(self, version=self.version + 1, columns=relaxed)

    def value_column(self, name: str) -> Column:
        """The value column ``name``: ``KeyError`` for an unknown name, ``ValueError`` for a key."""
        column = self.column(name)
        if name in self.primary_key:
            raise ValueError(f"{self.qualified_name}.{name} is a key column; keys are never null")
        return column

    @property
    def required_value_columns(self) -> tuple[Column, ...]:
        """Value columns the schema calls required (``value.required``); CD2 may still send NULL there."""
        return tuple(c for c in self.value_columns if not c.nullable)

    # ---- bundled files ------------------------------------------------------------------------
    @classmethod
    def from_bundled(cls, raw: dict[str, Any]) -> TableSchema:
        return cls(
            namespace=raw["namespace"],
            name=raw["table"],
            version=int(raw.get("version", 1)),
            primary_key=tuple(raw["primary_key"]),
            columns=tuple(Column.from_bundled(c) for c in raw["columns"]),
            description=raw.get("description"),
            extra={k: raw[k] for k in ("confidence", "status") if k in raw},
        )

    def to_bundled(self) -> dict[str, Any]:
        return {
            "namespace": self.namespace,
            "table": self.name,
            "version": self.version,
            "primary_key": list(self.primary_key),
            "columns": [c.to_bundled() for c in self.columns],
        }

    # ---- DAP schema endpoint ------------------------------------------------------------------
    def to_dap_schema(self) -> dict[str, Any]:
        """The ``schema`` object of ``GET /dap/query/{ns}/table/{table}/schema``."""
        key_required = [c.name for c in self.key_columns]
        value_required = [c.name for c in self.required_value_columns]
        value: dict[str, Any] = {
            "type": "object",
            "properties": {c.name: c.to_json_schema() for c in self.value_columns},
            "additionalProperties": False,
        }
        if value_required:
            value["required"] = value_required
        doc: dict[str, Any] = {
            "$schema": JSON_SCHEMA_DIALECT,
            "type": "object",
            "title": self.description or f"{self.namespace}.{self.name}",
            "properties": {
                "meta": {
                    "type": "object",
                    "properties": {
                        "ts": {"type": "string", "format": "date-time"},
                        "action": {"type": "string", "enum": ["U", "D"]},
                    },
                    "additionalProperties": False,
                    "required": ["ts"],
                },
                "key": {
                    "type": "object",
                    "properties": {c.name: c.to_json_schema() for c in self.key_columns},
                    "additionalProperties": False,
                    "required": key_required,
                },
                "value": value,
            },
            "additionalProperties": False,
            "required": ["key"],
        }
        return doc

    @classmethod
    def from_dap_schema(cls, namespace: str, table: str, doc: dict[str, Any], version: int) -> TableSchema:
        """Parse a schema-endpoint document (tolerant: unknown keywords and fields are ignored).

        Names are data from the API: the namespace, the table and every top-level column name
        must be safe CD2 names (``extract.names``), else ``UnsafeNameError``. Names of nested
        properties are not checked (they never become paths or identifiers of their own).
        """
        check_name("namespace", namespace)
        check_name("table", table)
        qname = f"{namespace}.{table}"
        props = doc.get("properties", {})
        key = props.get("key", {})
        value = props.get("value", {})
        key_props: dict[str, Any] = key.get("properties", {})
        if not key_props:
            raise ValueError(f"schema of {qname} has no key properties")
        value_props: dict[str, Any] = value.get("properties", {})
        for name in (*key_props, *value_props):
            check_name("column", name, qname)
        value_required = set(value.get("required", ()))
        columns = [Column.from_json_schema(n, node, False) for n, node in key_props.items()]
        columns += [Column.from_json_schema(n, node, n not in value_required) for n, node in value_props.items()]
        columns = [
            replace(
                c,
                deprecated=RETIRED_COLUMNS.get(f"{qname}.{c.name}", c.deprecated),
                # the document does not say which texts CD2 truncates: any unbounded one may be
                truncation_marker=c.is_unbounded_text and c.name not in key_props,
            )
            for c in columns
        ]
        return cls(
            namespace=namespace,
            name=table,
            version=int(version),
            primary_key=tuple(key_props),
            columns=tuple(columns),
            description=doc.get("title") if doc.get("title") != f"{namespace}.{table}" else None,
        )


def schema_dirs() -> tuple[Path, ...]:
    """The folders whose ``<namespace>/<table>.json`` files are the bundled schemas: the package's,
    then those named by ``$CD2_EXTRA_SCHEMAS`` (``os.pathsep``-separated)."""
    extra = os.environ.get(EXTRA_SCHEMAS_ENV, "")
    return (SCHEMA_DIR, *(Path(p) for p in extra.split(os.pathsep) if p.strip()))


def bundled_schemas() -> dict[str, TableSchema]:
    """All bundled CD2 schemas keyed by ``namespace.table``: ``canvas`` first, then the other
    namespaces in name order, tables in name order within each."""
    return _schemas_in(schema_dirs())


@cache
def _schemas_in(dirs: tuple[Path, ...]) -> dict[str, TableSchema]:
    found: dict[str, TableSchema] = {}
    for root in dirs:
        if not root.is_dir():
            raise FileNotFoundError(f"schema folder {root} does not exist (${EXTRA_SCHEMAS_ENV})")
        for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
            check_name("namespace", folder.name)
            for path in sorted(folder.glob("*.json")):
                schema = TableSchema.from_bundled(json.loads(path.read_text(encoding="utf-8")))
                if (schema.namespace, schema.name) != (folder.name, path.stem):
                    raise ValueError(f"{path} holds the schema of {schema.qualified_name}")
                check_name("table", schema.name)
                found.setdefault(schema.qualified_name, schema)
    return {s.qualified_name: s for s in in_schema_order(found.values())}


def in_schema_order(schemas: Iterable[TableSchema]) -> list[TableSchema]:
    """``canvas`` first, then the other namespaces in name order; tables in name order within each."""
    return sorted(schemas, key=lambda s: (s.namespace != "canvas", s.namespace, s.name))


def namespaces_of(schemas: Iterable[TableSchema]) -> list[str]:
    """The namespaces of ``schemas``, each once, in their order."""
    return list(dict.fromkeys(s.namespace for s in schemas))


def namespaces() -> list[str]:
    """The namespaces of the bundled schemas, ``canvas`` first."""
    return namespaces_of(bundled_schemas().values())


def bundled_schema(namespace: str, table: str) -> TableSchema:
    try:
        return bundled_schemas()[f"{namespace}.{table}"]
    except KeyError:
        raise KeyError(f"no bundled CD2 schema for {namespace}.{table}") from None


def tables_in(namespace: str) -> list[str]:
    return [s.name for s in bundled_schemas().values() if s.namespace == namespace]
