"""Landing: the four formats land identical rows; a batch commits whole or not at all."""

from __future__ import annotations

import csv
import gzip
import io
import json
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extract.landing import batch
from extract.landing.batch import BatchSpec, land_batch, record_failure
from extract.landing.readers import HUGE_RECORD_BYTES, JSON_OBJECT_BYTES, FileFormatError
from extract.schema import Column, TableSchema

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
    if col in ("settings", "tags"):
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
