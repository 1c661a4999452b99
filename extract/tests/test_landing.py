"""Landing: the four formats land identical rows; a batch commits whole or not at all."""

from __future__ import annotations

import csv
import errno
import gzip
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import cast

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract.landing import batch
from extract.landing.batch import BatchSpec, checkpoint, land_batch, record_failure
from extract.landing.diskfull import NO_SPACE_TEXT, DiskFullError, is_disk_full
from extract.landing.readers import HUGE_RECORD_BYTES, JSON_OBJECT_BYTES, FileFormatError
from extract.schema import Column, TableSchema
from extract.tests.sync_helpers import CannotMountError, fill_disk, small_filesystem

SCHEMA = TableSchema(
    namespace="canvas",
    name="things",
    version=3,
    primary_key=("id",),
    columns=(
        Column("id", "integer", "int64", nullable=False),
        Column("name", "string", nullable=True),
        Column("score", "number", "float64"),
        Column("points", "number", "decimal", precision=6, scale=2),
        Column("active", "boolean"),
        Column("created_at", "string", "date-time"),
        Column("day", "string", "date"),
        Column("ref", "string", "uuid"),
        Column(
            "settings",
            "object",
            properties=(Column("color", "string"), Column("size", "integer", "int32")),
        ),
        Column("tags", "array", items=Column("", "string")),
    ),
)

TRICKY = [
    "plain",
    "tab\there",
    "new\nline",
    "carriage\rreturn",
    'double "quotes"',
    "single 'quotes'",
    "back\\slash",
    "ends with backslash\\",
    "\\N",
    "",
    "  spaces  ",
    "comma, semicolon;",
    "unicode: café, 日本語, 🎓",
    "__cd2_oversized_truncated__",
]

ROWS: list[dict] = []
for i, text in enumerate(TRICKY, start=1):
    ROWS.append(
        {
            "id": i,
            "action": "D" if i % 5 == 0 else "U",
            "ts": f"2026-09-01T10:{i:02d}:00.{i:03d}Z",
            "name": None if i == 4 else text,
            "score": None if i % 3 == 0 else i * 1.5,
            "points": None if i % 4 == 0 else f"{i}.25",
            "active": None if i % 6 == 0 else i % 2 == 0,
            "created_at": f"2026-08-{i:02d}T00:00:00Z",
            "day": f"2026-08-{i:02d}",
            "ref": f"00000000-0000-4000-8000-{i:012d}",
            "settings": None if i % 7 == 0 else {"color": text, "size": i},
            "tags": ["a", text],
        }
    )

# CD2 puts its placeholder where an oversized nested value was: a string, not the object or list.
MARKER = "__cd2_oversized_truncated__"
MARKER_ROW = len(ROWS) + 1
ROWS.append({**ROWS[0], "id": MARKER_ROW, "ts": "2026-09-01T11:00:00Z", "settings": MARKER, "tags": MARKER})

VALUE_COLS = [c.name for c in SCHEMA.value_columns]


def _value(row: dict, col: str) -> object:
    if col == "settings":
        return row[col]
    if col == "tags":
        return row[col]
    return row[col]


def write_jsonl(path: Path, incremental: bool) -> None:
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        for row in ROWS:
            meta = {"ts": row["ts"], "action": row["action"]} if incremental else {"ts": row["ts"]}
            record: dict = {"meta": meta, "key": {"id": row["id"]}}
            if row["action"] == "U" or not incremental:
                value = {c: row[c] for c in VALUE_COLS if row[c] is not None}
                if "points" in value:
                    value["points"] = float(value["points"])
                record["value"] = value
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def _text_cell(row: dict, col: str) -> str | None:
    value = row[col]
    if value is None:
        return None
    if col in ("settings", "tags") and value != MARKER:  # the placeholder is written as it is, not as JSON
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _header(incremental: bool) -> list[str]:
    return ["meta.ts", *(["meta.action"] if incremental else []), "key.id", *(f"value.{c}" for c in VALUE_COLS)]


