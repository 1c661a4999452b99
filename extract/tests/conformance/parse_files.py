"""Independent, pure-Python parsers of the files the official ``dap`` CLI downloads.

Nothing here reuses the fake server's writers or the extractor's readers: the point is a second,
separate reading of the wire formats described in ``shared/reference/dap_api.md`` §9.

Every value is turned into one canonical Python form, the same one ``truth.py`` produces from
DuckDB, so a downloaded row and a ground-truth row compare with ``==``:

=====================  ==================================================================
integer                ``int``
number (float)         ``float`` (NaN becomes the string ``"NaN"`` so that it equals itself)
number (decimal)       ``Decimal``
boolean                ``bool``
string date-time       naive UTC ``datetime`` (the wire form must be ``…Z``, ≤ 6 digits)
string date / time     ``date`` / ``time``
string uuid            lower-case hyphenated ``str``
other strings, enums   ``str`` (an empty string stays ``""``; NULL is ``None``)
object with properties ``dict`` without NULL members; ``None`` when every member is NULL
free-form object       the parsed JSON value
array                  ``list`` of canonical items
=====================  ==================================================================
"""

from __future__ import annotations

import json
import math
import re
import uuid
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from extract.schema import Column, TableSchema

FORMATS = ("jsonl", "csv", "tsv", "parquet")
NAN = "NaN"

_WIRE_TIMESTAMP = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z")
_WIRE_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_WIRE_TIME = re.compile(r"(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?Z?")
_WIRE_INTEGER = re.compile(r"-?\d+")
_CSV_FIELD = re.compile(r'"([^"]*(?:""[^"]*)*)"|([^,"\r\n]*)')
_COPY_SIMPLE_ESCAPES = {"b": b"\b", "f": b"\f", "n": b"\n", "r": b"\r", "t": b"\t", "v": b"\v", "\\": b"\\"}
_OCTAL_DIGITS = "01234567"
_HEX_DIGITS = "0123456789abcdefABCDEF"
_GZIP_MAGIC = b"\x1f\x8b"


class FileFormatError(ValueError):
    """A downloaded file breaks the wire-format contract."""


@dataclass(frozen=True)
class Record:
    """One row of a result set, in canonical form."""

    ts: datetime
    action: str | None  # 'U' / 'D' in incremental results, None in snapshots
    key: tuple[Any, ...]
    values: dict[str, Any]  # every value column of the schema; None means NULL


@dataclass(frozen=True)
class ParsedFile:
    path: Path
    header: tuple[str, ...] | None  # tabular formats only
    records: list[Record]


# ---- canonical values ------------------------------------------------------------------------------
def parse_wire_timestamp(text: str) -> datetime:
    """``YYYY-MM-DDThh:mm:ss[.f{1,6}]Z`` (what the client's TSV parser accepts) → naive UTC."""
    match = _WIRE_TIMESTAMP.fullmatch(text)
    if match is None:
        raise FileFormatError(f"timestamp {text!r} is not YYYY-MM-DDThh:mm:ss[.ffffff]Z")
    year, month, day, hour, minute, second, fraction = match.groups()
    micros = int((fraction or "0").ljust(6, "0"))
    return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros)


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


def _canonical_timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return _naive_utc(value)
    if isinstance(value, str):
        return parse_wire_timestamp(value)
    raise FileFormatError(f"expected a timestamp, got {value!r}")


def _canonical_date(value: Any) -> date:
    if isinstance(value, datetime):
        raise FileFormatError(f"expected a date, got the timestamp {value!r}")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _WIRE_DATE.fullmatch(value):
        return date.fromisoformat(value)
    raise FileFormatError(f"expected a date YYYY-MM-DD, got {value!r}")


def _canonical_time(value: Any) -> time:
    if isinstance(value, time):
        return value.replace(tzinfo=None)
    match = _WIRE_TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise FileFormatError(f"expected a time hh:mm:ss[.ffffff]Z, got {value!r}")
    hour, minute, second, fraction = match.groups()
    return time(int(hour), int(minute), int(second), int((fraction or "0").ljust(6, "0")))


def _canonical_uuid(value: Any) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes) and len(value) == 16:
        return str(uuid.UUID(bytes=value))
    if isinstance(value, str):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise FileFormatError(f"{value!r} is not a UUID") from None
    raise FileFormatError(f"expected a UUID, got {value!r}")


def _canonical_integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FileFormatError(f"expected an integer, got {value!r}")
    return value


