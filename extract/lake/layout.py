"""Where things live in a Parquet lake written by ``cd2 sync --lake``.

::

    <lake>/
      raw/<namespace>/<table>/batch_id=<N>/part-<i>.parquet   one committed batch (a Hive partition)
      raw/<namespace>/<table>/batch_id=<N>/_cd2_batch.json    its record: the commit itself
      raw/<namespace>/<table>/.tmp-batch_id=<N>-<token>/      a batch being written (never read)
      cd2_meta/batches/batches.parquet                        the batch log (committed and failed)
      cd2_meta/table_state/table_state.parquet                per table: watermark, schema version …
      cd2_meta/schema_versions/schema_versions.parquet        per table and version: the schema JSON
      cd2_meta/failures/batch_id=<N>.json                     a failed attempt (what the log is built from)

Spark, Databricks, Trino and DuckDB read ``raw/<namespace>/<table>`` as one table partitioned by
``batch_id`` and skip names that start with ``_`` or ``.``: the records and the folders being
written are invisible to them. A batch becomes visible by one ``rename`` of its finished folder,
and its record (with the table's new watermark) is inside that folder, so data and watermark
appear together or not at all. The ``cd2_meta`` files are rebuilt from the records (see
``extract.lake.state``): after a crash they may lag, never lead.

Paths are built only from checked names (``extract.names``) and proven to stay in the lake.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

from extract.names import check_name, inside, is_safe_name, shown

log = logging.getLogger(__name__)

RAW_DIR = "raw"
META_DIR = "cd2_meta"
PARTITION_KEY = "batch_id"
BATCH_RECORD = "_cd2_batch.json"
TEMP_PREFIX = ".tmp-"
META_TABLES = ("batches", "table_state", "schema_versions")
FAILURES_DIR = "failures"

_PARTITION = re.compile(rf"{PARTITION_KEY}=(\d+)")


def partition_name(batch_id: int) -> str:
    return f"{PARTITION_KEY}={batch_id}"


def batch_id_of(folder_name: str) -> int | None:
    """The batch id of a committed partition folder's name, None for anything else."""
    match = _PARTITION.fullmatch(folder_name)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class LakeLayout:
    root: Path

    @property
    def raw(self) -> Path:
        return self.root / RAW_DIR

    @property
    def meta(self) -> Path:
        return self.root / META_DIR

    def table_dir(self, namespace: str, table: str) -> Path:
        namespace, table = check_name("namespace", namespace), check_name("table", table)
        return inside(self.root, self.raw / namespace / table)

    def partition_dir(self, namespace: str, table: str, batch_id: int) -> Path:
        return self.table_dir(namespace, table) / partition_name(batch_id)

    def temp_dir(self, namespace: str, table: str, batch_id: int) -> Path:
        """A fresh folder name for a batch being written (hidden from readers by its dot)."""
        token = uuid.uuid4().hex[:12]
        return self.table_dir(namespace, table) / f"{TEMP_PREFIX}{partition_name(batch_id)}-{token}"

    def meta_file(self, name: str) -> Path:
        """``cd2_meta/<name>/<name>.parquet``: a folder per table, as lake engines expect."""
        if name not in META_TABLES:
            raise ValueError(f"no lake meta table {name!r}")
        return self.meta / name / f"{name}.parquet"

    @property
    def failures(self) -> Path:
        return self.meta / FAILURES_DIR

    def failure_file(self, batch_id: int) -> Path:
        return self.failures / f"{partition_name(batch_id)}.json"

    def tables(self) -> list[tuple[str, str]]:
        """``(namespace, table)`` of every table folder in the lake (names checked: a folder whose
        name is not a CD2 name is not ours and is left alone)."""
        found: list[tuple[str, str]] = []
        if not self.raw.is_dir():
            return found
        for namespace_dir in sorted(self.raw.iterdir()):
            if not namespace_dir.is_dir() or namespace_dir.name.startswith((".", "_")):
                continue
            for table_dir in sorted(namespace_dir.iterdir()):
                if not table_dir.is_dir() or table_dir.name.startswith((".", "_")):
                    continue
                if is_safe_name(namespace_dir.name) and is_safe_name(table_dir.name):
                    found.append((namespace_dir.name, table_dir.name))
                else:
                    log.warning("lake: ignoring %s (not a CD2 name)", shown(str(table_dir.relative_to(self.root))))
        return found
