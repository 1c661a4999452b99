"""``cd2 import``: land files that Instructure's ``dap snapshot`` / ``dap incremental`` downloaded.

The official CLI writes ``<output-directory>/job_<id>/part-….<ext>.gz`` and nothing else: no
table name, no ``at``/``until``. So the table is named by the user, the format comes from the
file names, the schema from a ``dap schema`` file when one is given (else the bundled one), and
the watermark is the newest ``meta.ts`` in the files (safe: the next incremental starts there,
and re-delivered rows are idempotent). Landing is the same atomic batch as ``cd2 sync``.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from extract.landing.batch import BatchResult, BatchSpec, land_batch
from extract.landing.readers import FileFormatError, allowing_huge_records, parquet_columns, read_header, select_for
from extract.landing.tables import stored_watermark
from extract.schema import TableSchema, bundled_schema

_SUFFIXES = {".json.gz": "jsonl", ".csv.gz": "csv", ".tsv.gz": "tsv", ".parquet": "parquet"}
_SCHEMA_FILE = re.compile(r"^(?P<table>.+)_schema_version_(?P<version>\d+)\.json$")


class ImportPlanError(ValueError):
    """The directory does not hold a loadable set of DAP files."""


@dataclass(frozen=True)
class ImportPlan:
    schema: TableSchema
    fmt: str
    files: list[Path]
    job_id: str | None


def _format_of(path: Path) -> str | None:
    for suffix, fmt in _SUFFIXES.items():
        if path.name.endswith(suffix):
            return fmt
    return None


def load_schema(namespace: str, table: str, schema_file: Path | None) -> TableSchema:
    if schema_file is None:
        try:
            return bundled_schema(namespace, table)
        except KeyError:
            raise ImportPlanError(
                f"no table {table!r} in namespace {namespace!r} (check --namespace and --table)"
            ) from None
    try:
        document = json.loads(schema_file.read_text(encoding="utf-8"))
        match = _SCHEMA_FILE.match(schema_file.name)
        version = document.get("version") or (int(match.group("version")) if match else 1)
        return TableSchema.from_dap_schema(namespace, table, document["schema"], int(version))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ImportPlanError(
            f"{schema_file} is not a `dap schema` output file ({type(exc).__name__}: {exc})"
        ) from None


def plan_import(directory: Path, namespace: str, table: str, schema_file: Path | None = None) -> ImportPlan:
    if not directory.is_dir():
        raise ImportPlanError(f"{directory} is not a folder (give the job_<id> folder that dap downloaded)")
    files = sorted(p for p in directory.rglob("*") if p.is_file() and _format_of(p))
    if not files:
        raise ImportPlanError(f"no DAP data files (*.json.gz, *.csv.gz, *.tsv.gz, *.parquet) under {directory}")
    formats = {_format_of(p) for p in files}
    if len(formats) != 1:
        raise ImportPlanError(f"{directory} mixes formats {sorted(f for f in formats if f)}; import one job at a time")
    jobs = {p.parent.name for p in files}
    if len(jobs) != 1:
        raise ImportPlanError(f"{directory} holds files of several jobs ({', '.join(sorted(jobs))}); import one job")
    job_dir = next(iter(jobs))
    job_id = job_dir.removeprefix("job_") if job_dir.startswith("job_") else None
    plan = ImportPlan(load_schema(namespace, table, schema_file), formats.pop() or "jsonl", files, job_id)
    check_fields_fit(plan)
    return plan


# How many records of each JSON file are read to learn the fields it carries.
SAMPLE_RECORDS = 200


def file_fields(path: Path, fmt: str) -> tuple[set[str], set[str]]:
    """The key and value field names a DAP file carries (a sample of records for JSON lines, the
    header for CSV/TSV, the column names for Parquet)."""
    if fmt == "parquet":
        try:
            with duckdb.connect() as con:
                names = parquet_columns(con, [path])
        except duckdb.Error as exc:
            raise ImportPlanError(f"{path.name} is not a readable Parquet file: {' '.join(str(exc).split())}") from None
        return _split_dotted(names)
    try:
        if fmt in ("csv", "tsv"):
            return _split_dotted(read_header(path, "," if fmt == "csv" else "\t"))
        with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
            keys: set[str] = set()
            values: set[str] = set()
            for _, line in zip(range(SAMPLE_RECORDS), handle, strict=False):
                record = json.loads(line)
                keys |= set(record.get("key") or {})
                values |= set(record.get("value") or {})
            return keys, values
    except (OSError, EOFError, zlib.error) as exc:
        raise ImportPlanError(f"{path.name} is not a gzip-compressed {fmt} file ({exc})") from None
    except FileFormatError as exc:
        raise ImportPlanError(str(exc)) from None
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        raise ImportPlanError(f"{path.name} does not hold DAP {fmt} records ({type(exc).__name__})") from None


def _split_dotted(names: Sequence[str]) -> tuple[set[str], set[str]]:
    """Key and value columns of flat (CSV/TSV/Parquet) headers; a nested object's properties
    (``value.settings.hide_final_grade``) count as their column (``settings``)."""
    keys = {n.removeprefix("key.").split(".", 1)[0] for n in names if n.startswith("key.")}
    values = {n.removeprefix("value.").split(".", 1)[0] for n in names if n.startswith("value.")}
    return keys, values


def check_fields_fit(plan: ImportPlan) -> None:
    """Refuse files that are not this table's: their key fields must be the table's primary key and
    every value field one of its columns (a column from a newer schema version needs that version,
    from `dap schema`, as --schema-file)."""
    schema = plan.schema
    columns = {c.name for c in schema.columns}
    for path in plan.files:
        keys, values = file_fields(path, plan.fmt)
        if not keys and not values:
            continue  # an empty file says nothing
        if keys != set(schema.primary_key):
            raise ImportPlanError(
                f"{path.name} is keyed by {sorted(keys)}, but {schema.qualified_name} by "
                f"{list(schema.primary_key)}: these files are not this table's (check --table)"
            )
        unknown = sorted(values - columns)
        if unknown:
            shown = ", ".join(unknown[:8]) + (" …" if len(unknown) > 8 else "")
            raise ImportPlanError(
                f"{path.name} has {len(unknown)} field(s) that {schema.qualified_name} (schema version "
                f"{schema.version}) does not: {shown}. These files are another table's (check --table), or of "
                "a newer schema version (pass its `dap schema` file as --schema-file)"
            )


def import_files(
    con: duckdb.DuckDBPyConnection,
    plan: ImportPlan,
    kind: str,
    csv_null: str | None = None,
    allow_older: bool = False,
) -> tuple[BatchResult | None, datetime | None]:
    """Land the planned files as one batch; returns (result, watermark), or (None, None) if empty.
    Files older than the table's watermark are refused unless ``allow_older``: landing them would
    move the watermark back and the next incremental would fetch again what has landed."""
    if kind not in ("snapshot", "incremental"):
        raise ImportPlanError("kind must be 'snapshot' or 'incremental'")
    columns = parquet_columns(con, plan.files) if plan.fmt == "parquet" else []

    def newest(huge_records: bool) -> datetime | None:
        reader = select_for(
            plan.schema, plan.fmt, plan.files, parquet_columns=columns, csv_null=csv_null, huge_records=huge_records
        )
        row = con.execute(f"SELECT max(_meta_ts) FROM ({reader})").fetchone()
        return row[0] if row else None

    watermark = allowing_huge_records(newest)
    if watermark is None and kind == "incremental":
        return None, None
    if watermark is None:
        raise ImportPlanError("the snapshot files hold no rows, so they give no watermark; nothing imported")
    current = stored_watermark(con, plan.schema)
    if current is not None and watermark < current and not allow_older:
        raise ImportPlanError(
            f"the files end at {watermark.isoformat()}Z, before {plan.schema.qualified_name}'s watermark "
            f"{current.isoformat()}Z: importing them would move it back (pass --allow-older to do that)"
        )
    spec = BatchSpec(
        schema=plan.schema,
        kind=kind,
        reason="import",
        fmt=plan.fmt,
        files=plan.files,
        watermark=watermark,
        job_id=plan.job_id,
        snapshot_at=watermark if kind == "snapshot" else None,
        until=watermark if kind == "incremental" else None,
        bytes=sum(p.stat().st_size for p in plan.files),
        parquet_columns=columns,
        csv_null=csv_null,
    )
    return land_batch(con, spec), watermark
