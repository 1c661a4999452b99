"""Render a job's result into part files once, in a content-addressed on-disk cache.

A rendering is identified by ``render_key`` (a hash of the table, the resolved query, the store
state and the output options). Its files live in ``<cache>/<render_key>/`` with a
``parts.json`` written last; the folder appears atomically (rendered under a temporary name,
then renamed), so servers and threads sharing a cache never see half-written output.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from extract.fake_dap import sqltext
from extract.fake_dap.writers import GzipTextSplitter, ParquetSplitter, PartFile, PartSplitter
from extract.schema import TableSchema

log = logging.getLogger(__name__)

PARTS_FILE = "parts.json"
BATCH_ROWS = 32_768
TEXT_EXTENSIONS = {"jsonl": "json", "csv": "csv", "tsv": "tsv"}


@dataclass(frozen=True)
class RenderSpec:
    """Everything needed to render one result (and nothing that does not change the bytes)."""

    render_key: str
    schema: TableSchema
    source_sql: str  # meta_ts, [meta_action], table columns
    incremental: bool
    format: str
    mode: str
    rows_per_file: int
    csv_null: str
    jsonl_nulls: str
    parquet_codec: str
    gzip_level: int

    @property
    def part_uuid(self) -> str:
        return str(uuid.UUID(bytes=bytes.fromhex(self.render_key[:32]), version=4))

    def file_name(self, index: int) -> str:
        stem = f"part-{index:05d}-{self.part_uuid}-c000"
        if self.format == "parquet":
            codec = "" if self.parquet_codec == "none" else f".{self.parquet_codec}"
            return f"{stem}{codec}.parquet"
        return f"{stem}.{TEXT_EXTENSIONS[self.format]}.gz"


class Renderer:
    """Renders specs into ``cache_dir``; concurrent requests for one key render it once."""

    def __init__(self, cache_dir: Path, threads: int, memory_limit: str) -> None:
        self.cache_dir = cache_dir
        self.threads = threads
        self.memory_limit = memory_limit
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        cache_dir.mkdir(parents=True, exist_ok=True)

    def folder(self, render_key: str) -> Path:
        return self.cache_dir / render_key

    def cached(self, render_key: str) -> list[PartFile] | None:
        manifest = self.folder(render_key) / PARTS_FILE
        if not manifest.exists():
            return None
        return [PartFile.from_json(p) for p in json.loads(manifest.read_text(encoding="utf-8"))["parts"]]

    def render(self, spec: RenderSpec) -> list[PartFile]:
        with self._guard:
            lock = self._locks.setdefault(spec.render_key, threading.Lock())
        with lock:
            hit = self.cached(spec.render_key)
            if hit is not None:
                return hit
            tmp = self.cache_dir / f".tmp-{spec.render_key}-{uuid.uuid4().hex[:8]}"
            tmp.mkdir()
            try:
                parts = self._render_into(spec, tmp)
                manifest = {"parts": [p.to_json() for p in parts], "format": spec.format, "mode": spec.mode}
                (tmp / PARTS_FILE).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
                try:
                    tmp.rename(self.folder(spec.render_key))
                except OSError:  # another process rendered it meanwhile: keep theirs
                    shutil.rmtree(tmp, ignore_errors=True)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            cached = self.cached(spec.render_key)
            assert cached is not None
            return cached

    def _connect(self) -> duckdb.DuckDBPyConnection:
        spill = self.cache_dir / ".duckdb-spill"
        spill.mkdir(exist_ok=True)
        return duckdb.connect(
            config={
                "threads": max(1, self.threads),
                "memory_limit": self.memory_limit,
                "temp_directory": spill.as_posix(),
                "preserve_insertion_order": True,
            }
        )

    def _render_into(self, spec: RenderSpec, folder: Path) -> list[PartFile]:
        keys = ", ".join(sqltext.ident(c.name) for c in spec.schema.key_columns)
        splitter: PartSplitter
        if spec.format == "jsonl":
            explicit_nulls = spec.jsonl_nulls == "explicit"
            select = f"{sqltext.jsonl_line(spec.schema, spec.incremental, explicit_nulls)} AS line"
        else:
            columns = sqltext.output_columns(spec.schema, spec.incremental, spec.mode)
            if spec.format == "tsv":
                select = f"{sqltext.tsv_line(columns)} AS line"
            elif spec.format == "csv":
                select = f"{sqltext.csv_line(columns, spec.csv_null)} AS line"
            else:
                select = sqltext.parquet_select(columns)
        sql = f"SELECT {select} FROM ({spec.source_sql}) AS src ORDER BY {keys}"
        con = self._connect()
        try:
            reader = con.sql(sql).to_arrow_reader(BATCH_ROWS)
            if spec.format == "parquet":
                codec = "NONE" if spec.parquet_codec == "none" else spec.parquet_codec
                splitter = ParquetSplitter(folder, spec.rows_per_file, spec.file_name, reader.schema, codec)
            else:
                head = b""
                if spec.format != "jsonl":
                    sep = "\t" if spec.format == "tsv" else ","
                    head = sqltext.header(columns, sep).encode("utf-8")
                splitter = GzipTextSplitter(folder, spec.rows_per_file, spec.file_name, head, spec.gzip_level)
            splitter.feed(reader)
            return splitter.finish()
        finally:
            con.close()
