"""SQL that reads downloaded DAP files with DuckDB's native readers, typed from the schema.

Every reader yields the same relation: the table's columns (landing types), ``_meta_ts`` and
``_meta_action`` ('U' or 'D'; snapshots carry no action and are all 'U'). No Python touches
the rows.

* jsonl: ``read_json`` with an explicit ``meta``/``key``/``value`` struct type.
* csv: ``read_csv`` with every column read as text first (so an empty quoted string stays an
  empty string and the NULL convention is explicit), then cast. DAP's docs disagree on how CSV
  writes NULL (an empty field, or the bare word ``NULL``): an unquoted empty field is NULL
  either way, and so is a bare ``NULL`` in a column whose type cannot hold that text (numbers,
  booleans, times, uuids, JSON); only in text columns does the word need the ``csv_null``
  setting to tell NULL from the string ``"NULL"``.
* tsv: PostgreSQL COPY text format. DuckDB's CSV reader does not know its backslash escapes,
  so fields are read raw (no quoting, ``\\N`` is NULL) and text columns are unescaped in SQL.
* parquet: ``read_parquet`` over the dotted flat columns, cast to the landing types.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import duckdb

from extract.landing.tables import landing_type, quote
from extract.schema import TRUNCATION_MARKERS, Column, TableSchema

FORMATS = ("jsonl", "csv", "tsv", "parquet")
CSV_NULL_WORD = "NULL"  # how DAP's CSV may write NULL (its docs also say: an empty field)

# COPY text escapes other than the backslash itself (handled by splitting on it).
_TSV_ESCAPES = (
    ("\\n", "chr(10)"),
    ("\\t", "chr(9)"),
    ("\\r", "chr(13)"),
    ("\\b", "chr(8)"),
    ("\\f", "chr(12)"),
    ("\\v", "chr(11)"),
)


# DuckDB sizes each reader thread's buffer from the longest record it must accept, and allocates
# it even for a small file.
# * JSON: twice ``maximum_object_size``. Room for 256 MiB objects costs 512 MiB per thread, more
#   than a small ``memory_limit`` allows, so files are read with DuckDB's default first and again
#   with room for huge objects only when DuckDB refuses one (it always says so).
# * CSV/TSV: ``buffer_size`` (16 times ``max_line_size`` unless given) must exceed the longest
#   line. DuckDB 2.0 does not always report a line longer than the buffer: as the last line of a
#   file it is dropped without an error. So there is no second try with a bigger buffer; one
#   buffer twice the longest accepted line (512 MiB, not DuckDB's 4 GiB for that line size).
JSON_OBJECT_BYTES = 16 * 2**20  # DuckDB's default: objects up to ~32 MiB are read
HUGE_RECORD_BYTES = 256 * 2**20
TEXT_LINE_BYTES = HUGE_RECORD_BYTES
TEXT_BUFFER_BYTES = 2 * TEXT_LINE_BYTES

T = TypeVar("T")


class FileFormatError(ValueError):
    """A downloaded file does not have the layout its format promises."""


def record_too_long(error: BaseException) -> bool:
    """Whether DuckDB refused a JSON file because one of its objects is longer than allowed."""
    return isinstance(error, duckdb.Error) and "maximum_object_size" in str(error)


def allowing_huge_records(read: Callable[[bool], T]) -> T:
    """``read(False)``; if DuckDB refuses an object as too long, ``read(True)`` (room for
    ``HUGE_RECORD_BYTES``). ``read`` must leave nothing behind when it raises."""
    try:
        return read(False)
    except duckdb.Error as exc:
        if not record_too_long(exc):
            raise
    return read(True)


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _file_list(files: Sequence[Path]) -> str:
    return "[" + ", ".join(_sql_string(p.as_posix()) for p in files) + "]"


def parquet_columns(con: duckdb.DuckDBPyConnection, files: Sequence[Path]) -> list[str]:
    """Column names of a set of parquet files (their union), for ``select_for(..., parquet_columns=)``."""
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_file_list(files)}, union_by_name = true)").fetchall()
    return [str(r[0]) for r in rows]


def _struct(columns: Sequence[Column]) -> str:
    return "STRUCT(" + ", ".join(f"{quote(c.name)} {landing_type(c)}" for c in columns) + ")"


def read_header(path: Path, delimiter: str) -> list[str]:
    """The header row of a gzip-compressed CSV/TSV file (reads only the first line)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        line = handle.readline().rstrip("\r\n")
    if not line:
        raise FileFormatError(f"{path.name} has no header row")
    if delimiter == ",":
        return [h.strip('"') for h in line.split(",")]
    return line.split(delimiter)


