"""A full disk, told apart from the failures that a retry can cure.

A download that cannot be written, a batch that DuckDB cannot write (its WAL, its file, or its
temporary directory), and a checkpoint that cannot move the write-ahead log into the file all
end as a ``DiskFullError`` naming the folder or file, the free space there and about how much
is needed. Nothing is retried: fetching the files again would fill the same disk.

What DuckDB 2.0 raises when the disk is full (checked on a small tmpfs):

* ``duckdb.IOException``: ``IO Error: Could not write file "<db>": No space left on device``
  (a statement writing blocks of the database file or the WAL);
* ``duckdb.TransactionException``: ``TransactionContext Error: Failed to commit: Could not
  write file "<db>.wal": No space left on device`` (a COMMIT; the transaction is gone, so a
  ROLLBACK after it says "no transaction is active");
* ``duckdb.FatalException``: ``FATAL Error: Failed to create checkpoint because of error:
  Could not write file "<db>": No space left on device`` (CHECKPOINT, or a COMMIT that
  checkpoints); the connection is then invalidated and every later statement raises a
  ``FatalException`` quoting that original error. Committed batches stay in the WAL and are
  replayed when the file is next opened with room to spare; ``close()`` swallows the error.
* ``duckdb.OutOfMemoryException``: ``Out of Memory Error: failed to offload data block …
  This limit was set by the 'max_temp_directory_size' setting`` (spilling to the temporary
  directory; its default limit is the free space of that directory's disk).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path

import duckdb

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
NO_SPACE_TEXT = "No space left on device"
TEMP_LIMIT_TEXT = "max_temp_directory_size"
_WRITTEN_FILE = re.compile(r'Could not write file "([^"]+)"')


class DiskFullError(Exception):
    """Something could not be written for lack of disk space.

    ``what`` names the thing written ("download", "database file", "database's write-ahead
    log", "temporary directory", "checkpoint of"); ``path`` the file or folder; ``free_bytes``
    the free space on its filesystem when the error was raised (None if unknown);
    ``needed_bytes`` about how much it needs in all (None if unknown) and ``needed_basis`` what
    that estimate is made of; ``advice`` one sentence saying what to do (not in ``str()``).
    """

    error_type = "DiskFull"

    def __init__(
        self,
        what: str,
        path: Path | str | None,
        *,
        needed_bytes: int | None,
        needed_basis: str,
        consequence: str,
        cause: str,
        advice: str | None = None,
    ) -> None:
        self.what = what
        self._advice = advice
        self.path = str(path) if path is not None else None
        self.free_bytes = free_bytes(self.path) if self.path else None
        self.needed_bytes = needed_bytes
        self.needed_basis = needed_basis
        self.consequence = consequence
        self.cause = " ".join(cause.split())[:300]
        super().__init__(self.message)

    @property
    def folder(self) -> str | None:
        if self.path is None:
            return None
        path = Path(self.path)
        return str(path if path.is_dir() else path.parent)

    @property
    def advice(self) -> str:
        if self._advice:
            return self._advice
        where = self.folder or "the disk"
        free = f" (now {human_bytes(self.free_bytes)} free)" if self.free_bytes is not None else ""
        if self.needed_bytes is not None:
            amount = f"at least {human_bytes(self.needed_bytes)} ({self.needed_basis})"
        else:
            amount = f"more space ({self.needed_basis})"
        return f"Free {amount} on the filesystem of {where}{free}, or move it to a bigger disk, then run again"

    @property
    def message(self) -> str:
        """What failed, what it needs and what became of the data; ``advice`` (what to do) is apart,
        so that a summary can print it once for the many tables a full disk fails."""
        target = f"the {self.what} {self.path}" if self.path else f"the {self.what}"
        if self.needed_bytes is not None:
            free = f", {human_bytes(self.free_bytes)} free there" if self.free_bytes is not None else ""
            needs = f"it needs about {human_bytes(self.needed_bytes)} ({self.needed_basis}){free}"
        else:
            needs = self.needed_basis
        return f"disk full: could not write {target} ({self.cause}); {needs}; {self.consequence}"

    def __str__(self) -> str:
        return self.message

    def line(self) -> str:
        """The message and the advice, for where this error is reported alone."""
        return f"{self.message}; {self.advice}"


def is_disk_full(exc: BaseException | None) -> bool:
    """Whether ``exc`` (or an exception it was raised from) is a full disk or a full temp limit."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, DiskFullError):
            return True
        if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
            return True
        if isinstance(exc, duckdb.Error):
            text = str(exc)
            if NO_SPACE_TEXT in text:
                return True
            if isinstance(exc, duckdb.OutOfMemoryException) and TEMP_LIMIT_TEXT in text:
                return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def free_bytes(path: Path | str) -> int | None:
    """Free bytes on the filesystem holding ``path`` (its nearest existing ancestor)."""
    candidate = Path(path).absolute()
    for folder in (candidate, *candidate.parents):
        if folder.exists():
            try:
                return shutil.disk_usage(folder).free
            except OSError:
                return None
    return None


def human_bytes(count: int | None) -> str:
    if count is None:
        return "?"
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def uncompressed_size(files: Iterable[Path]) -> int:
    """Bytes of the files once decompressed: a gzip file's own trailer says (its size modulo
    4 GiB, per member; enough for an estimate), other files count as they are."""
    total = 0
    for path in files:
        try:
            size = path.stat().st_size
            if path.suffix == ".gz" and size >= 18:
                with path.open("rb") as handle:
                    handle.seek(-4, os.SEEK_END)
                    total += max(int.from_bytes(handle.read(4), "little"), size)
                continue
            total += size
        except OSError:
            continue
    return total


def written_file(exc: BaseException) -> str | None:
    """The file DuckDB says it could not write, if it says."""
    found = _WRITTEN_FILE.search(str(exc))
    return found.group(1) if found else None


def database_file(con: duckdb.DuckDBPyConnection) -> str | None:
    """The connection's database file (None for in-memory, or once DuckDB invalidated it)."""
    try:
        row = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchone()
    except duckdb.Error:
        return None
    return str(row[0]) if row and row[0] else None


def wal_size(db_file: str | None) -> int:
    if not db_file:
        return 0
    try:
        return Path(db_file + ".wal").stat().st_size
    except OSError:
        return 0


def download_full(target: Path, expected: int | None, exc: BaseException) -> DiskFullError:
    """A downloaded file could not be written."""
    return DiskFullError(
        "download",
        target,
        needed_bytes=expected,
        needed_basis="this file's size; the table's other files need room too" if expected else "size not announced",
        consequence="nothing of this table was landed and its watermark did not advance; not retried, "
        "as a new download would fill the same disk",
        cause=_cause(exc),
    )


def landing_full(con: duckdb.DuckDBPyConnection, exc: BaseException, files: Iterable[Path]) -> DiskFullError:
    """A batch could not be written into the database (or DuckDB's temporary directory)."""
    consequence = "the batch was rolled back: this table's rows and watermark are as before; not retried"
    if isinstance(exc, duckdb.OutOfMemoryException):
        folder, limit = _temp_settings(con)
        free = free_bytes(folder) if folder else None
        settings = f"DuckDB's memory_limit and max_temp_directory_size ({limit or '?'})"
        return DiskFullError(
            "temporary directory",
            folder,
            needed_bytes=None,
            needed_basis=f"DuckDB spills there when a load exceeds memory_limit; {settings} cap it",
            consequence=consequence,
            cause=_cause(exc),
            advice=f"Raise {settings}, or free space on the filesystem of {folder or 'the temporary directory'} "
            f"(now {human_bytes(free)} free), then run again",
        )
    db_file = database_file(con) or written_file(exc)
    batch = uncompressed_size(files)
    wal = wal_size(db_file)
    target = written_file(exc) or db_file
    return DiskFullError(
        "database's write-ahead log" if target and target.endswith(".wal") else "database file",
        target,
        needed_bytes=batch + wal,
        needed_basis=f"the batch's files uncompressed, {human_bytes(batch)}, plus the write-ahead log awaiting "
        f"a checkpoint, {human_bytes(wal)}",
        consequence=consequence,
        cause=_cause(exc),
    )


def checkpoint_full(db_file: str | None, exc: BaseException) -> DiskFullError:
    """The write-ahead log could not be moved into the database file."""
    wal = wal_size(db_file)
    return DiskFullError(
        "checkpoint of",
        written_file(exc) or db_file,
        needed_bytes=wal or None,
        needed_basis=f"the write-ahead log {db_file}.wal, {human_bytes(wal)}, is written into the database file",
        consequence="the committed batches are safe in the write-ahead log and are written into the database "
        "file the next time it is opened with room to spare",
        cause=_cause(exc),
    )


def _temp_settings(con: duckdb.DuckDBPyConnection) -> tuple[str | None, str | None]:
    try:
        row = con.execute(
            "SELECT current_setting('temp_directory'), current_setting('max_temp_directory_size')"
        ).fetchone()
    except duckdb.Error:
        return None, None
    return (str(row[0]) or None, str(row[1]) or None) if row else (None, None)


def _cause(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
        return f"{type(exc).__name__}: [Errno {exc.errno}] {exc.strerror or NO_SPACE_TEXT}"
    text = str(exc)
    first = text.split("\n", 1)[0]
    return f"{type(exc).__name__}: {first}"


def lake_full(folder: Path, exc: BaseException, files: Iterable[Path]) -> DiskFullError:
    """A batch could not be written into the lake folder."""
    batch = uncompressed_size(files)
    return DiskFullError(
        "lake folder",
        folder,
        needed_bytes=batch,
        needed_basis=f"at most the batch's files uncompressed, {human_bytes(batch)} (Parquet compresses them)",
        consequence="the batch's unfinished folder was removed: this table's files and watermark are as before; "
        "not retried",
        cause=_cause(exc),
    )