def _cells(row: dict, incremental: bool) -> list[str | None]:
    deleted = incremental and row["action"] == "D"
    cells: list[str | None] = [row["ts"], *([row["action"]] if incremental else []), str(row["id"])]
    cells += [None if deleted else _text_cell(row, c) for c in VALUE_COLS]
    return cells


def write_tsv(path: Path, incremental: bool) -> None:
    def escape(cell: str | None) -> str:
        if cell is None:
            return "\\N"
        return cell.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")

    with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
        handle.write("\t".join(_header(incremental)) + "\n")
        for row in ROWS:
            handle.write("\t".join(escape(c) for c in _cells(row, incremental)) + "\n")


def write_csv(path: Path, incremental: bool) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(_header(incremental))
    for row in ROWS:
        cells = _cells(row, incremental)
        # NULL is an empty unquoted field; an empty string is written as "".
        writer.writerow(["" if c is None else c for c in cells])
    text = buffer.getvalue()
    # csv.writer does not quote an empty string: do it by hand for the empty-text row.
    empty_row = next(r for r in ROWS if r["name"] == "")
    if not (incremental and empty_row["action"] == "D"):
        text = text.replace(f",{empty_row['id']},,", f',{empty_row["id"]},"",', 1)
    with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
        handle.write(text)


def write_parquet(path: Path, incremental: bool) -> None:
    columns: dict[str, list] = {h: [] for h in _header(incremental)}
    for row in ROWS:
        for header, cell in zip(_header(incremental), _cells(row, incremental), strict=True):
            columns[header].append(cell)
    table = pa.table({h: pa.array(v, pa.string()) for h, v in columns.items()})
    pq.write_table(table, path)


WRITERS = {"jsonl": write_jsonl, "tsv": write_tsv, "csv": write_csv, "parquet": write_parquet}
SUFFIX = {"jsonl": ".json.gz", "tsv": ".tsv.gz", "csv": ".csv.gz", "parquet": ".parquet"}


def land(
    tmp_path: Path, fmt: str, incremental: bool, config: dict[str, str] | None = None
) -> duckdb.DuckDBPyConnection:
    path = tmp_path / f"part-00000{SUFFIX[fmt]}"
    WRITERS[fmt](path, incremental)
    con = duckdb.connect(str(tmp_path / f"{fmt}.duckdb"), config=config or {})
    parquet_cols: list[str] = []
    if fmt == "parquet":
        parquet_cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()]
    spec = BatchSpec(
        schema=SCHEMA,
        kind="incremental" if incremental else "snapshot",
        reason="test",
        fmt=fmt,
        files=[path],
        watermark=datetime(2026, 9, 2),
        parquet_columns=parquet_cols,
    )
    land_batch(con, spec)
    return con


def landed_rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.execute(
        """
        SELECT id, _meta_action, _meta_ts, name, score, points, active, created_at, day, ref,
               CAST(settings AS VARCHAR), CAST(tags AS VARCHAR)
        FROM raw_canvas.things ORDER BY id
        """
    ).fetchall()


@pytest.mark.parametrize("incremental", [False, True])
def test_all_formats_land_identical_rows(tmp_path: Path, incremental: bool) -> None:
    results = {fmt: landed_rows(land(tmp_path, fmt, incremental)) for fmt in WRITERS}
    reference = results["jsonl"]
    assert len(reference) == len(ROWS)
    for fmt, rows in results.items():
        assert rows == reference, f"{fmt} differs from jsonl"
    by_id = {r[0]: r for r in reference}
    for row in ROWS:
        landed = by_id[row["id"]]
        deleted = incremental and row["action"] == "D"
        assert landed[1] == ("D" if deleted else "U")
        assert landed[3] == (None if deleted else row["name"])  # exact text, escapes undone
    # A placeholder in a nested column lands as a JSON string in every format (staging flags it).
    assert by_id[MARKER_ROW][10:] == (f'"{MARKER}"', f'"{MARKER}"')
    # The tricky strings survive, including the literal backslash-N and the empty string.
    names = {r[3] for r in reference}
    if not incremental:
        assert {"\\N", "", "ends with backslash\\", "tab\there", "new\nline"} <= names