def _check_columns(header: Sequence[str], schema: TableSchema, path: Path) -> None:
    expected_keys = {f"key.{k}" for k in schema.primary_key}
    missing = expected_keys - set(header)
    if "meta.ts" not in header or missing:
        raise FileFormatError(f"{path.name}: header lacks meta.ts or key columns {sorted(missing)}")


def _projection(schema: TableSchema, header: set[str], expr_for: dict[str, str]) -> str:
    """Select list: each schema column from its dotted field (NULL if the file lacks it)."""
    parts: list[str] = []
    for column in schema.columns:
        field = f"{'key' if column.name in schema.primary_key else 'value'}.{column.name}"
        if field in expr_for:
            parts.append(f"{expr_for[field]} AS {quote(column.name)}")
        else:
            parts.append(f"CAST(NULL AS {landing_type(column)}) AS {quote(column.name)}")
    action = "coalesce(CAST(\"meta.action\" AS VARCHAR), 'U')" if "meta.action" in header else "'U'"
    parts.append('CAST("meta.ts" AS TIMESTAMP) AS _meta_ts')
    parts.append(f"{action} AS _meta_action")
    return ", ".join(parts)


def jsonl_select(schema: TableSchema, files: Sequence[Path], huge_records: bool = False) -> str:
    entries = [
        "'meta': 'STRUCT(ts TIMESTAMP, action VARCHAR)'",
        f"'key': {_sql_string(_struct(schema.key_columns))}",
    ]
    if schema.value_columns:  # tables with only a key column have no value object
        entries.append(f"'value': {_sql_string(_struct(schema.value_columns))}")
    columns = "{" + ", ".join(entries) + "}"
    select = [f"key.{quote(c.name)} AS {quote(c.name)}" for c in schema.key_columns]
    select += [f"value.{quote(c.name)} AS {quote(c.name)}" for c in schema.value_columns]
    select += ["meta.ts AS _meta_ts", "coalesce(meta.action, 'U') AS _meta_action"]
    return (
        f"SELECT {', '.join(select)} FROM read_json({_file_list(files)}, format = 'newline_delimited', "
        f"compression = 'gzip', columns = {columns}, "
        f"maximum_object_size = {HUGE_RECORD_BYTES if huge_records else JSON_OBJECT_BYTES})"
    )


def _tsv_unescape(expr: str) -> str:
    inner = "x"
    for escaped, char in _TSV_ESCAPES:
        inner = f"replace({inner}, {_sql_string(escaped)}, {char})"
    return f"array_to_string(list_transform(string_split({expr}, '\\\\'), lambda x: {inner}), '\\')"


def _text_read(schema: TableSchema, files: Sequence[Path], delimiter: str, null_string: str | None) -> str:
    header = read_header(files[0], delimiter)
    for other in files[1:]:
        if read_header(other, delimiter) != header:
            raise FileFormatError(f"{other.name} has a different header from {files[0].name}")
    _check_columns(header, schema, files[0])
    columns_map = "{" + ", ".join(f"{_sql_string(h)}: 'VARCHAR'" for h in header) + "}"
    by_field = {f"{'key' if c.name in schema.primary_key else 'value'}.{c.name}": c for c in schema.columns}
    exprs: dict[str, str] = {}
    for field in header:
        column = by_field.get(field)
        if column is None:
            continue
        exprs[field] = landed_value(_text_cell(field, column, delimiter), column)
    exprs.update(_expanded_objects(header, by_field, lambda f, c: _text_cell(f, c, delimiter)))
    if delimiter == "\t":
        options = "delim = '\\t', quote = '', escape = '', nullstr = '\\N'"
    else:
        # an unquoted empty field is NULL whatever the convention (an empty string is quoted)
        nulls = ", ".join(_sql_string(n) for n in dict.fromkeys([null_string or "", ""]))
        options = f"delim = ',', quote = '\"', escape = '\"', nullstr = [{nulls}], allow_quoted_nulls = false"
    return (
        f"SELECT {_projection(schema, set(header), exprs)} FROM read_csv({_file_list(files)}, header = true, "
        f"auto_detect = false, compression = 'gzip', {options}, columns = {columns_map}, "
        f"strict_mode = true, max_line_size = {TEXT_LINE_BYTES}, buffer_size = {TEXT_BUFFER_BYTES})"
    )