def _canonical_float(value: Any) -> float | str:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise FileFormatError(f"expected a number, got {value!r}")
    number = float(value)
    return NAN if math.isnan(number) else number


def _canonical_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise FileFormatError(f"expected a decimal, got {value!r}")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | float):
        return Decimal(str(value))
    raise FileFormatError(f"expected a decimal number, got {value!r}")


def _canonical_boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise FileFormatError(f"expected a boolean, got {value!r}")
    return value


def _canonical_string(column: Column, value: Any) -> Any:
    fmt = column.format
    if fmt == "date-time":
        return _canonical_timestamp(value)
    if fmt == "date":
        return _canonical_date(value)
    if fmt == "time":
        return _canonical_time(value)
    if fmt == "uuid":
        return _canonical_uuid(value)
    if isinstance(value, uuid.UUID):  # e.g. DuckDB UUID in an untyped string column
        return str(value)
    if not isinstance(value, str):
        raise FileFormatError(f"expected a string for {column.name!r}, got {value!r}")
    return value


def _load_json_text(column: Column, value: Any) -> Any:
    """Nested columns arrive as JSON text in tabular formats (and from DuckDB's JSON type)."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"column {column.name!r}: invalid JSON {value[:80]!r}: {exc}") from None


def _canonical_object(column: Column, value: Any) -> Any:
    value = _load_json_text(column, value)
    if not column.properties:
        return value  # free-form JSON
    if not isinstance(value, dict):
        raise FileFormatError(f"column {column.name!r}: expected a JSON object, got {value!r}")
    by_name = {p.name: p for p in column.properties}
    members: dict[str, Any] = {}
    for name, member in value.items():
        prop = by_name.get(name)
        canonical_member = canonical(prop, member) if prop is not None else ("<unknown member>", member)
        if canonical_member is not None:
            members[name] = canonical_member
    return members or None


def _canonical_array(column: Column, value: Any) -> list[Any]:
    value = _load_json_text(column, value)
    if not isinstance(value, list):
        raise FileFormatError(f"column {column.name!r}: expected a JSON array, got {value!r}")
    if column.items is None:
        return value
    return [canonical(column.items, item) for item in value]


def canonical(column: Column, value: Any) -> Any:
    """The canonical form of one value of ``column`` (from JSON, Parquet or DuckDB)."""
    if value is None:
        return None
    kind = column.type
    if kind == "object":
        return _canonical_object(column, value)
    if kind == "array":
        return _canonical_array(column, value)
    if kind == "integer":
        return _canonical_integer(value)
    if kind == "number":
        return _canonical_decimal(value) if column.is_decimal else _canonical_float(value)
    if kind == "boolean":
        return _canonical_boolean(value)
    if kind == "string":
        return _canonical_string(column, value)
    raise FileFormatError(f"column {column.name!r} has unsupported type {kind!r}")


def decode_text(column: Column, text: str | None) -> Any:
    """Canonical value of one TSV/CSV cell (already unescaped; None is NULL)."""
    if text is None:
        return None
    kind = column.type
    if kind == "integer":
        if not _WIRE_INTEGER.fullmatch(text):
            raise FileFormatError(f"column {column.name!r}: {text!r} is not an integer")
        return int(text)
    if kind == "number":
        try:
            return canonical(column, Decimal(text) if column.is_decimal else float(text))
        except (ValueError, InvalidOperation):
            raise FileFormatError(f"column {column.name!r}: {text!r} is not a number") from None
    if kind == "boolean":
        if text not in ("true", "false"):
            raise FileFormatError(f"column {column.name!r}: {text!r} is not true/false")
        return text == "true"
    return canonical(column, text)


# ---- gzip ------------------------------------------------------------------------------------------
def gunzip_single_member(data: bytes) -> bytes:
    """Decompress like the official client (``zlib`` with 16 + MAX_WBITS: one gzip member only).

    A second member would be silently ignored by ``dap initdb`` / ``syncdb``, so it is an error.
    """
    if not data.startswith(_GZIP_MAGIC):
        raise FileFormatError("not gzip data (the client gunzips every non-parquet download)")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(data) + inflater.flush()
    if not inflater.eof:
        raise FileFormatError("truncated gzip stream")
    if inflater.unused_data:
        raise FileFormatError("more than one gzip member (the official client reads only the first)")
    return out


def _utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FileFormatError(f"not UTF-8: {exc}") from None


# ---- tabular layout (shared by TSV, CSV and Parquet) -------------------------------------------------
def tabular_header(schema: TableSchema, *, with_action: bool, expanded: bool) -> tuple[str, ...]:
    """The header the contract prescribes: ``meta.ts``, [``meta.action``], ``key.*``, ``value.*``."""
    names = ["meta.ts", *(["meta.action"] if with_action else [])]
    names += [f"key.{c.name}" for c in schema.key_columns]
    for column in schema.value_columns:
        if expanded and column.type == "object" and column.properties:
            names += [f"value.{column.name}.{p.name}" for p in column.properties]
        else:
            names.append(f"value.{column.name}")
    return tuple(names)


@dataclass(frozen=True)
class _Slot:
    """Where one header column goes: meta.ts, meta.action, a key, a value, or a member of a value."""

    kind: str  # "ts", "action", "key", "value"
    column: Column | None = None
    member: Column | None = None


def _slots(schema: TableSchema, header: Sequence[str]) -> list[_Slot]:
    keys = {c.name: c for c in schema.key_columns}
    values = {c.name: c for c in schema.value_columns}
    slots: list[_Slot] = []
    for name in header:
        if name == "meta.ts":
            slots.append(_Slot("ts"))
        elif name == "meta.action":
            slots.append(_Slot("action"))
        elif name.startswith("key.") and name[4:] in keys:
            slots.append(_Slot("key", keys[name[4:]]))
        elif name.startswith("value.") and name[6:] in values:
            slots.append(_Slot("value", values[name[6:]]))
        elif name.startswith("value.") and "." in name[6:]:
            parent_name, member_name = name[6:].split(".", 1)
            parent = values.get(parent_name)
            members = {p.name: p for p in (parent.properties or ())} if parent is not None else {}
            if member_name not in members:
                raise FileFormatError(f"header column {name!r} is not in {schema.qualified_name}")
            slots.append(_Slot("value", parent, members[member_name]))
        else:
            raise FileFormatError(f"header column {name!r} is not in the schema of {schema.qualified_name}")
    if [s.kind for s in slots].count("ts") != 1:
        raise FileFormatError(f"header {list(header)} must have exactly one meta.ts")
    covered = {s.column.name for s in slots if s.column is not None}
    missing = [c.name for c in schema.columns if c.name not in covered]
    if missing:
        raise FileFormatError(f"header lacks columns {missing}")
    if len(set(header)) != len(header):
        raise FileFormatError(f"header has duplicate columns: {list(header)}")
    return slots


CellDecoder = Callable[[Column, Any], Any]


def _record_from_cells(
    schema: TableSchema, slots: Sequence[_Slot], cells: Sequence[Any], decode: CellDecoder
) -> Record:
    if len(cells) != len(slots):
        raise FileFormatError(f"row has {len(cells)} fields, the header {len(slots)}")
    ts: datetime | None = None
    action: str | None = None
    key: dict[str, Any] = {}
    values: dict[str, Any] = {c.name: None for c in schema.value_columns}
    members: dict[str, dict[str, Any]] = {}
    for slot, cell in zip(slots, cells, strict=True):
        if slot.kind == "ts":
            ts = _canonical_timestamp(cell) if cell is not None else None
        elif slot.kind == "action":
            action = cell
        elif slot.kind == "key":
            assert slot.column is not None
            key[slot.column.name] = decode(slot.column, cell)
        elif slot.member is not None:
            assert slot.column is not None
            members.setdefault(slot.column.name, {})[slot.member.name] = decode(slot.member, cell)
        else:
            assert slot.column is not None
            values[slot.column.name] = decode(slot.column, cell)
    for parent_name, member_values in members.items():
        values[parent_name] = canonical(schema.column(parent_name), member_values)
    return _checked_record(schema, ts, action, key, values)


def _checked_record(
    schema: TableSchema, ts: datetime | None, action: Any, key: dict[str, Any], values: dict[str, Any]
) -> Record:
    if ts is None:
        raise FileFormatError("meta.ts is NULL")
    if action not in (None, "U", "D"):
        raise FileFormatError(f"meta.action {action!r} is not U or D")
    key_tuple = tuple(key.get(name) for name in schema.primary_key)
    if any(part is None for part in key_tuple):
        raise FileFormatError(f"key {key} has a NULL part")
    return Record(ts=ts, action=action, key=key_tuple, values=values)


# ---- TSV (PostgreSQL COPY text) --------------------------------------------------------------------------
def _unescape_copy_escape(field: str, start: int, out: bytearray) -> int:
    """Decode the escape that starts after the backslash at ``start``; return the next index."""
    if start >= len(field):
        raise FileFormatError(f"dangling backslash in {field!r}")
    char = field[start]
    if char in _COPY_SIMPLE_ESCAPES:
        out += _COPY_SIMPLE_ESCAPES[char]
        return start + 1
    if char in _OCTAL_DIGITS:
        end = start
        while end < len(field) and end < start + 3 and field[end] in _OCTAL_DIGITS:
            end += 1
        out.append(int(field[start:end], 8) & 0xFF)
        return end
    if char == "x" and start + 1 < len(field) and field[start + 1] in _HEX_DIGITS:
        end = start + 1
        while end < len(field) and end < start + 3 and field[end] in _HEX_DIGITS:
            end += 1
        out.append(int(field[start + 1 : end], 16))
        return end
    out += char.encode("utf-8")  # COPY: any other escaped character stands for itself
    return start + 1


def unescape_copy_field(field: str) -> str | None:
    r"""One field of PostgreSQL COPY text format: ``\N`` is NULL, backslash escapes decoded."""
    if field == "\\N":
        return None
    if "\\" not in field:
        return field
    out = bytearray()
    index = 0
    while index < len(field):
        backslash = field.find("\\", index)
        if backslash < 0:
            out += field[index:].encode("utf-8")
            break
        out += field[index:backslash].encode("utf-8")
        index = _unescape_copy_escape(field, backslash + 1, out)
    return _utf8(bytes(out))


def split_tsv(text: str) -> list[list[str | None]]:
    """Rows of unescaped fields. Lines end with ``\\n``; data never holds a raw newline or tab."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [[unescape_copy_field(field) for field in line.split("\t")] for line in lines]


