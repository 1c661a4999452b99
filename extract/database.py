"""Opening the project's DuckDB file: one function, one clear line for every way it can fail.

Writers (``sync``, ``import``, ``run``) may create the file; readers (``status``, ``codegen --db``)
open it read-only and never create a file or a folder. A file that holds tables but no
``cd2_meta`` schema belongs to another tool: it is refused unless the caller allows it, so that a
mistyped path never writes CD2 tables into someone else's database.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import duckdb

from extract.failures import CannotStartError

META_SCHEMA = "cd2_meta"
FOREIGN_FLAG = "--allow-foreign-db"


def open_database(
    path: Path,
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    allow_foreign: bool = False,
    readers_copy: Path | None = None,
) -> duckdb.DuckDBPyConnection:
    """A connection to the project's DuckDB file, or ``CannotStartError`` naming the cause and the fix.
    ``memory_limit`` (the resolved setting, ``extract.config``) caps a read-write connection;
    ``readers_copy`` is the read copy a "file in use" error points to (default: the standard one)."""
    check_openable(path, read_only=read_only)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    settings = {"memory_limit": memory_limit} if memory_limit and not read_only else {}
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=settings)
    except duckdb.Error as exc:
        raise _cannot_open(path, exc, readers_copy) from None
    if not allow_foreign:
        try:
            refuse_foreign(con, path, read_only=read_only)
        except BaseException:
            con.close()
            raise
    return con


def default_published_path(db: Path) -> Path:
    """The read copy beside the working file: ``data/cd2.duckdb`` → ``data/cd2.read.duckdb``."""
    return db.with_name(f"{db.stem}.read{db.suffix or '.duckdb'}")


def check_openable(path: Path, *, read_only: bool) -> None:
    """The checks DuckDB would fail on with an unclear message (or not at all, as root)."""
    if path.is_dir():
        raise CannotStartError(
            f"{path} is a folder, not a DuckDB file", "give the path of the .duckdb file (--db / CD2_DB)"
        )
    if not path.exists():
        if read_only:
            raise CannotStartError(
                f"{path} does not exist",
                "check the path (--db / CD2_DB), or run `cd2 sync` first to create it",
            )
        return
    if not read_only and stat.S_IMODE(path.stat().st_mode) & 0o222 == 0:
        # root may write a file without write bits; a read-only file is still a clear "no" from the operator.
        raise CannotStartError(f"{path} is read-only", f"make it writable (chmod u+w {path}) or choose another --db")
    if not read_only and not os.access(path.parent, os.W_OK):
        raise CannotStartError(f"the folder of {path} is not writable", "DuckDB writes its log beside the file")


def _cannot_open(path: Path, exc: duckdb.Error, readers_copy: Path | None = None) -> CannotStartError:
    from extract.writer_lock import duckdb_lock_error

    text = str(exc)
    busy = duckdb_lock_error(path, exc, readers_copy or default_published_path(path))
    if busy is not None:
        return busy
    if "not a valid DuckDB database file" in text:
        return CannotStartError(f"{path} is not a DuckDB database file", "check the path (--db / CD2_DB)")
    if "serialization" in text.lower() or "version" in text.lower():
        return CannotStartError(
            f"{path} cannot be read by this DuckDB ({duckdb.__version__}): {text}", "check the path"
        )
    return CannotStartError(
        f"cannot open {path}: {text.removeprefix('IO Error: ')}", "check the path and its permissions"
    )


def refuse_foreign(con: duckdb.DuckDBPyConnection, path: Path, *, read_only: bool = False) -> None:
    """Raise unless the database is empty or already holds the project's ``cd2_meta`` schema."""
    schemas = {
        str(row[0])
        for row in con.execute(
            "SELECT DISTINCT schema_name FROM duckdb_schemas() WHERE database_name = current_database()"
        ).fetchall()
    }
    if META_SCHEMA in schemas:
        return
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"
        " UNION ALL SELECT count(*) FROM duckdb_views() WHERE database_name = current_database() AND NOT internal"
    ).fetchall()
    if sum(int(row[0]) for row in found):
        raise CannotStartError(
            f"{path} holds tables but no {META_SCHEMA} schema: it is not a cd2 database",
            "check the path (--db / CD2_DB)"
            + ("" if read_only else f", or pass {FOREIGN_FLAG} to write into it anyway"),
        )
