"""What a lake holds: its committed batches and failed attempts, read from their records.

The records in the partition folders (and the failure files) are the truth; the ``cd2_meta``
Parquet files are built from them (``extract.lake.meta``) and read back only as a cache, so a
crash between a commit and the rewrite of ``cd2_meta`` costs nothing: the next load finds the
partition and reads its record. Folders of batches that never committed (``.tmp-…``) hold nothing
any reader sees; the writer removes them when it opens the lake.
"""

from __future__ import annotations

import logging
import shutil
import threading
from datetime import datetime
from typing import Any

from extract.lake import meta
from extract.lake.layout import BATCH_RECORD, TEMP_PREFIX, LakeLayout, batch_id_of
from extract.lake.records import from_json

log = logging.getLogger(__name__)


class LakeState:
    """The lake's batch log in memory, for one writer (thread-safe for its worker threads)."""

    def __init__(self, layout: LakeLayout, records: dict[int, dict[str, Any]]) -> None:
        self.layout = layout
        self._records: dict[int, dict[str, Any]] = {}
        self._latest: dict[tuple[str, str], dict[str, Any]] = {}  # per table: its last committed batch
        self._lock = threading.Lock()
        for record in records.values():
            self._remember(record)
        self._next_id = max(records, default=0) + 1

    @classmethod
    def load(cls, layout: LakeLayout, *, remove_unfinished: bool = False) -> LakeState:
        """The lake's records; with ``remove_unfinished`` (the writer, under its lock), the folders
        of batches a crash interrupted are removed first."""
        cached = meta.read_batches(layout)
        records: dict[int, dict[str, Any]] = {}
        for namespace, table in layout.tables():
            table_dir = layout.table_dir(namespace, table)
            for entry in table_dir.iterdir():
                if entry.name.startswith(TEMP_PREFIX):
                    if remove_unfinished:
                        log.info("lake: removing %s (a batch that never committed)", entry)
                        shutil.rmtree(entry)
                    continue
                batch_id = batch_id_of(entry.name)
                if batch_id is None or not entry.is_dir():
                    continue
                known = cached.get(batch_id)
                if known is not None and known["status"] == "committed" and known.get("columns") is not None:
                    records[batch_id] = known
                else:
                    record_file = entry / BATCH_RECORD
                    records[batch_id] = from_json(record_file.read_text(encoding="utf-8"), record_file)
        if layout.failures.is_dir():
            for entry in layout.failures.iterdir():
                batch_id = batch_id_of(entry.name.removesuffix(".json"))
                if batch_id is None or not entry.name.endswith(".json"):
                    continue
                known = cached.get(batch_id)
                records[batch_id] = known if known is not None else from_json(entry.read_text(encoding="utf-8"), entry)
        return cls(layout, records)

    def next_batch_id(self) -> int:
        with self._lock:
            batch_id = self._next_id
            self._next_id += 1
            return batch_id

    def add(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._remember(record)

    def _remember(self, record: dict[str, Any]) -> None:
        batch_id = int(record["batch_id"])
        self._records[batch_id] = record
        key = (str(record["namespace"]), str(record["table_name"]))
        latest = self._latest.get(key)
        if record["status"] == "committed" and (latest is None or int(latest["batch_id"]) < batch_id):
            self._latest[key] = record

    def records(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._records[k] for k in sorted(self._records)]

    def latest_committed(self, namespace: str, table: str) -> dict[str, Any] | None:
        with self._lock:
            return self._latest.get((namespace, table))

    def watermark(self, namespace: str, table: str) -> datetime | None:
        latest = self.latest_committed(namespace, table)
        return latest["watermark"] if latest else None

    def landed_columns(self, namespace: str, table: str) -> list[tuple[str, str]]:
        """The columns (name, landed type) the table's latest batch carries; none before its first."""
        latest = self.latest_committed(namespace, table)
        return [(str(n), str(t)) for n, t in latest["columns"]] if latest else []


def write_meta(state: LakeState) -> None:
    """Rebuild the ``cd2_meta`` files from the records (each replaced whole, atomically)."""
    meta.write_all(state.layout, state.records())
