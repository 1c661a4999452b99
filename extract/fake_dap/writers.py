"""Stream DuckDB results into part files: gzip text parts (one line per row) or Parquet parts.

Text: DuckDB yields one ``line`` column (each value already ends in ``\\n``); the bytes of an Arrow
string batch are contiguous, so a batch is written with one slice of its data buffer, with no
Python work per row. Gzip is a single member written by zlib with mtime 0 and no file name,
so the same rows always give the same bytes.
"""

from __future__ import annotations

import struct
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

_GZIP_WBITS = 16 + zlib.MAX_WBITS


@dataclass(frozen=True)
class PartFile:
    name: str
    rows: int
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows, "size": self.size}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> PartFile:
        return cls(str(raw["name"]), int(raw["rows"]), int(raw["size"]))


def string_batch_bytes(array: pa.Array) -> memoryview:
    """The concatenated UTF-8 bytes of a null-free (large_)string array, without copying."""
    if pa.types.is_string_view(array.type):
        array = array.cast(pa.large_string())
    if array.null_count:
        raise ValueError("rendered lines must not be NULL")
    width = 8 if pa.types.is_large_string(array.type) else 4
    fmt = "<q" if width == 8 else "<i"
    _, offsets, data = array.buffers()
    start = struct.unpack_from(fmt, offsets, width * array.offset)[0]
    end = struct.unpack_from(fmt, offsets, width * (array.offset + len(array)))[0]
    if data is None:
        return memoryview(b"")
    return memoryview(data)[start:end]


class _GzipPart:
    def __init__(self, path: Path, level: int, header: bytes) -> None:
        self.path = path
        self._handle = path.open("wb")
        self._zip = zlib.compressobj(level, zlib.DEFLATED, _GZIP_WBITS)
        self.rows = 0
        if header:
            self.write(header)

    def write(self, data: bytes | memoryview) -> None:
        out = self._zip.compress(data)
        if out:
            self._handle.write(out)

    def close(self) -> int:
        self._handle.write(self._zip.flush())
        self._handle.close()
        return self.path.stat().st_size


class PartSplitter:
    """Cuts a stream of row batches into parts of at most ``rows_per_file`` rows.

    Parts open lazily, so an exact multiple of ``rows_per_file`` leaves no empty trailing part;
    a result with no rows still gets one part (a header-only text file, or an empty Parquet file).
    """

    def __init__(self, rows_per_file: int, name_for: Callable[[int], str]) -> None:
        self.rows_per_file = rows_per_file
        self.name_for = name_for
        self.parts: list[PartFile] = []

    def feed(self, batches: Iterable[pa.RecordBatch]) -> None:
        for batch in batches:
            offset = 0
            while offset < batch.num_rows:
                room = self._room()
                take = min(room, batch.num_rows - offset)
                self._write(batch.slice(offset, take))
                offset += take
                if take == room:
                    self._finish()

    def finish(self) -> list[PartFile]:
        self._finish()
        if not self.parts:
            self._open_empty()
            self._finish()
        return self.parts

    # subclass hooks
    def _room(self) -> int:
        raise NotImplementedError

    def _write(self, batch: pa.RecordBatch) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        raise NotImplementedError

    def _open_empty(self) -> None:
        raise NotImplementedError


class GzipTextSplitter(PartSplitter):
    """Text parts: each starts with ``header`` (may be empty) and holds the batches' ``line`` values.

    Compression runs on one background thread (zlib releases the GIL), overlapping with DuckDB
    producing the next batch; the single worker keeps writes in order.
    """

    MAX_PENDING = 4

    def __init__(
        self, folder: Path, rows_per_file: int, name_for: Callable[[int], str], header: bytes, level: int
    ) -> None:
        super().__init__(rows_per_file, name_for)
        self.folder = folder
        self.header = header
        self.level = level
        self._part: _GzipPart | None = None
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fake-dap-gzip")
        self._pending: deque[Future[None]] = deque()

    def _submit(self, fn: Callable[..., Any], *args: Any) -> None:
        self._pending.append(self._pool.submit(fn, *args))
        while len(self._pending) > self.MAX_PENDING:
            self._pending.popleft().result()

    def _drain(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def finish(self) -> list[PartFile]:
        try:
            return super().finish()
        finally:
            self._drain()
            self._pool.shutdown()

    def _ensure(self) -> _GzipPart:
        if self._part is None:
            self._part = _GzipPart(self.folder / self.name_for(len(self.parts)), self.level, self.header)
        return self._part

    def _room(self) -> int:
        return self.rows_per_file - (self._part.rows if self._part else 0)

    def _write(self, batch: pa.RecordBatch) -> None:
        part = self._ensure()
        column = batch.column(0)  # the task holds a reference, so the buffer stays alive
        self._submit(lambda: part.write(string_batch_bytes(column)))
        part.rows += batch.num_rows

    def _finish(self) -> None:
        if self._part is not None:
            self._submit(self._part.close)
            self._drain()
            part = self._part
            self.parts.append(PartFile(part.path.name, part.rows, part.path.stat().st_size))
            self._part = None

    def _open_empty(self) -> None:
        self._ensure()


class ParquetSplitter(PartSplitter):
    """Parquet parts with the batches' own (flat, dotted) columns."""

    def __init__(
        self, folder: Path, rows_per_file: int, name_for: Callable[[int], str], schema: pa.Schema, codec: str
    ) -> None:
        super().__init__(rows_per_file, name_for)
        self.folder = folder
        self.schema = schema
        self.codec = codec
        self._writer: pq.ParquetWriter | None = None
        self._path: Path | None = None
        self._rows = 0

    def _ensure(self) -> pq.ParquetWriter:
        if self._writer is None:
            self._path = self.folder / self.name_for(len(self.parts))
            self._writer = pq.ParquetWriter(
                self._path, self.schema, compression=self.codec, write_statistics=True, store_schema=False
            )
            self._rows = 0
        return self._writer

    def _room(self) -> int:
        return self.rows_per_file - (self._rows if self._writer else 0)

    def _write(self, batch: pa.RecordBatch) -> None:
        self._ensure().write_batch(batch, row_group_size=min(self.rows_per_file, 122_880))
        self._rows += batch.num_rows

    def _finish(self) -> None:
        if self._writer is not None and self._path is not None:
            self._writer.close()
            self.parts.append(PartFile(self._path.name, self._rows, self._path.stat().st_size))
            self._writer = None

    def _open_empty(self) -> None:
        self._ensure()
