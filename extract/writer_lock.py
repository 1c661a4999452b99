"""One cd2 writer per DuckDB file: ``hold_writer(db, command)``.

DuckDB locks its file only while a connection is open, so a ``cd2 run`` that closes the sync's
connection before dbt opens its own leaves the file unlocked for a moment, and another writer
could take it there. Every cd2 command that writes (``run``, ``sync``, ``import``) therefore holds
an exclusive ``flock`` on ``<db>.lock`` (beside the DB file) for its whole duration, and writes who
it is into that file. A second writer fails at once with one line naming the holder. The kernel
drops a ``flock`` when its holder dies, even by SIGKILL, so a lock file left behind is harmless.

The lock file is never deleted: deleting it while another process waits to lock it would let
two processes each lock a different file of the same name.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from extract.failures import DatabaseBusyError
from extract.timeutil import iso_z, utc_now

# The holder writes its line right after locking: a contender may read the file just before that.
_HOLDER_READ_ATTEMPTS = 20
_HOLDER_READ_PAUSE_S = 0.05
WAIT_FIX = "wait for it to finish, or stop it"
# DuckDB 1.x/2.0: 'IO Error: Could not set lock on file "/x.duckdb": Conflicting lock is held in
# /usr/bin/python3.11 (PID 4558). [However, you would be able to open this database in read-only mode ...]'
_DUCKDB_LOCK = "Could not set lock on file"
_DUCKDB_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


@dataclass(frozen=True)
class Holder:
    """Who holds the writer lock; stored in the lock file as one JSON line."""

    pid: int
    command: str
    host: str
    since: str  # ISO 8601 UTC, e.g. 2026-12-06T10:00:00Z

    def describe(self) -> str:
        return f"pid {self.pid} ({self.command} on host {self.host}, since {self.since})"


def lock_path(db: Path) -> Path:
    """``data/cd2.duckdb`` → ``data/cd2.duckdb.lock``."""
    return db.with_name(db.name + ".lock")


def _parse_holder(text: str) -> Holder | None:
    try:
        raw = json.loads(text)
        return Holder(int(raw["pid"]), str(raw["command"]), str(raw["host"]), str(raw["since"]))
    except (ValueError, KeyError, TypeError):
        return None


def _alive(holder: Holder) -> bool:
    """Whether the named holder can still be running. A holder on another host (a shared
    filesystem) cannot be checked from here; a pid of this host is checked with signal 0."""
    if holder.host != socket.gethostname():
        return True
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def _current_holder(fd: int) -> Holder | None:
    """The live holder named in the lock file, or None. The line left by a dead holder is only
    read in the instant between a new holder's lock and its write, so it is re-read briefly and
    never returned unless its process is alive."""
    for attempt in range(_HOLDER_READ_ATTEMPTS):
        holder = _parse_holder(os.pread(fd, 4096, 0).decode("utf-8", "replace").strip())
        if holder is not None and _alive(holder):
            return holder
        if attempt + 1 < _HOLDER_READ_ATTEMPTS:
            time.sleep(_HOLDER_READ_PAUSE_S)
    return None


def busy_error(db: Path, holder: Holder | None) -> DatabaseBusyError:
    who = holder.describe() if holder is not None else f"another process (not named in {lock_path(db)} yet)"
    return DatabaseBusyError(f"{db} is being written by {who}", WAIT_FIX)


@contextmanager
def hold_writer(db: Path, command: str) -> Iterator[Holder]:
    """Be the only cd2 writer of ``db`` inside the block; raises ``CannotStartError`` at once if another
    process is. Not re-entrant: a second ``hold_writer`` on the same file in the same process
    fails like any other writer (flock locks belong to the open file, not the process)."""
    path = lock_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    # 0600: the holder line names a command and a host, nothing for other users
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy_error(db, _current_holder(fd)) from None
        holder = Holder(os.getpid(), command, socket.gethostname(), iso_z(utc_now().replace(microsecond=0)))
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(asdict(holder)) + "\n").encode("utf-8"), 0)
        try:
            yield holder
        finally:
            os.ftruncate(fd, 0)  # finished: nobody is named any more
    finally:
        os.close(fd)  # releases the lock


def writer_busy(db: Path) -> bool:
    """Whether a cd2 writer holds ``db`` now. For readers of the working file (``cd2 status``): while
    one does, even a read-only open could land between the round's sync and its build and make the
    build fail; they read the published copy instead. Takes the lock only shared and for an instant."""
    try:
        fd = os.open(lock_path(db), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also releases the shared lock
    return False


def duckdb_lock_error(db: Path, exc: BaseException, readers_copy: Path | None = None) -> DatabaseBusyError | None:
    """The one-line error for DuckDB refusing ``db`` because another program has it open (a BI
    tool, a notebook, a hand-run dbt); None when ``exc`` is another error. cd2 writers never get
    here: they stop at the writer lock first."""
    text = str(exc)
    if _DUCKDB_LOCK not in text:
        return None
    match = _DUCKDB_HOLDER.search(text)
    who = f"pid {match['pid']}, {Path(match['program']).name}" if match else "pid unknown"
    fix = "wait for it to finish or stop it; BI tools and notebooks must open the published read copy"
    fix += f" {readers_copy} instead" if readers_copy is not None else " instead"
    return DatabaseBusyError(f"{db} is in use by another process ({who})", fix)