# ---- CSV (RFC 4180; NULL = empty unquoted field, empty string = "") --------------------------------------
def split_csv(text: str) -> list[list[str | None]]:
    """Rows of fields; a quoted field is a string (maybe empty), an empty unquoted field is NULL."""
    rows: list[list[str | None]] = []
    pos, end = 0, len(text)
    while pos < end:
        row: list[str | None] = []
        while True:
            match = _CSV_FIELD.match(text, pos)
            assert match is not None  # the unquoted branch matches the empty string
            quoted, bare = match.groups()
            row.append(quoted.replace('""', '"') if quoted is not None else (bare or None))
            pos = match.end()
            if pos >= end:
                break
            if text[pos] == ",":
                pos += 1
                continue
            if text[pos] == "\n":
                pos += 1
                break
            if text.startswith("\r\n", pos):
                pos += 2
                break
            raise FileFormatError(f"unexpected {text[pos]!r} at offset {pos} (unbalanced quoting?)")
        rows.append(row)
    return rows


# ---- per-format file parsers ------------------------------------------------------------------------------
def _parse_delimited(schema: TableSchema, rows: list[list[str | None]], path: Path) -> ParsedFile:
    if not rows:
        raise FileFormatError(f"{path.name}: no header row")
    header = tuple(name or "" for name in rows[0])
    slots = _slots(schema, header)
    records = [_record_from_cells(schema, slots, row, decode_text) for row in rows[1:]]
    return ParsedFile(path, header, records)


