"""Generates the per-table dbt files from the CD2 schemas, and checks they are up to date.

Everything that exists once per CD2 table comes from here, never from hand copies. ``cd2
codegen`` writes the files; ``cd2 codegen --check`` exits non-zero when a committed file
differs from what would be written, or when a generated file is left over from a table that
no longer exists (CI runs it).

The schemas are the bundled ones by default; ``schemas_with_db`` adds the newer versions a
DuckDB file has recorded in ``cd2_meta.schema_versions`` (see ``extract.dbtgen.db_schemas``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

from extract.dbtgen import GENERATED_DIRS, GENERATED_MARKER, GENERATED_ROOTS, dbt_files
from extract.dbtgen.render import GeneratedFile
from extract.names import inside
from extract.schema import TableSchema, bundled_schemas

__all__ = ["GeneratedFile", "generated_files", "orphans", "stale", "table_catalog", "write"]


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
    return [table_catalog(schema_list), *dbt_files(schema_list)]


def orphans(root: Path, files: Iterable[GeneratedFile]) -> list[Path]:
    """Generated files (they carry the generated marker) that the generator no longer writes."""
    expected = {generated.path for generated in files}
    out: list[Path] = []
    for directory in _generated_folders(root):
        for path in sorted(directory.iterdir()):
            relative = path.relative_to(root)
            if path.is_file() and relative not in expected and GENERATED_MARKER in _head(path).lower():
                out.append(relative)
    return out


def _generated_folders(root: Path) -> list[Path]:
    """``macros/generated`` and every namespace folder of the current-state and staging layers
    (also of a namespace no schema has any more, so its files are found as orphans)."""
    folders = [root / folder for folder in GENERATED_DIRS]
    for layer in GENERATED_ROOTS:
        if (root / layer).is_dir():
            folders += sorted(p for p in (root / layer).iterdir() if p.is_dir())
    return [folder for folder in folders if folder.is_dir()]


def _head(path: Path) -> str:
    with path.open(encoding="utf-8", errors="replace") as handle:
        return handle.read(400)


def write(root: Path, files: Iterable[GeneratedFile]) -> list[Path]:
    """Write files whose content changed and delete orphaned generated files; returns the paths touched."""
    file_list = list(files)
    written: list[Path] = []
    for generated in file_list:
        # Paths are made of checked names (naming.check_names); a file outside the project is refused anyway.
        target = inside(root, root / generated.path)
        if target.exists() and target.read_text(encoding="utf-8") == generated.content:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(generated.content, encoding="utf-8")
        written.append(generated.path)
    for orphan in orphans(root, file_list):
        (root / orphan).unlink()
        written.append(orphan)
    return written


def stale(root: Path, files: Iterable[GeneratedFile]) -> list[Path]:
    """Paths whose committed content differs from what the generator writes, plus orphaned generated files."""
    file_list = list(files)
    out: list[Path] = []
    for generated in file_list:
        target = root / generated.path
        if not target.exists() or target.read_text(encoding="utf-8") != generated.content:
            out.append(generated.path)
    return out + orphans(root, file_list)
