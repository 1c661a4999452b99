"""Files that survive a crash whole: written beside, flushed to disk, then renamed into place."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def replace_durably(path: Path, write: Callable[[Path], None]) -> None:
    """``path`` replaced whole by what ``write`` puts in the file it is given, or (after a crash)
    absent/unchanged: written beside (a hidden name), flushed to disk, then renamed over."""
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    write(temp)
    sync_file(temp)
    temp.replace(path)
    sync_folder(path.parent)


def write_durably(path: Path, text: str) -> None:
    """``replace_durably`` with ``text`` (UTF-8)."""
    replace_durably(path, lambda temp: temp.write_text(text, encoding="utf-8"))


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
