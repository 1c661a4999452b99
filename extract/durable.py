"""Files that survive a crash whole: written beside, flushed to disk, then renamed into place."""

from __future__ import annotations

import os
from pathlib import Path


def write_durably(path: Path, text: str) -> None:
    """``path`` holds ``text`` completely or (after a crash) is absent/unchanged: written beside,
    flushed to disk, then renamed over."""
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with temp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    temp.replace(path)
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (the folder's entry list on disk)."""
    sync_file(folder)


def sync_file(path: Path) -> None:
    """Flush ``path`` (a file, or a folder's entry list) from the page cache to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