# What each reader needs with two threads: JSON and parquet little, CSV/TSV two 512 MiB buffers
# (see extract/landing/readers.py; they took 4 GiB each before).
SMALL_MEMORY = {"jsonl": "256MB", "parquet": "256MB", "csv": "1200MB", "tsv": "1200MB"}


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_ordinary_files_land_within_a_small_memory_limit(tmp_path: Path, fmt: str) -> None:
    con = land(tmp_path, fmt, incremental=False, config={"memory_limit": SMALL_MEMORY[fmt], "threads": "2"})
    assert len(landed_rows(con)) == len(ROWS)


@pytest.mark.parametrize(("fmt", "reads_expected"), [("jsonl", [False, True]), ("csv", [False]), ("tsv", [False])])
def test_a_record_longer_than_the_default_limits_is_landed_whole(
    tmp_path: Path, fmt: str, reads_expected: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Longer than DuckDB's default JSON object (32 MiB) and CSV line (2 MiB): JSON is refused,
    then read again with room for it; CSV/TSV lines are always given room."""
    long_name = "x" * (2 * JSON_OBJECT_BYTES + 2**20)
    assert len(long_name) < HUGE_RECORD_BYTES
    written = [*ROWS, {**ROWS[0], "id": 99, "action": "U", "name": long_name}]
    monkeypatch.setitem(globals(), "ROWS", written)  # what the writers write
    reads: list[bool] = []
    real_select = batch.select_for

    def recording_select(*args: object, **kwargs: object) -> str:
        reads.append(bool(kwargs.get("huge_records")))
        return real_select(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "select_for", recording_select)
    con = land(tmp_path, fmt, incremental=False)
    assert reads == reads_expected
    rows = con.execute("SELECT id, length(name) FROM raw_canvas.things ORDER BY id").fetchall()
    assert len(rows) == len(written) and rows[-1] == (99, len(long_name))
    assert con.execute("SELECT rows, status FROM cd2_meta.batches").fetchall() == [(len(written), "committed")]


def test_batch_is_logged_with_watermark_and_version(tmp_path: Path) -> None:
    con = land(tmp_path, "jsonl", incremental=True)
    batch = con.execute(
        "SELECT kind, status, rows, upserts, deletes, schema_version, watermark FROM cd2_meta.batches"
    ).fetchall()
    deletes = sum(1 for r in ROWS if r["action"] == "D")
    assert batch == [("incremental", "committed", len(ROWS), len(ROWS) - deletes, deletes, 3, datetime(2026, 9, 2))]
    state = con.execute("SELECT watermark, schema_version, last_status FROM cd2_meta.table_state").fetchall()
    assert state == [(datetime(2026, 9, 2), 3, "ok")]


def test_a_failing_batch_leaves_nothing_behind(tmp_path: Path) -> None:
    con = land(tmp_path, "jsonl", incremental=False)
    before = con.execute("SELECT count(*) FROM raw_canvas.things").fetchone()
    broken = tmp_path / "broken.json.gz"
    good = tmp_path / "good.json.gz"
    write_jsonl(good, incremental=True)
    # A truncated gzip: its first half only. The good file is read first, then this one fails.
    broken.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    spec = BatchSpec(
        schema=SCHEMA,
        kind="incremental",
        reason="test",
        fmt="jsonl",
        files=[good, broken],
        watermark=datetime(2026, 9, 3),
    )
    with pytest.raises(duckdb.Error):
        land_batch(con, spec)
    assert con.execute("SELECT count(*) FROM raw_canvas.things").fetchone() == before
    assert con.execute("SELECT watermark FROM cd2_meta.table_state").fetchone() == (datetime(2026, 9, 2),)
    assert con.execute("SELECT count(*) FROM cd2_meta.batches").fetchone() == (1,)


def test_new_schema_version_adds_columns_and_keeps_old_rows(tmp_path: Path) -> None:
    con = land(tmp_path, "jsonl", incremental=False)
    bumped = SCHEMA.with_added_column(Column("extra", "integer", "int32"))
    path = tmp_path / "v2.json.gz"
    with gzip.open(path, "wt") as handle:
        handle.write(
            json.dumps(
                {"meta": {"ts": "2026-09-03T00:00:00Z", "action": "U"}, "key": {"id": 1}, "value": {"extra": 42}}
            )
            + "\n"
        )
    result = land_batch(
        con,
        BatchSpec(
            schema=bumped, kind="incremental", reason="test", fmt="jsonl", files=[path], watermark=datetime(2026, 9, 3)
        ),
    )
    assert result.added_columns == ("extra",)
    rows = con.execute("SELECT _schema_version, count(*), count(extra) FROM raw_canvas.things GROUP BY 1 ORDER BY 1")
    assert rows.fetchall() == [(3, len(ROWS), 0), (4, 1, 1)]


def test_unknown_format_and_bad_header_are_refused(tmp_path: Path) -> None:
    con = duckdb.connect()
    bad = tmp_path / "x.tsv.gz"
    with gzip.open(bad, "wt") as handle:
        handle.write("value.name\nabc\n")
    with pytest.raises(FileFormatError):
        land_batch(
            con,
            BatchSpec(
                schema=SCHEMA, kind="snapshot", reason="t", fmt="tsv", files=[bad], watermark=datetime(2026, 1, 1)
            ),
        )
    with pytest.raises(FileFormatError):
        land_batch(
            con,
            BatchSpec(
                schema=SCHEMA, kind="snapshot", reason="t", fmt="xml", files=[bad], watermark=datetime(2026, 1, 1)
            ),
        )


def test_failures_are_recorded_without_touching_the_watermark(tmp_path: Path) -> None:
    con = land(tmp_path, "jsonl", incremental=False)
    record_failure(
        con, "canvas", "things", kind="incremental", reason="scheduled", error_type="ProcessingError", message="boom"
    )
    state = con.execute("SELECT watermark, last_status, last_error FROM cd2_meta.table_state").fetchone()
    assert state == (datetime(2026, 9, 2), "failed", "ProcessingError: boom")
    statuses = con.execute("SELECT status FROM cd2_meta.batches ORDER BY batch_id").fetchall()
    assert statuses == [("committed",), ("failed",)]


def test_expanded_mode_rebuilds_nested_objects(tmp_path: Path) -> None:
    """``mode=expanded`` flattens objects into ``value.settings.<sub>``; they land as the same JSON."""
    path = tmp_path / "expanded.tsv.gz"
    header = ["meta.ts", "key.id", "value.settings.color", "value.settings.size", "value.name"]
    lines = [
        ["2026-09-01T00:00:00Z", "1", "red\\ttab", "3", "a"],
        ["2026-09-01T00:00:00Z", "2", "\\N", "\\N", "b"],
        ["2026-09-01T00:00:00Z", "3", "\\N", "7", "c"],
    ]
    with gzip.open(path, "wt", newline="") as handle:
        handle.write("\t".join(header) + "\n" + "".join("\t".join(line) + "\n" for line in lines))
    con = duckdb.connect()
    land_batch(
        con,
        BatchSpec(schema=SCHEMA, kind="snapshot", reason="t", fmt="tsv", files=[path], watermark=datetime(2026, 9, 2)),
    )
    settings_type = SCHEMA.column("settings").duckdb_type()
    rows = con.execute(f"SELECT id, CAST(settings AS {settings_type}) FROM raw_canvas.things ORDER BY id").fetchall()
    assert rows == [(1, {"color": "red\ttab", "size": 3}), (2, None), (3, {"color": None, "size": 7})]


def _land_file(path: Path, fmt: str, csv_null: str | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    spec = BatchSpec(
        schema=SCHEMA,
        kind="snapshot",
        reason="t",
        fmt=fmt,
        files=[path],
        watermark=datetime(2026, 9, 2),
        csv_null=csv_null,
    )
    land_batch(con, spec)
    return con


CSV_NULL_WORD_LINES = [
    # every value cell the bare word NULL
    "2026-09-01T00:00:00Z,1," + ",".join(["NULL"] * len(VALUE_COLS)),
    # the string "NULL" (quoted) and unquoted empty fields
    '2026-09-01T00:00:00Z,2,"NULL"' + "," * (len(VALUE_COLS) - 1),
    # an empty string (quoted), ordinary values
    '2026-09-01T00:00:00Z,3,"",1.5,2.25,true,2026-08-03T00:00:00Z,2026-08-03,'
    '00000000-0000-4000-8000-000000000003,"{""size"":3}","[""a""]"',
]


@pytest.mark.parametrize(("csv_null", "name_of_row_1"), [(None, "NULL"), ("NULL", None)])
def test_csv_null_word_is_null_in_every_typed_column_and_in_text_by_the_setting(
    tmp_path: Path, csv_null: str | None, name_of_row_1: str | None
) -> None:
    """DAP's CSV NULL is an empty field or the bare word NULL (its docs say both). Neither may
    reject a row: the word is NULL wherever the type cannot hold it; in text, the setting decides."""
    path = tmp_path / "nulls.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8", newline="") as handle:
        handle.write(",".join(_header(False)) + "\n" + "".join(line + "\n" for line in CSV_NULL_WORD_LINES))
    rows = {r[0]: r for r in landed_rows(_land_file(path, "csv", csv_null))}
    assert sorted(rows) == [1, 2, 3]
    # id, action, ts, name, score, points, active, created_at, day, ref, settings, tags
    assert rows[1][3] == name_of_row_1 and rows[1][4:] == (None,) * 8
    assert rows[2][3] == "NULL" and rows[2][4:] == (None,) * 8  # quoted: the text, whatever the setting
    assert rows[3][3] == "" and rows[3][4] == 1.5 and rows[3][10] == '{"size":3}'


def test_jsonl_null_as_absent_or_explicit_lands_the_same(tmp_path: Path) -> None:
    """DAP's JSONL omits a null value property (its older example writes ``"name": null``)."""
    explicit = tmp_path / "explicit.json.gz"
    with gzip.open(explicit, "wt", encoding="utf-8") as handle:
        for row in ROWS:
            value = {c: row[c] for c in VALUE_COLS}
            value["points"] = None if value["points"] is None else float(value["points"])
            handle.write(json.dumps({"meta": {"ts": row["ts"]}, "key": {"id": row["id"]}, "value": value}) + "\n")
    with gzip.open(explicit, "rt", encoding="utf-8") as handle:
        assert sum('": null' in line for line in handle) >= 5
    omitted = landed_rows(land(tmp_path, "jsonl", incremental=False))
    assert landed_rows(_land_file(explicit, "jsonl")) == omitted
    assert len(omitted) == len(ROWS) and any(r[3] is None for r in omitted)


# ---- failures of the transaction itself, and a full disk ----------------------------------------------
class CommitFails:
    """A connection whose COMMIT fails the way DuckDB's does: the transaction is gone (rolled back)
    when the error is raised, so the ROLLBACK that follows fails with "no transaction is active"."""

    def __init__(self, con: duckdb.DuckDBPyConnection, message: str) -> None:
        self._con = con
        self._message = message

    def execute(self, sql: str, *args: object) -> duckdb.DuckDBPyConnection:
        if sql.strip() == "COMMIT":
            self._con.execute("ROLLBACK")
            raise duckdb.TransactionException(self._message)
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self._con, name)


