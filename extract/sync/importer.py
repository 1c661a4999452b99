"""``cd2 import``: land files that Instructure's ``dap snapshot`` / ``dap incremental`` downloaded.

The official CLI writes ``<output-directory>/job_<id>/part-….<ext>.gz`` and nothing else: no
table name, no ``at``/``until``. So the table is named by the user, the format comes from the
file names, the schema from a ``dap schema`` file when one is given (else the bundled one), and
the watermark is the newest ``meta.ts`` in the files (safe: the next incremental starts there,
and re-delivered rows are idempotent). Landing is the same atomic batch as ``cd2 sync``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from extract.landing.batch import BatchResult, BatchSpec, land_batch
from extract.landing.readers import allowing_huge_records, parquet_columns, select_for
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
        return bundled_schema(namespace, table)
    document = json.loads(schema_file.read_text(encoding="utf-8"))
    match = _SCHEMA_FILE.match(schema_file.name)
    version = document.get("version") or (int(match.group("version")) if match else 1)
    return TableSchema.from_dap_schema(namespace, table, document["schema"], int(version))


def plan_import(directory: Path, namespace: str, table: str, schema_file: Path | None = None) -> ImportPlan:
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
    return ImportPlan(load_schema(namespace, table, schema_file), formats.pop() or "jsonl", files, job_id)


def import_files(
    con: duckdb.DuckDBPyConnection, plan: ImportPlan, kind: str, csv_null: str | None = None
) -> tuple[BatchResult | None, datetime | None]:
    """Land the planned files as one batch; returns (result, watermark), or (None, None) if empty."""
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
        parquet_columns=parquet_columns,
        csv_null=csv_null,
    )
    return land_batch(con, spec), watermark
