"""SQL expressions that render one output row as JSONL / TSV / CSV text, or as flat Parquet columns.

Everything is computed by DuckDB, column-wise, over a source relation with ``meta_ts``
(``meta_action`` for incrementals) and the table's typed columns, so no Python runs per row.

Value rendering (shared by all text formats):
  timestamps  ``YYYY-MM-DDThh:mm:ssZ`` for whole seconds, else ``…ss.ffffffZ`` (6 digits, like the
              official client and ``extract.timeutil.iso_z``)
  dates       ``YYYY-MM-DD``; uuids canonical lower-case; booleans ``true``/``false``
  decimals    plain digits (a JSON number in JSONL); doubles: shortest round-trip text; NaN and
              ±Infinity are ``NaN``/``Infinity``/``-Infinity`` in TSV/CSV and omitted (null) in JSONL
  objects     compact JSON with null properties omitted; an object whose properties are all null
              counts as null; arrays are compact JSON (null items kept)
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from extract.schema import Column, TableSchema

TS_COLUMN = Column(name="ts", type="string", format="date-time", nullable=False)
ACTION_COLUMN = Column(name="action", type="string", nullable=False)
TSV_NULL = r"\N"


def sql_str(text: str) -> str:
    """A SQL string literal (DuckDB does not process backslash escapes in plain literals)."""
    return "'" + text.replace("'", "''") + "'"


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def field_of(expr: str, name: str) -> str:
    return f"struct_extract({expr}, {sql_str(name)})"


def _is_struct(column: Column) -> bool:
    return column.type == "object" and bool(column.properties)


def _is_json_text(column: Column) -> bool:
    """Columns whose value is always written as JSON text in tabular formats."""
    return column.type == "array" or (column.type == "object" and not column.properties)


# ---- scalar text ------------------------------------------------------------------------------------
def timestamp_text(expr: str) -> str:
    return (
        f"CASE WHEN epoch_us({expr}) % 1000000 = 0 THEN strftime({expr}, '%Y-%m-%dT%H:%M:%SZ') "
        f"ELSE strftime({expr}, '%Y-%m-%dT%H:%M:%S.%fZ') END"
    )


def scalar_text(expr: str, column: Column) -> str:
    """Plain text of a non-nested value (NULL stays NULL); strings are returned unescaped."""
    if column.type == "boolean":
        return f"CASE WHEN {expr} THEN 'true' WHEN NOT {expr} THEN 'false' END"
    if column.type == "number" and not column.is_decimal:
        return (
            f"CASE WHEN isnan({expr}) THEN 'NaN' WHEN {expr} = 'inf'::DOUBLE THEN 'Infinity' "
            f"WHEN {expr} = '-inf'::DOUBLE THEN '-Infinity' ELSE CAST({expr} AS VARCHAR) END"
        )
    if column.type == "string" and column.format == "date-time":
        return timestamp_text(expr)
    return f"CAST({expr} AS VARCHAR)"


def is_stringy(column: Column) -> bool:
    """Values that may contain any character (and so need escaping or quoting)."""
    return column.type == "string" and column.format not in ("date-time", "date", "time", "uuid")


# ---- JSON ---------------------------------------------------------------------------------------------
def json_value(expr: str, column: Column) -> str:
    """Compact JSON text of a value, or NULL when the value is null (or an all-null object)."""
    if _is_struct(column):
        assert column.properties is not None
        return json_object([(p.name, field_of(expr, p.name), p) for p in column.properties], null_if_empty=True)
    if column.type == "object":
        return f"CAST(json({expr}) AS VARCHAR)"
    if column.type == "array":
        item = column.items
        if item is None or (item.type in ("string", "integer", "boolean") and item.format != "date-time"):
            return f"CAST(to_json({expr}) AS VARCHAR)"
        inner = json_value("x", item)
        return f"'[' || array_to_string(list_transform({expr}, lambda x: coalesce({inner}, 'null')), ',') || ']'"
    if column.type == "string":
        if is_stringy(column):
            return f"CAST(to_json(CAST({expr} AS VARCHAR)) AS VARCHAR)"
        return f"'\"' || {scalar_text(expr, column)} || '\"'"
    if column.type == "number" and not column.is_decimal:
        return f"CASE WHEN isfinite({expr}) THEN CAST({expr} AS VARCHAR) END"
    return scalar_text(expr, column)


def json_object(members: list[tuple[str, str, Column]], *, null_if_empty: bool, explicit_nulls: bool = False) -> str:
    """``{"a":…,"b":…}`` with null members omitted (``explicit_nulls``: written as ``"a":null``)."""
    if not members:
        return "NULL" if null_if_empty else "'{}'"
    pieces = [
        f"{sql_str(json.dumps(name) + ':')} || {_json_member(json_value(expr, col), explicit_nulls)}"
        for name, expr, col in members
    ]
    text = "'{' || concat_ws(',', " + ", ".join(pieces) + ") || '}'"
    return f"NULLIF({text}, '{{}}')" if null_if_empty else text


def _json_member(value: str, explicit_null: bool) -> str:
    return f"coalesce({value}, 'null')" if explicit_null else value


def jsonl_line(schema: TableSchema, incremental: bool, explicit_nulls: bool = False) -> str:
    """One JSONL record plus ``\\n``: meta, key, and value (value absent on deletes).

    A null value property is omitted (what DAP documents now), or with ``explicit_nulls``
    written as ``"name":null`` (its older example); nested objects omit theirs either way."""
    meta = '\'{"meta":{"ts":\' || ' + json_value("meta_ts", TS_COLUMN)
    if incremental:
        meta += " || ',\"action\":' || to_json(meta_action)::VARCHAR"
    key = json_object([(c.name, ident(c.name), c) for c in schema.key_columns], null_if_empty=False)
    members = [(c.name, ident(c.name), c) for c in schema.value_columns]
    value = json_object(members, null_if_empty=False, explicit_nulls=explicit_nulls)
    value_part = f"',\"value\":' || {value}"
    if incremental:
        value_part = f"CASE WHEN meta_action = 'D' THEN '' ELSE {value_part} END"
    return f"{meta} || '}},\"key\":' || {key} || {value_part} || '}}' || chr(10)"


# ---- tabular (TSV, CSV, Parquet) ----------------------------------------------------------------------
@dataclass(frozen=True)
class OutputColumn:
    """One flat output column: dotted header name, typed SQL expression, and how to render it."""

    name: str
    expr: str  # typed value (for Parquet) or, when ``as_json`` is set, the JSON text
    column: Column
    as_json: bool = False  # value is JSON text (condensed objects, arrays)

    @property
    def stringy(self) -> bool:
        return self.as_json or is_stringy(self.column)

    def text(self) -> str:
        """Unescaped text of the value (NULL when null)."""
        return self.expr if self.as_json else scalar_text(self.expr, self.column)


def output_columns(schema: TableSchema, incremental: bool, mode: str) -> list[OutputColumn]:
    """The flat columns of a tabular file: ``meta.ts``, [``meta.action``], ``key.*``, ``value.*``."""
    out = [OutputColumn("meta.ts", "meta_ts", TS_COLUMN)]
    if incremental:
        out.append(OutputColumn("meta.action", "meta_action", ACTION_COLUMN))
    out += [OutputColumn(f"key.{c.name}", ident(c.name), c) for c in schema.key_columns]
    for column in schema.value_columns:
        out += _flatten(f"value.{column.name}", ident(column.name), column, mode)
    return out


def _flatten(name: str, expr: str, column: Column, mode: str) -> list[OutputColumn]:
    if _is_struct(column) and mode == "expanded":
        assert column.properties is not None
        out: list[OutputColumn] = []
        for prop in column.properties:
            out += _flatten(f"{name}.{prop.name}", field_of(expr, prop.name), prop, mode)
        return out
    if column.type in ("object", "array"):
        return [OutputColumn(name, json_value(expr, column), column, as_json=True)]
    return [OutputColumn(name, expr, column)]


def tsv_escape(expr: str) -> str:
    """PostgreSQL COPY text escapes: backslash first, then the control characters."""
    out = f"replace({expr}, '\\', '\\\\')"
    for code, letter in ((10, "n"), (13, "r"), (9, "t"), (8, "b"), (12, "f"), (11, "v")):
        out = f"replace({out}, chr({code}), '\\{letter}')"
    # most values need no escaping: one regex test is cheaper than six replace() passes
    return f"CASE WHEN regexp_matches({expr}, '[\\\\\\x08-\\x0d]') THEN {out} ELSE {expr} END"


def tsv_line(columns: list[OutputColumn]) -> str:
    fields = []
    for col in columns:
        text = col.text()
        if col.stringy:
            text = tsv_escape(text)
        fields.append(f"coalesce({text}, {sql_str(TSV_NULL)})")
    return " || chr(9) || ".join(fields) + " || chr(10)"


def csv_field(col: OutputColumn, csv_null: str) -> str:
    null_text = "" if csv_null == "empty" else "NULL"
    text = col.text()
    if col.stringy:
        needs_quotes = f"({text} = '' OR regexp_matches({text}, '[\",\\r\\n\\t]')"
        if null_text:
            needs_quotes += f" OR {text} = {sql_str(null_text)}"
        needs_quotes += ")"
        text = f"CASE WHEN {needs_quotes} THEN '\"' || replace({text}, '\"', '\"\"') || '\"' ELSE {text} END"
    return f"coalesce({text}, {sql_str(null_text)})"


def csv_line(columns: list[OutputColumn], csv_null: str) -> str:
    return " || ',' || ".join(csv_field(c, csv_null) for c in columns) + " || chr(10)"


def header(columns: list[OutputColumn], separator: str) -> str:
    return separator.join(c.name for c in columns) + "\n"


def parquet_select(columns: list[OutputColumn]) -> str:
    """Typed flat columns for Parquet (nested condensed objects and arrays as JSON text)."""
    return ", ".join(f"{c.expr} AS {ident(c.name)}" for c in columns)
