"""A lake batch's record: the row of the batch log, as JSON in its partition (or its failure file).

The fields are ``cd2_meta.batches``'s in the DuckDB file, plus what the next batch of the table
needs: the columns (name and landed type, in order) its files carry, and the table's schema JSON.
Timestamps are naive UTC, written ISO 8601 without a zone.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

LAKE_FORMAT = 1  # the layout's version, in every record

# cd2_meta.batches' columns, in its order, with their Parquet types (see extract.lake.meta)
BATCH_FIELDS: tuple[tuple[str, str], ...] = (
    ("batch_id", "int64"),
    ("namespace", "string"),
    ("table_name", "string"),
    ("kind", "string"),
    ("reason", "string"),
    ("status", "string"),
    ("job_id", "string"),
    ("format", "string"),
    ("since", "timestamp"),
    ("until", "timestamp"),
    ("snapshot_at", "timestamp"),
    ("watermark", "timestamp"),
    ("schema_version", "int32"),
    ("files", "int32"),
    ("bytes", "int64"),
    ("rows", "int64"),
    ("upserts", "int64"),
    ("deletes", "int64"),
    ("started_at", "timestamp"),
    ("job_finished_at", "timestamp"),
    ("downloaded_at", "timestamp"),
    ("finished_at", "timestamp"),
    ("error_type", "string"),
    ("error_message", "string"),
)
TIMESTAMP_FIELDS = frozenset(name for name, kind in BATCH_FIELDS if kind == "timestamp")


def to_json(record: dict[str, Any]) -> str:
    def default(value: object) -> str:
        if isinstance(value, datetime):
            return value.isoformat()
        raise TypeError(f"not JSON: {type(value).__name__}")

    return json.dumps({**record, "lake_format": LAKE_FORMAT}, default=default, sort_keys=True)


def from_json(text: str, where: Path) -> dict[str, Any]:
    """A record read back, timestamps as datetimes; ``LakeFormatError`` for anything else."""
    try:
        record = json.loads(text)
        if not isinstance(record, dict) or record.get("lake_format") != LAKE_FORMAT:
            raise ValueError(f"lake_format {record.get('lake_format')!r} is not {LAKE_FORMAT}")
        for name in TIMESTAMP_FIELDS:
            if record.get(name) is not None:
                record[name] = datetime.fromisoformat(record[name])
        int(record["batch_id"])
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise LakeFormatError(f"{where} is not a cd2 lake batch record ({type(exc).__name__}: {exc})") from None
    return record


class LakeFormatError(ValueError):
    """A file in the lake that cd2 did not write (or a newer cd2 wrote)."""