def _next_batch(tmp_path: Path) -> BatchSpec:
    path = tmp_path / "next.json.gz"
    write_jsonl(path, incremental=True)
    return BatchSpec(
        schema=SCHEMA, kind="incremental", reason="test", fmt="jsonl", files=[path], watermark=datetime(2026, 9, 3)
    )


def _unchanged(con: duckdb.DuckDBPyConnection, rows: object) -> None:
    assert con.execute("SELECT count(*) FROM raw_canvas.things").fetchone() == rows
    assert con.execute("SELECT watermark FROM cd2_meta.table_state").fetchone() == (datetime(2026, 9, 2),)


def test_a_failed_commit_raises_its_own_error_not_the_rollbacks(tmp_path: Path) -> None:
    con = land(tmp_path, "jsonl", incremental=False)
    before = con.execute("SELECT count(*) FROM raw_canvas.things").fetchone()
    failing = cast(duckdb.DuckDBPyConnection, CommitFails(con, "TransactionContext Error: Failed to commit: simulated"))
    with pytest.raises(duckdb.TransactionException, match="Failed to commit: simulated") as raised:
        land_batch(failing, _next_batch(tmp_path))
    assert "no transaction is active" in " ".join(getattr(raised.value, "__notes__", []))
    _unchanged(con, before)
    with pytest.raises(duckdb.TransactionException, match="simulated"):
        record_failure(failing, "canvas", "things", kind="incremental", reason="r", error_type="E", message="m")
    assert con.execute("SELECT last_status FROM cd2_meta.table_state").fetchone() == ("ok",)


