"""The change-log store: what the synthetic institution writes and the fake DAP server serves.

Every CD2 table is kept as an append-only change log of Parquet files, one file per commit
batch, under ``<root>/<namespace>/<table>/``. Each file has the columns

    meta_ts      TIMESTAMP  commit time (UTC), strictly increasing from batch to batch
    meta_action  VARCHAR    'U' upsert, 'D' hard delete (value columns NULL),
                            'X' silent removal during a server-side reload (never served)
    <key columns>, <value columns>   typed as ``Column.duckdb_type()`` (STRUCT / LIST for nested)

``manifest.json`` records the profile and seed, the store's ``now`` (the latest commit time),
every table's files, its schema versions and its reloads. Each schema version after the base one
is a bump in force from a point in time: ``{"at", "column"}`` adds a column, ``{"at", "nullable":
[names]}`` makes value columns nullable (CD2's 2026-04-27 kind of bump; format 1 manifests
written before it hold only the first kind and read unchanged).

The ground truth of a table at time T is the latest row per key with ``meta_ts <= T`` whose
action is 'U'. The change set of a window is the latest row per key inside the window. Both are
plain SQL over the Parquet files (``truth_sql`` / ``window_sql``), so they scale to the large
profile with bounded memory.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from extract.schema import Column, TableSchema, bundled_schemas
from extract.timeutil import iso_z, parse_iso

MANIFEST = "manifest.json"
STORE_FORMAT = 1
ACTIONS = ("U", "D", "X")


class StoreError(RuntimeError):
    """The store is missing, inconsistent, or a write would break its invariants."""


@dataclass(frozen=True)
class ChangeFile:
    name: str
    rows: int
    min_ts: datetime | None
    max_ts: datetime | None
    columns: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": self.rows,
            "min_ts": iso_z(self.min_ts) if self.min_ts else None,
            "max_ts": iso_z(self.max_ts) if self.max_ts else None,
            "columns": list(self.columns),
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> ChangeFile:
        return cls(
            name=raw["name"],
            rows=int(raw["rows"]),
            min_ts=parse_iso(raw["min_ts"]) if raw.get("min_ts") else None,
            max_ts=parse_iso(raw["max_ts"]) if raw.get("max_ts") else None,
            columns=tuple(raw["columns"]),
        )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ts_literal(value: datetime) -> str:
    return f"TIMESTAMP '{value.isoformat(sep=' ')}'"


class Store:
    """Read and append to a change-log store on disk."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        path = self.root / MANIFEST
        if not path.exists():
            raise StoreError(f"no synthetic store at {self.root} (missing {MANIFEST})")
        self._manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if self._manifest.get("format") != STORE_FORMAT:
            raise StoreError(f"store {self.root} has format {self._manifest.get('format')}, need {STORE_FORMAT}")

    # ---- creation -------------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        root: str | os.PathLike[str],
        *,
        profile: str,
        seed: int,
        start: datetime,
        tables: Iterable[TableSchema] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Store:
        """Create an empty store whose clock starts at ``start``. Refuses to overwrite one."""
        root = Path(root)
        if (root / MANIFEST).exists():
            raise StoreError(f"a store already exists at {root}")
        root.mkdir(parents=True, exist_ok=True)
        schemas = list(tables) if tables is not None else list(bundled_schemas().values())
        manifest: dict[str, Any] = {
            "format": STORE_FORMAT,
            "profile": profile,
            "seed": seed,
            "start": iso_z(start),
            "now": iso_z(start),
            "commits": [],
            "extra": extra or {},
            "tables": {
                s.qualified_name: {"base_schema": s.to_bundled(), "bumps": [], "reloads": [], "files": []}
                for s in schemas
            },
        }
        _write_json_atomic(root / MANIFEST, manifest)
        return cls(root)

    # ---- manifest views -------------------------------------------------------------------------
    @property
    def profile(self) -> str:
        return str(self._manifest["profile"])

    @property
    def seed(self) -> int:
        return int(self._manifest["seed"])

    @property
    def start(self) -> datetime:
        return parse_iso(self._manifest["start"])

    @property
    def now(self) -> datetime:
        """The latest commit time: snapshot ``at`` and the default incremental ``until``."""
        return parse_iso(self._manifest["now"])

    @property
    def commits(self) -> list[datetime]:
        return [parse_iso(t) for t in self._manifest["commits"]]

    @property
    def extra(self) -> dict[str, Any]:
        return dict(self._manifest.get("extra", {}))

    def tables(self, namespace: str | None = None) -> list[str]:
        """Qualified table names (``namespace.table``) in the store."""
        names = list(self._manifest["tables"])
        return [n for n in names if namespace is None or n.split(".", 1)[0] == namespace]

    def namespaces(self) -> list[str]:
        return sorted({n.split(".", 1)[0] for n in self._manifest["tables"]})

    def _table(self, qname: str) -> dict[str, Any]:
        try:
            return self._manifest["tables"][qname]
        except KeyError:
            raise StoreError(f"the store has no table {qname}") from None

    def files(self, qname: str) -> list[ChangeFile]:
        return [ChangeFile.from_json(f) for f in self._table(qname)["files"]]

    def file_path(self, qname: str, change_file: ChangeFile) -> Path:
        ns, table = qname.split(".", 1)
        return self.root / ns / table / change_file.name

    def schema(self, qname: str, at: datetime | None = None) -> TableSchema:
        """The table's schema version in force at ``at`` (default: now)."""
        entry = self._table(qname)
        schema = TableSchema.from_bundled(entry["base_schema"])
        for bump in entry["bumps"]:
            if at is None or parse_iso(bump["at"]) <= at:
                schema = _apply_bump(schema, bump)
        return schema

    def schema_versions(self, qname: str) -> list[tuple[int, datetime | None]]:
        """``(version, in force from)`` for every version; the base version has ``None``."""
        entry = self._table(qname)
        base = int(entry["base_schema"]["version"])
        out: list[tuple[int, datetime | None]] = [(base, None)]
        for i, bump in enumerate(entry["bumps"], start=1):
            out.append((base + i, parse_iso(bump["at"])))
        return out

    def reloads(self, qname: str) -> list[datetime]:
        return [parse_iso(t) for t in self._table(qname)["reloads"]]

    def last_reload(self, qname: str, before: datetime | None = None) -> datetime | None:
        times = [t for t in self.reloads(qname) if before is None or t <= before]
        return max(times) if times else None

    # ---- writing --------------------------------------------------------------------------------
    def write_changes(self, qname: str, con: duckdb.DuckDBPyConnection, select_sql: str) -> ChangeFile | None:
        """Append one batch file for ``qname`` from a query producing change-log rows.

        The query must yield ``meta_ts``, ``meta_action`` and columns named like the table's
        columns (any subset; missing ones are written as NULL, extra ones are refused). Rows
        are cast to the schema in force at the batch's commit times and sorted by
        ``(meta_ts, key)`` so the same input always gives the same bytes. Every ``meta_ts``
        must be later than the store's ``now`` (except in the first, base batch of a table)
        and a key may change at most once per timestamp. Returns None for an empty batch.
        """
        entry = self._table(qname)
        schema = self.schema(qname)
        probe = con.sql(f"SELECT * FROM ({select_sql}) LIMIT 0")
        produced = list(probe.columns)
        known = {c.name for c in schema.columns} | {"meta_ts", "meta_action"}
        unknown = [c for c in produced if c not in known]
        if unknown:
            raise StoreError(f"{qname}: batch has columns not in the schema: {unknown}")
        select_cols = [
            "CAST(meta_ts AS TIMESTAMP) AS meta_ts",
            "CAST(meta_action AS VARCHAR) AS meta_action",
        ]
        for column in schema.columns:
            expr = _quote(column.name) if column.name in produced else "NULL"
            if column.name not in schema.primary_key:  # deletes carry the key only
                expr = f"CASE WHEN meta_action = 'U' THEN {expr} END"
            select_cols.append(f"CAST({expr} AS {column.duckdb_type()}) AS {_quote(column.name)}")
        key_order = ", ".join(_quote(k) for k in schema.primary_key)
        shaped = f"SELECT {', '.join(select_cols)} FROM ({select_sql}) ORDER BY meta_ts, {key_order}"
        stats = con.execute(
            f"""
            SELECT count(*) AS n, min(meta_ts) AS lo, max(meta_ts) AS hi,
                   count(*) FILTER (WHERE meta_action NOT IN ('U', 'D', 'X') OR meta_action IS NULL) AS bad,
                   count(*) - count(DISTINCT ({key_order}, meta_ts)) AS dup
            FROM ({shaped})
            """
        ).fetchone()
        assert stats is not None
        rows, lo, hi, bad, dup = stats
        if rows == 0:
            return None
        if bad:
            raise StoreError(f"{qname}: {bad} rows with meta_action not in {ACTIONS}")
        if dup:
            raise StoreError(f"{qname}: {dup} rows change the same key twice at one timestamp")
        if entry["files"] and lo <= self.now:
            raise StoreError(f"{qname}: batch starts at {lo}, not after the store's now {self.now}")
        ns, table = qname.split(".", 1)
        folder = self.root / ns / table
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{len(entry['files']):05d}-{lo.strftime('%Y%m%dT%H%M%S')}.parquet"
        tmp = folder / f".{name}.tmp"
        con.execute(f"COPY ({shaped}) TO '{tmp.as_posix()}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")
        tmp.replace(folder / name)
        change_file = ChangeFile(name, int(rows), lo, hi, tuple(c.name for c in schema.columns))
        entry["files"].append(change_file.to_json())
        return change_file

    def bump_schema(self, qname: str, column: Column, at: datetime) -> int:
        """Add ``column`` to ``qname`` from ``at`` on; returns the new schema version."""
        return self._add_version(qname, at, {"column": column.to_bundled()})

    def relax_schema(self, qname: str, columns: Sequence[str], at: datetime) -> int:
        """Make the named value columns of ``qname`` nullable from ``at`` on (a version bump that
        changes nothing but ``value.required``); returns the new schema version."""
        return self._add_version(qname, at, {"nullable": list(dict.fromkeys(columns))})

    def _add_version(self, qname: str, at: datetime, change: dict[str, Any]) -> int:
        """Record a schema version bump of ``qname`` in force from ``at`` (after now)."""
        entry = self._table(qname)
        if at <= self.now:
            raise StoreError(f"{qname}: a schema bump must be after now ({self.now}), got {at}")
        bump = {"at": iso_z(at), **change}
        _apply_bump(self.schema(qname), bump)  # validates the change against the current version
        entry["bumps"].append(bump)
        return self.schema(qname).version

    def mark_reload(self, qname: str, at: datetime) -> None:
        """Record a server-side reload: incrementals from before ``at`` need a new snapshot."""
        self._table(qname)["reloads"].append(iso_z(at))

    def commit(self, now: datetime, *, record: bool = True) -> None:
        """Move the store's clock to ``now`` and persist the manifest atomically."""
        if now < self.now:
            raise StoreError(f"cannot move the clock back from {self.now} to {now}")
        self._manifest["now"] = iso_z(now)
        if record:
            self._manifest["commits"].append(iso_z(now))
        _write_json_atomic(self.root / MANIFEST, self._manifest)

    def set_extra(self, key: str, value: Any) -> None:
        self._manifest.setdefault("extra", {})[key] = value

    # ---- reading (SQL over the Parquet files) -------------------------------------------------------
    def changes_sql(self, qname: str, schema: TableSchema | None = None) -> str:
        """All change rows of a table with the columns of ``schema`` (default: current)."""
        schema = schema or self.schema(qname)
        files = self.files(qname)
        present = {c for f in files for c in f.columns}
        cols = ["meta_ts", "meta_action"]
        for column in schema.columns:
            if column.name in present:
                cols.append(_quote(column.name))
            else:
                cols.append(f"CAST(NULL AS {column.duckdb_type()}) AS {_quote(column.name)}")
        if not files:
            empty = [
                "CAST(NULL AS TIMESTAMP) AS meta_ts",
                "CAST(NULL AS VARCHAR) AS meta_action",
                *(f"CAST(NULL AS {c.duckdb_type()}) AS {_quote(c.name)}" for c in schema.columns),
            ]
            return f"SELECT {', '.join(empty)} WHERE false"
        paths = ", ".join(f"'{self.file_path(qname, f).as_posix()}'" for f in files)
        return f"SELECT {', '.join(cols)} FROM read_parquet([{paths}], union_by_name = true)"

    def truth_sql(self, qname: str, at: datetime | None = None, min_ts: datetime | None = None) -> str:
        """Ground truth: the live rows of ``qname`` at ``at`` (default now), with ``meta_ts``.

        ``min_ts`` keeps only rows last changed after it (web_logs' retention window).
        Columns: ``meta_ts`` then the table's columns at that time.
        """
        at = at or self.now
        schema = self.schema(qname, at)
        keys = ", ".join(_quote(k) for k in schema.primary_key)
        cols = ", ".join(_quote(c.name) for c in schema.columns)
        extra = f" AND meta_ts > {_ts_literal(min_ts)}" if min_ts else ""
        return f"""
            SELECT meta_ts, {cols} FROM (
                SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY meta_ts DESC) AS _rn
                FROM ({self.changes_sql(qname, schema)})
                WHERE meta_ts <= {_ts_literal(at)}
            ) WHERE _rn = 1 AND meta_action = 'U'{extra}
        """

    def window_sql(self, qname: str, since: datetime, until: datetime, *, closed_open: bool = False) -> str:
        """The consolidated changes of a window: latest 'U' or 'D' row per key.

        Default window is ``since < meta_ts <= until``; ``closed_open`` gives
        ``since <= meta_ts < until``. Columns: ``meta_ts``, ``meta_action``, table columns at
        ``until``; value columns are NULL on 'D' rows.
        """
        schema = self.schema(qname, until)
        keys = ", ".join(_quote(k) for k in schema.primary_key)
        cols = ", ".join(_quote(c.name) for c in schema.columns)
        lo, hi = _ts_literal(since), _ts_literal(until)
        cond = f"meta_ts >= {lo} AND meta_ts < {hi}" if closed_open else f"meta_ts > {lo} AND meta_ts <= {hi}"
        return f"""
            SELECT meta_ts, meta_action, {cols} FROM (
                SELECT *, row_number() OVER (PARTITION BY {keys} ORDER BY meta_ts DESC) AS _rn
                FROM ({self.changes_sql(qname, schema)})
                WHERE {cond}
            ) WHERE _rn = 1 AND meta_action IN ('U', 'D')
        """


def _apply_bump(schema: TableSchema, bump: dict[str, Any]) -> TableSchema:
    """The next schema version after one manifest bump: an added column or relaxed nullability."""
    if "column" in bump:
        return schema.with_added_column(Column.from_bundled(bump["column"]))
    if "nullable" in bump:
        return schema.with_nullable_columns(bump["nullable"])
    raise StoreError(f"{schema.qualified_name}: a schema bump with neither 'column' nor 'nullable': {bump}")


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".manifest.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=1, sort_keys=False)
        handle.write("\n")
    Path(tmp).replace(path)
