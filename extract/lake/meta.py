"""The lake's ``cd2_meta`` tables as Parquet files, rebuilt from the batch records.

``batches`` (the log: every committed batch and failed attempt), ``table_state`` (per table: its
watermark, schema version and last attempt) and ``schema_versions`` (per table and version: the
schema JSON) have the columns of their namesakes in the DuckDB file, so the same dbt sources read
either. ``batches`` also keeps each batch's landed columns (``columns_json``), which lets the next
load of the lake skip reading the records of batches it already knows.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from extract.durable import replace_durably
from extract.lake.layout import LakeLayout
from extract.lake.records import BATCH_FIELDS, LakeFormatError

log = logging.getLogger(__name__)

_ARROW = {"int64": pa.int64(), "int32": pa.int32(), "string": pa.string(), "timestamp": pa.timestamp("us")}
BATCHES_SCHEMA = pa.schema([(name, _ARROW[kind]) for name, kind in BATCH_FIELDS] + [("columns_json", pa.string())])
TABLE_STATE_SCHEMA = pa.schema(
    [
        ("namespace", pa.string()),
        ("table_name", pa.string()),
        ("watermark", pa.timestamp("us")),
        ("schema_version", pa.int32()),
        ("last_batch_id", pa.int64()),
        ("last_kind", pa.string()),
        ("last_success_at", pa.timestamp("us")),
        ("last_attempt_at", pa.timestamp("us")),
        ("last_status", pa.string()),
        ("last_error", pa.string()),
    ]
)
SCHEMA_VERSIONS_SCHEMA = pa.schema(
    [
        ("namespace", pa.string()),
        ("table_name", pa.string()),
        ("schema_version", pa.int32()),
        ("schema_json", pa.string()),
        ("first_seen_at", pa.timestamp("us")),
    ]
)


def read_batches(layout: LakeLayout) -> dict[int, dict[str, Any]]:
    """The batch log as last written, by batch id (empty when there is none)."""
    rows = _read(layout.meta_file("batches"))
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        columns = row.pop("columns_json", None)
        row["columns"] = json.loads(columns) if columns else None
        out[int(row["batch_id"])] = row
    return out


def meta_tables(layout: LakeLayout, records: list[dict[str, Any]]) -> dict[str, pa.Table]:
    """The ``cd2_meta`` tables that ``records`` (every record of the lake) make."""
    batches = [
        {**{name: record.get(name) for name, _ in BATCH_FIELDS}, "columns_json": _columns_json(record)}
        for record in records
    ]
    known = _read(layout.meta_file("schema_versions"))
    return {
        "batches": _arrow(batches, BATCHES_SCHEMA),
        "table_state": _arrow(table_state(records), TABLE_STATE_SCHEMA),
        "schema_versions": _arrow(schema_versions(known, records), SCHEMA_VERSIONS_SCHEMA),
    }


def write_all(layout: LakeLayout, records: list[dict[str, Any]]) -> None:
    for name, table in meta_tables(layout, records).items():
        _write(layout.meta_file(name), table)


def table_state(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per table: its last committed batch (watermark, version) and its last attempt (status, error)."""
    committed: dict[tuple[str, str], dict[str, Any]] = {}
    attempted: dict[tuple[str, str], dict[str, Any]] = {}
    for record in sorted(records, key=lambda r: int(r["batch_id"])):
        key = (record["namespace"], record["table_name"])
        attempted[key] = record
        if record["status"] == "committed":
            committed[key] = record
    rows = []
    for key in sorted(attempted):
        last, good = attempted[key], committed.get(key) or {}
        failed = last["status"] != "committed"
        rows.append(
            {
                "namespace": key[0],
                "table_name": key[1],
                "watermark": good.get("watermark"),
                "schema_version": good.get("schema_version"),
                "last_batch_id": good.get("batch_id"),
                "last_kind": good.get("kind"),
                "last_success_at": good.get("finished_at"),
                "last_attempt_at": last.get("finished_at"),
                "last_status": "failed" if failed else "ok",
                "last_error": f"{last.get('error_type')}: {last.get('error_message')}" if failed else None,
            }
        )
    return rows


def schema_versions(known: list[dict[str, Any]], records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The versions already listed, plus those first seen in ``records`` (which carry the JSON)."""
    versions = {(r["namespace"], r["table_name"], int(r["schema_version"])): r for r in known}
    for record in sorted(records, key=lambda r: int(r["batch_id"])):
        if record.get("schema_json") is None:
            continue
        key = (record["namespace"], record["table_name"], int(record["schema_version"]))
        versions.setdefault(
            key,
            {
                "namespace": key[0],
                "table_name": key[1],
                "schema_version": key[2],
                "schema_json": json.dumps(record["schema_json"], sort_keys=True),
                "first_seen_at": record["finished_at"],
            },
        )
    return [versions[k] for k in sorted(versions)]


def _columns_json(record: dict[str, Any]) -> str | None:
    columns = record.get("columns")
    return json.dumps(columns) if columns is not None else None


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        return list(pq.read_table(path).to_pylist())
    except (pa.ArrowException, OSError) as exc:
        # only a cache: the records are read instead
        log.warning("lake: %s is unreadable (%s); rebuilding it from the batch records", path, exc)
        return []


def _arrow(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    try:
        return pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowException, TypeError) as exc:
        raise LakeFormatError(f"a lake batch record does not fit cd2_meta: {exc}") from exc


def _write(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    replace_durably(path, lambda temp: pq.write_table(table, temp, compression="zstd"))