def parse_tsv(path: Path, schema: TableSchema) -> ParsedFile:
    return _parse_delimited(schema, split_tsv(_utf8(gunzip_single_member(path.read_bytes()))), path)


def parse_csv(path: Path, schema: TableSchema) -> ParsedFile:
    return _parse_delimited(schema, split_csv(_utf8(gunzip_single_member(path.read_bytes()))), path)


def _record_from_json_line(schema: TableSchema, line: str) -> Record:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        raise FileFormatError(f"invalid JSON line {line[:80]!r}: {exc}") from None
    if not isinstance(obj, dict) or not {"meta", "key"} <= set(obj) <= {"meta", "key", "value"}:
        raise FileFormatError(f"a line must be {{meta, key[, value]}}: {line[:120]!r}")
    meta, key, value = obj["meta"], obj["key"], obj.get("value")
    if not isinstance(meta, dict) or not {"ts"} <= set(meta) <= {"ts", "action"}:
        raise FileFormatError(f"meta must be {{ts[, action]}}: {meta!r}")
    if not isinstance(key, dict) or set(key) != set(schema.primary_key):
        raise FileFormatError(f"key {key!r} does not match the primary key {schema.primary_key}")
    if meta.get("action") == "D" and value is not None:
        raise FileFormatError(f"a delete row carries a value: {line[:120]!r}")
    value = value if value is not None else {}
    if not isinstance(value, dict):
        raise FileFormatError(f"value must be an object: {value!r}")
    value_columns = {c.name: c for c in schema.value_columns}
    unknown = sorted(set(value) - set(value_columns))
    if unknown:
        raise FileFormatError(f"value has members not in the schema: {unknown}")
    explicit_nulls = sorted(name for name, member in value.items() if member is None)
    if explicit_nulls:
        raise FileFormatError(f"null properties must be omitted, found {explicit_nulls}")
    keys = {c.name: canonical(c, key[c.name]) for c in schema.key_columns}
    values = {name: canonical(column, value.get(name)) for name, column in value_columns.items()}
    return _checked_record(schema, _canonical_timestamp(meta["ts"]), meta.get("action"), keys, values)


