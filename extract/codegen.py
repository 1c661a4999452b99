"""Generates the per-table dbt files from the CD2 schemas, and checks they are up to date.

Everything that exists once per CD2 table comes from here, never from hand copies. ``cd2
codegen`` writes the files; ``cd2 codegen --check`` exits non-zero when a committed file
differs from what would be written (CI runs it).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from extract.schema import TableSchema, bundled_schemas


@dataclass(frozen=True)
class GeneratedFile:
    path: Path  # relative to the project root
    content: str


def table_catalog(schemas: Iterable[TableSchema]) -> GeneratedFile:
    """``seeds/cd2_table_catalog.csv``: one row per CD2 table with its key and column count."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["namespace", "table_name", "primary_key", "column_count", "schema_version"])
    for schema in schemas:
        writer.writerow(
            [schema.namespace, schema.name, ",".join(schema.primary_key), len(schema.columns), schema.version]
        )
    return GeneratedFile(Path("seeds/cd2_table_catalog.csv"), buffer.getvalue())


def generated_files(schemas: Iterable[TableSchema] | None = None) -> list[GeneratedFile]:
    schema_list = list(schemas if schemas is not None else bundled_schemas().values())
    return [table_catalog(schema_list)]


def write(root: Path, files: Iterable[GeneratedFile]) -> list[Path]:
    """Write files whose content changed; returns the paths written."""
    written: list[Path] = []
    for generated in files:
        target = root / generated.path
        if target.exists() and target.read_text(encoding="utf-8") == generated.content:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(generated.content, encoding="utf-8")
        written.append(generated.path)
    return written


def stale(root: Path, files: Iterable[GeneratedFile]) -> list[Path]:
    """Paths whose committed content differs from what the generator writes."""
    out: list[Path] = []
    for generated in files:
        target = root / generated.path
        if not target.exists() or target.read_text(encoding="utf-8") != generated.content:
            out.append(generated.path)
    return out