def landed_value(expr: str, column: Column) -> str:
    """``expr`` (a cell of a tsv, csv or parquet file) as the column's landing type. Where CD2 put
    a truncation placeholder instead of an oversized nested value, the cell is not JSON: it lands
    as a JSON string (staging flags it) rather than failing the whole batch."""
    if not column.is_nested:
        return f"CAST({expr} AS {landing_type(column)})"
    text = f"CAST({expr} AS VARCHAR)"
    markers = ", ".join(_sql_string(m) for m in TRUNCATION_MARKERS)
    return f"CASE WHEN {text} IN ({markers}) THEN to_json({text}) ELSE CAST({expr} AS JSON) END"


def _text_cell(field: str, column: Column, delimiter: str) -> str:
    raw = quote(field)
    if delimiter == "\t":
        return _tsv_unescape(raw) if _is_text(column) else raw
    return raw if _can_be_the_word_null(column) else f"nullif({raw}, {_sql_string(CSV_NULL_WORD)})"


def _can_be_the_word_null(column: Column) -> bool:
    """Whether ``NULL`` is a possible value of the column (plain text), not only a NULL marker."""
    return column.type == "string" and column.format not in ("date-time", "date", "time", "uuid")


def _expanded_objects(
    header: Sequence[str], by_field: dict[str, Column], cell: Callable[[str, Column], str]
) -> dict[str, str]:
    """Rebuild nested objects that ``mode=expanded`` flattened into ``value.<col>.<sub>`` columns.

    The object is NULL when every sub-column is NULL (as in condensed mode); otherwise a JSON
    object of the typed sub-values.
    """
    present = set(header)
    exprs: dict[str, str] = {}
    for field, column in by_field.items():
        if field in present or column.type != "object" or not column.properties:
            continue
        subs = [(p, f"{field}.{p.name}") for p in column.properties if f"{field}.{p.name}" in present]
        if not subs:
            continue
        typed = [(p.name, f"CAST({cell(name, p)} AS {p.duckdb_type(nested_as_json=True)})") for p, name in subs]
        all_null = " AND ".join(f"{quote(name)} IS NULL" for _, name in subs)
        pairs = ", ".join(f"{_sql_string(n)}, {expr}" for n, expr in typed)
        exprs[field] = f"CASE WHEN {all_null} THEN NULL ELSE CAST(json_object({pairs}) AS JSON) END"
    return exprs


def _is_text(column: Column) -> bool:
    return column.type in ("string", "object", "array") and column.format not in ("date-time", "date", "uuid")


def csv_select(schema: TableSchema, files: Sequence[Path], null_string: str | None = None) -> str:
    return _text_read(schema, files, ",", null_string)


def tsv_select(schema: TableSchema, files: Sequence[Path]) -> str:
    return _text_read(schema, files, "\t", None)


def parquet_select(schema: TableSchema, files: Sequence[Path], available: Sequence[str]) -> str:
    header = set(available)
    by_field = {f"{'key' if c.name in schema.primary_key else 'value'}.{c.name}": c for c in schema.columns}
    exprs = {f: landed_value(quote(f), c) for f, c in by_field.items() if f in header}
    exprs.update(_expanded_objects(list(header), by_field, lambda f, c: quote(f)))
    if "meta.ts" not in header:
        raise FileFormatError(f"{files[0].name}: parquet file lacks meta.ts")
    return f"SELECT {_projection(schema, header, exprs)} FROM read_parquet({_file_list(files)}, union_by_name = true)"


def select_for(
    schema: TableSchema,
    fmt: str,
    files: Sequence[Path],
    *,
    parquet_columns: Sequence[str] = (),
    csv_null: str | None = None,
    huge_records: bool = False,
) -> str:
    """The SELECT that reads ``files`` of format ``fmt`` as landing rows of ``schema``; with
    ``huge_records``, JSON objects up to ``HUGE_RECORD_BYTES`` are accepted (see
    ``allowing_huge_records``)."""
    if not files:
        raise FileFormatError("no files to read")
    if fmt == "jsonl":
        return jsonl_select(schema, files, huge_records)
    if fmt == "csv":
        return csv_select(schema, files, csv_null)
    if fmt == "tsv":
        return tsv_select(schema, files)
    if fmt == "parquet":
        return parquet_select(schema, files, parquet_columns)
    raise FileFormatError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