def test_a_commit_refused_for_lack_of_space_is_a_disk_full_error(tmp_path: Path) -> None:
    con = land(tmp_path, "jsonl", incremental=False)
    before = con.execute("SELECT count(*) FROM raw_canvas.things").fetchone()
    wal = f"{tmp_path}/jsonl.duckdb.wal"
    failing = cast(
        duckdb.DuckDBPyConnection,
        CommitFails(con, f'TransactionContext Error: Failed to commit: Could not write file "{wal}": {NO_SPACE_TEXT}'),
    )
    spec = _next_batch(tmp_path)
    with pytest.raises(DiskFullError) as raised:
        land_batch(failing, spec)
    error = raised.value
    assert isinstance(error.__cause__, duckdb.TransactionException)
    assert error.what == "database's write-ahead log" and error.path == wal and error.folder == str(tmp_path)
    with gzip.open(spec.files[0], "rb") as handle:
        assert error.needed_bytes is not None and error.needed_bytes >= len(handle.read())  # the batch, uncompressed
    text = str(error)
    assert text.startswith("disk full") and wal in text and "rolled back" in text and "needs about" in text
    assert error.advice.startswith("Free at least") and error.advice not in text  # printed once, apart
    _unchanged(con, before)


def test_disk_full_is_told_from_other_errors() -> None:
    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert not is_disk_full(OSError(errno.ECONNRESET, "Connection reset by peer"))
    assert is_disk_full(duckdb.IOException(f'IO Error: Could not write file "/x/cd2.duckdb": {NO_SPACE_TEXT}'))
    assert is_disk_full(
        duckdb.FatalException(
            "FATAL Error: Failed: database has been invalidated because of a previous fatal error. "
            'Original error: "Failed to create checkpoint because of error: '
            f'Could not write file "/x": {NO_SPACE_TEXT}"'
        )
    )
    assert is_disk_full(
        duckdb.OutOfMemoryException(
            "Out of Memory Error: failed to offload data block of size 256.0 KiB (18.0 MiB/18.0 MiB used).\n"
            "This limit was set by the 'max_temp_directory_size' setting."
        )
    )
    assert not is_disk_full(duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block"))
    assert not is_disk_full(duckdb.IOException("IO Error: Input is not a GZIP stream"))
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert is_disk_full(outer)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 MiB tmpfs (root only; skipped, with the reason, where it cannot be mounted)."""
    try:
        with small_filesystem(tmp_path / "disk", 48 * 2**20) as disk:
            yield disk
    except CannotMountError as exc:
        pytest.skip(f"no small filesystem to fill: {exc}")


def test_landing_on_a_full_disk_keeps_the_state_and_lands_once_there_is_room(tiny_disk: Path, tmp_path: Path) -> None:
    con = land(tiny_disk, "jsonl", incremental=False)
    con.execute("CHECKPOINT")
    before = con.execute("SELECT count(*) FROM raw_canvas.things").fetchone()
    # a batch big enough to need new blocks: the rows many times over
    big = tmp_path / "big.json.gz"
    lines = gzip.decompress((tiny_disk / "part-00000.json.gz").read_bytes())
    with gzip.open(big, "wb", compresslevel=1) as handle:
        for _ in range(3000):
            handle.write(lines)
    spec = BatchSpec(
        schema=SCHEMA, kind="incremental", reason="test", fmt="jsonl", files=[big], watermark=datetime(2026, 9, 3)
    )
    ballast = fill_disk(tiny_disk, leave_bytes=64 * 1024)
    with pytest.raises(DiskFullError) as raised:
        land_batch(con, spec)
    error = raised.value
    assert error.folder == str(tiny_disk) and error.free_bytes is not None and error.free_bytes < 2**20
    assert error.needed_bytes is not None and error.needed_bytes >= big.stat().st_size
    con.close()
    ballast.unlink()
    con = duckdb.connect(str(tiny_disk / "jsonl.duckdb"))
    _unchanged(con, before)
    land_batch(con, spec)
    assert con.execute("SELECT watermark FROM cd2_meta.table_state").fetchone() == (datetime(2026, 9, 3),)
    con.close()


def test_a_checkpoint_on_a_full_disk_is_an_error_and_the_data_survives(tiny_disk: Path, tmp_path: Path) -> None:
    con = land(tiny_disk, "jsonl", incremental=False)
    checkpoint(con)
    assert not (tiny_disk / "jsonl.duckdb.wal").exists()
    # fewer rows than a row group: they go to the WAL, not straight into the file
    con.execute("CREATE TABLE filler (x VARCHAR)")
    con.execute("INSERT INTO filler SELECT md5(i::VARCHAR) || md5((i * 7)::VARCHAR) FROM range(100000) t(i)")
    wal = (tiny_disk / "jsonl.duckdb.wal").stat().st_size
    assert wal > 2**20
    ballast = fill_disk(tiny_disk, leave_bytes=256 * 1024)
    with pytest.raises(DiskFullError) as raised:
        checkpoint(con)
    error = raised.value
    assert error.what == "checkpoint of" and error.needed_bytes is not None and error.needed_bytes >= wal
    assert "safe in the write-ahead log" in str(error)
    con.close()  # swallows the same failure: why the explicit checkpoint exists
    ballast.unlink()
    con = duckdb.connect(str(tiny_disk / "jsonl.duckdb"))
    assert con.execute("SELECT count(*) FROM filler").fetchone() == (100000,)
    checkpoint(con)
    con.close()
    assert not (tiny_disk / "jsonl.duckdb.wal").exists()


def test_a_failed_final_checkpoint_is_kept_in_the_sync_report(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The tables' results are kept and printed; the checkpoint's failure makes the run not ok
    (exit 1) with the disk-full advice, instead of being raised past the summary."""
    from extract.landing import diskfull
    from extract.sync import results

    def full(con: object) -> None:
        raise diskfull.checkpoint_full(str(tmp_path / "cd2.duckdb"), OSError(28, "No space left on device"))

    monkeypatch.setattr(results, "checkpoint", full)
    report = results.SyncReport(results=[results.TableResult("canvas.courses", "ok", rows=3)])
    assert report.ok
    report.checkpoint(duckdb.connect())
    assert not report.ok and report.failed == []
    assert report.checkpoint_error is not None and "checkpoint of" in report.checkpoint_error
    assert "write-ahead log" in report.checkpoint_error