def parse_jsonl(path: Path, schema: TableSchema) -> ParsedFile:
    text = _utf8(gunzip_single_member(path.read_bytes()))
    lines = [line for line in text.split("\n") if line != ""]
    return ParsedFile(path, None, [_record_from_json_line(schema, line) for line in lines])


def _read_parquet(path: Path) -> pa.Table:
    data = path.read_bytes()
    if data.startswith(_GZIP_MAGIC):
        data = gunzip_single_member(data)
    return pq.read_table(pa.BufferReader(data))


def _arrow_type_fits(column: Column, arrow_type: pa.DataType) -> bool:
    """Parquet columns carry native types; nested values (condensed objects, arrays) are JSON text."""
    kind, fmt = column.type, column.format
    if kind in ("object", "array") or (kind == "string" and fmt not in ("date-time", "date", "time", "uuid")):
        return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
    if kind == "integer":
        return pa.types.is_integer(arrow_type)
    if kind == "number":
        return pa.types.is_decimal(arrow_type) if column.is_decimal else pa.types.is_floating(arrow_type)
    if kind == "boolean":
        return pa.types.is_boolean(arrow_type)
    if fmt == "date-time":
        return pa.types.is_timestamp(arrow_type)
    if fmt == "date":
        return pa.types.is_date(arrow_type)
    if fmt == "time":
        return pa.types.is_time(arrow_type)
    # uuid: Spark has no UUID type, so text; a 16-byte binary (Parquet's UUID) is accepted too
    return pa.types.is_string(arrow_type) or arrow_type in (pa.binary(16), pa.uuid())


def _check_parquet_types(slots: Sequence[_Slot], arrow_schema: pa.Schema) -> None:
    wrong: list[str] = []
    for slot, arrow_field in zip(slots, arrow_schema, strict=True):
        if slot.kind == "ts":
            fits = pa.types.is_timestamp(arrow_field.type)
        elif slot.kind == "action":
            fits = pa.types.is_string(arrow_field.type)
        else:
            column = slot.member or slot.column
            assert column is not None
            fits = _arrow_type_fits(column, arrow_field.type)
        if not fits:
            wrong.append(f"{arrow_field.name}: {arrow_field.type}")
    if wrong:
        raise FileFormatError(f"Parquet columns with a type that does not fit the schema: {wrong}")


def parse_parquet(path: Path, schema: TableSchema) -> ParsedFile:
    table = _read_parquet(path)
    header = tuple(table.column_names)
    slots = _slots(schema, header)
    _check_parquet_types(slots, table.schema)
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    records = [_record_from_cells(schema, slots, row, canonical) for row in zip(*columns, strict=True)]
    return ParsedFile(path, header, records)


_PARSERS: dict[str, Callable[[Path, TableSchema], ParsedFile]] = {
    "jsonl": parse_jsonl,
    "csv": parse_csv,
    "tsv": parse_tsv,
    "parquet": parse_parquet,
}


def parse_file(path: Path, fmt: str, schema: TableSchema) -> ParsedFile:
    try:
        return _PARSERS[fmt](path, schema)
    except FileFormatError as exc:
        raise FileFormatError(f"{path}: {exc}") from None


def parse_directory(directory: Path, fmt: str, schema: TableSchema) -> list[ParsedFile]:
    """Every downloaded file of one job directory (``job_<id>/``), in name order."""
    files = sorted(p for p in directory.iterdir() if p.is_file())
    return [parse_file(path, fmt, schema) for path in files]


def records_by_key(files: Iterable[ParsedFile]) -> dict[tuple[Any, ...], Record]:
    """All records of a result set keyed by primary key; keys must be unique across its files."""
    out: dict[tuple[Any, ...], Record] = {}
    for parsed in files:
        for record in parsed.records:
            if record.key in out:
                raise FileFormatError(f"{parsed.path.name}: key {record.key} appears twice in one result set")
            out[record.key] = record
    return out
