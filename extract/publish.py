"""Publish the working DuckDB file as a read-only copy for readers, whole rounds only.

A DuckDB file has one writer, and any connection (read-only too) from another process locks it:
a BI tool holding the working file open would make the next round fail, and the round's writer
would lock the tool out. So readers never open the working file. At the end of a round, the
writer makes the file consistent (CHECKPOINT), copies it to a temporary name beside the
published copy, flushes it to disk and renames it over the published copy (``os.replace``,
atomic). A reader that has the previous copy open keeps reading that file (its inode lives on
until closed); the next open sees the new round. Never half a round, and a reader never locks
the working file.

The copy is the cheapest the filesystem offers: a reflink (``FICLONE``: btrfs, XFS, ...) shares
the blocks and costs milliseconds; otherwise ``copy_file_range`` copies inside the kernel.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from extract.database import open_database
from extract.durable import sync_folder
from extract.landing.batch import checkpoint as checkpoint_now

# linux/fs.h: _IOW(0x94, 9, int)
FICLONE = 0x40049409
_CHUNK = 1 << 30  # copy_file_range takes at most ~2 GB per call
# errors meaning "this filesystem or kernel cannot do that", not "the copy failed"
_UNSUPPORTED = {errno.EOPNOTSUPP, errno.ENOTTY, errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EBADF, errno.EPERM}


@dataclass(frozen=True)
class Published:
    path: Path
    bytes: int
    seconds: float
    method: str  # reflink | copy_file_range | copyfile


def _temp_prefix(published: Path) -> str:
    return f".{published.name}.tmp-"


def checkpoint(db: Path) -> None:
    """Fold the WAL into the file: the copy is then the whole database in one file. DuckDB also
    checkpoints when its last connection closes; this makes it certain."""
    con = open_database(db, allow_foreign=True)  # the round already checked it is ours
    try:
        checkpoint_now(con)  # a full disk is a DiskFullError, as for the sync's own checkpoint
    finally:
        con.close()
    if Path(f"{db}.wal").exists() and Path(f"{db}.wal").stat().st_size:
        raise RuntimeError(f"{db}.wal is not empty after CHECKPOINT: another process is writing {db}")


def _reflink(src: int, dst: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        fcntl.ioctl(dst, FICLONE, src)
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            return False
        raise
    return True


def _copy_file_range(src: int, dst: int, size: int) -> bool:
    if not hasattr(os, "copy_file_range"):
        return False
    offset = 0
    while offset < size:
        try:
            copied = os.copy_file_range(src, dst, min(_CHUNK, size - offset), offset, offset)
        except OSError as exc:
            if offset == 0 and exc.errno in _UNSUPPORTED:
                return False
            raise
        if copied == 0:
            raise OSError(errno.EIO, f"copy_file_range stopped at {offset} of {size} bytes")
        offset += copied
    return True


def copy_file(src: Path, dst: Path) -> str:
    """Copy ``src`` to the new file ``dst`` (created 0600, synced to disk); returns the method."""
    with src.open("rb") as source:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            size = os.fstat(source.fileno()).st_size
            if _reflink(source.fileno(), fd):
                method = "reflink"
            elif _copy_file_range(source.fileno(), fd, size):
                method = "copy_file_range"
            else:
                with open(fd, "wb", closefd=False) as target:
                    shutil.copyfileobj(source, target, 1 << 24)
                method = "copyfile"
            # the rename must never point at blocks still only in the page cache
            os.fsync(fd)
        finally:
            os.close(fd)
    return method


def _open_here(path: Path) -> bool:
    """Whether this process still has ``path`` open (Linux; elsewhere assumed not)."""
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return False
    target = path.resolve()
    for fd in fds.iterdir():
        try:
            if fd.readlink() == target:
                return True
        except OSError:  # closed meanwhile (the listing's own descriptor)
            continue
    return False


def _check_readable(path: Path) -> None:
    """Open the copy as a reader will, before anyone can: a copy DuckDB cannot open is never published."""
    con = open_database(path, read_only=True, allow_foreign=True)
    try:
        con.execute("SELECT count(*) FROM duckdb_tables()").fetchall()
    finally:
        con.close()


def publish(db: Path, published: Path) -> Published:
    """Replace ``published`` with a consistent copy of ``db``. The caller is the only writer of
    ``db`` (``hold_writer``), so nothing changes it between the checkpoint and the copy."""
    started = time.monotonic()
    if published.resolve() == db.resolve():
        raise ValueError(f"the published copy must not be the working file itself ({db})")
    published.parent.mkdir(parents=True, exist_ok=True)
    for leftover in published.parent.glob(_temp_prefix(published) + "*"):
        leftover.unlink(missing_ok=True)  # from a publish killed mid-copy; only the writer publishes
    checkpoint(db)
    if _open_here(db):
        # a DuckDB connection left open here: copying would close a descriptor of the file and drop
        # that connection's lock (POSIX locks belong to the process), letting another process in
        raise RuntimeError(f"{db} is still open in this process; close its DuckDB connections before publishing")
    temp = published.with_name(f"{_temp_prefix(published)}{os.getpid()}")
    try:
        method = copy_file(db, temp)
        _check_readable(temp)
        # readers are other users too (a BI service account): the copy gets the working file's mode
        temp.chmod(db.stat().st_mode & 0o777)
        # a WAL beside the copy would belong to an older file (opened read-write by mistake)
        Path(f"{published}.wal").unlink(missing_ok=True)
        temp.replace(published)  # atomic: a reader opens the old copy or the new one
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    sync_folder(published.parent)
    return Published(published, published.stat().st_size, time.monotonic() - started, method)
