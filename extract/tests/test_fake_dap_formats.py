"""Output files of the fake DAP server, parsed independently and compared with the store's truth."""

from __future__ import annotations

import gzip
import io
import zlib
from datetime import timedelta

import pyarrow.parquet as pq
import pytest

from extract.fake_dap import FakeDapServer, ServerConfig
from extract.tests.fake_dap_fixtures import (
    START,
    TRICKY,
    DapTestClient,
    build_small_store,
    expected_records,
    header_of,
    make_advance,
    parse_records,
)
from extract.timeutil import iso_z

TABLES = [
    "canvas.courses",
    "canvas.accounts",
    "canvas.enrollment_states",
    "canvas.assignment_groups",
    "canvas.late_policies",
    "canvas_logs.web_logs",
]
FORMATS = ["jsonl", "tsv", "csv", "parquet"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = build_small_store(tmp_path_factory.mktemp("formats") / "store")
    make_advance(store)(3)  # updates, deletes, inserts, delete+reinsert, insert+delete after START
    return store


@pytest.fixture(scope="module")
def srv(store):
    with FakeDapServer(store, ServerConfig(rows_per_file=7)) as server:
        yield server


@pytest.fixture(scope="module")
def client(srv):
    c = DapTestClient(srv.url, srv.config.client_id, srv.config.client_secret)
    assert c.login().status_code == 200
    return c


def fetch(client, store, qname, fmt, mode, incremental, csv_null="empty"):
    body = {"format": fmt, "mode": mode}
    if incremental:
        body["since"] = iso_z(START)
    job = client.create_job(qname, **body).json()
    assert job["status"] == "complete", job
    schema = store.schema(qname)
    got: dict = {}
    files = client.job_files(job)
    for _, data in files:
        part = parse_records(fmt, mode, data, schema, incremental, csv_null)
        assert not set(part) & set(got), "a key appears in two parts"
        got.update(part)
    return job, files, got


def truth(store, qname, incremental, closed_open=False):
    schema = store.schema(qname)
    if incremental:
        sql = store.window_sql(qname, START, store.now, closed_open=closed_open)
    else:
        retention = store.now - timedelta(days=30) if qname.endswith("web_logs") else None
        sql = store.truth_sql(qname, store.now, retention)
    return expected_records(store, sql, schema, incremental)


@pytest.mark.parametrize("qname", TABLES)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("mode", ["expanded", "condensed"])
@pytest.mark.parametrize("incremental", [False, True], ids=["snapshot", "incremental"])
def test_content_matches_store_truth(store, client, qname, fmt, mode, incremental):
    _, files, got = fetch(client, store, qname, fmt, mode, incremental)
    expected = truth(store, qname, incremental)
    assert got == expected
    assert len(files) == max(1, -(-len(expected) // 7))


def test_incremental_has_deletes_reinserts_and_unseen_deletes(store, client):
    _, _, got = fetch(client, store, "canvas.courses", "jsonl", "condensed", True)
    actions = {key[0]: rec["action"] for key, rec in got.items()}
    assert actions[6] == actions[7] == "D"  # deleted
    assert actions[8] == "U"  # deleted then re-inserted: latest wins
    assert actions[111] == "D"  # inserted then deleted inside the window: a D for an unseen key
    assert got[(1,)]["value"]["name"].startswith("v1 again")  # changed twice: latest version
    assert got[(6,)]["value"] is None


def test_tricky_strings_survive_every_text_format(store, client):
    for fmt in ("jsonl", "tsv", "csv"):
        _, _, got = fetch(client, store, "canvas.accounts", fmt, "condensed", False)
        names = {rec["value"].get("name") for rec in got.values()}
        expected_names = {TRICKY[i % len(TRICKY)] for i in range(2, 11)}
        assert expected_names <= names, fmt


@pytest.mark.parametrize("fmt", ["tsv", "csv"])
def test_headers_snapshot_has_no_meta_action(store, client, fmt):
    _, snap, _ = fetch(client, store, "canvas.courses", fmt, "condensed", False)
    _, inc, _ = fetch(client, store, "canvas.courses", fmt, "condensed", True)
    for _, data in snap:
        header = header_of(fmt, data)
        assert header[:2] == ["meta.ts", "key.id"] and "meta.action" not in header
        assert "value.settings" in header
    for _, data in inc:
        assert header_of(fmt, data)[:3] == ["meta.ts", "meta.action", "key.id"]
    _, expanded, _ = fetch(client, store, "canvas.courses", fmt, "expanded", False)
    header = header_of(fmt, expanded[0][1])
    assert "value.settings" not in header and "value.settings.course_format" in header


def test_tsv_escapes_and_nulls_on_the_wire(store, client):
    _, files, _ = fetch(client, store, "canvas.accounts", "tsv", "condensed", False)
    text = b"".join(gzip.decompress(d) for _, d in files).decode("utf-8")
    assert "renamed\\taccount" in text and "new\\nline" in text and "back\\\\slash" in text
    assert "\\N" in text and "\\\\N" in text  # NULL vs the literal string \N
    assert "cr\\rlf\\r\\n" in text
    _, files, _ = fetch(client, store, "canvas.courses", "tsv", "condensed", False)
    text = b"".join(gzip.decompress(d) for _, d in files).decode("utf-8")
    assert "ctrl\\b\\f\\v\x01" in text  # other control characters pass through unescaped


def test_tsv_condensed_json_and_all_null_object(store, client):
    _, files, _ = fetch(client, store, "canvas.courses", "tsv", "condensed", False)
    lines = [line for _, d in files for line in gzip.decompress(d).decode().split("\n")[1:] if line]
    settings = {int(line.split("\t")[1]): line.split("\t")[-1] for line in lines}
    assert settings[2] == "\\N"  # {"course_format": null} -> NULL, not {}
    assert settings[1] == "\\N"
    assert settings[3].startswith("{") and '"hide_final_grade"' not in settings[3]


def test_csv_quoting_rules_on_the_wire(store, client):
    _, files, _ = fetch(client, store, "canvas.accounts", "csv", "condensed", False)
    text = b"".join(gzip.decompress(d) for _, d in files).decode("utf-8")
    assert ',"",' in text  # empty string quoted
    assert '"quote""d"' in text and '"comma,here"' in text and '"new\nline"' in text


def test_csv_null_literal_option(tmp_path):
    store = build_small_store(tmp_path / "store")
    with FakeDapServer(store, ServerConfig(csv_null="NULL")) as server:
        c = DapTestClient(server.url, server.config.client_id, server.config.client_secret)
        c.login()
        _, files, got = fetch(c, store, "canvas.accounts", "csv", "condensed", False, csv_null="NULL")
        assert got == truth(store, "canvas.accounts", False)
        text = gzip.decompress(files[0][1]).decode()
        assert ",NULL," in text and '"NULL"' in text  # NULL vs the string "NULL"


def test_jsonl_records_on_the_wire(store, client):
    _, snap, _ = fetch(client, store, "canvas.courses", "jsonl", "condensed", False)
    first = gzip.decompress(snap[0][1]).decode().split("\n")[0]
    assert first.startswith('{"meta":{"ts":"') and '"action"' not in first and ":null" not in first
    _, inc, _ = fetch(client, store, "canvas.courses", "jsonl", "condensed", True)
    lines = gzip.decompress(inc[0][1]).decode().split("\n")
    deletes = [line for line in lines if '"action":"D"' in line]
    assert deletes and all('"value"' not in line for line in deletes)


def test_parquet_layout(store, client):
    _, files, _ = fetch(client, store, "canvas.courses", "parquet", "expanded", True)
    name = files[0][0].rsplit("/", 1)[1]
    assert name.endswith("-c000.snappy.parquet")
    table = pq.read_table(io.BytesIO(files[0][1]))
    assert table.column_names[:3] == ["meta.ts", "meta.action", "key.id"]
    assert str(table.schema.field("meta.ts").type) == "timestamp[us]"
    assert "value.settings.course_format" in table.column_names
    meta = pq.ParquetFile(io.BytesIO(files[0][1])).metadata
    assert meta.row_group(0).column(0).compression == "SNAPPY"


def test_file_names_and_single_member_gzip(store, client):
    for fmt, ext in (("jsonl", "json"), ("tsv", "tsv"), ("csv", "csv")):
        job, files, _ = fetch(client, store, "canvas.courses", fmt, "condensed", False)
        for index, (object_id, data) in enumerate(files):
            job_id, name = object_id.split("/")
            assert job_id == job["id"]
            assert name.startswith(f"part-{index:05d}-") and name.endswith(f"-c000.{ext}.gz")
            assert data[4:8] == b"\0\0\0\0"  # gzip mtime 0
            decomp = zlib.decompressobj(16 + zlib.MAX_WBITS)  # what the official client does
            decomp.decompress(data)
            assert decomp.eof and decomp.unused_data == b""  # exactly one member


def test_empty_result_gives_one_header_only_part(store, client):
    for fmt in FORMATS:
        job = client.create_job("canvas.late_policies", format=fmt, since=iso_z(START)).json()
        assert len(job["objects"]) == 1
        data = client.job_files(job)[0][1]
        if fmt == "parquet":
            assert pq.read_table(io.BytesIO(data)).num_rows == 0
        else:
            text = gzip.decompress(data).decode()
            assert text == ("" if fmt == "jsonl" else text.split("\n")[0] + "\n")


def test_closed_open_window(tmp_path):
    store = build_small_store(tmp_path / "store")
    make_advance(store)(3)
    boundary = START + timedelta(seconds=600)  # courses 1..5 changed exactly at this ts
    for window, closed_open in (("open-closed", False), ("closed-open", True)):
        with FakeDapServer(store, ServerConfig(window=window)) as server:
            c = DapTestClient(server.url, server.config.client_id, server.config.client_secret)
            c.login()
            job = c.create_job("canvas.courses", format="jsonl", since=iso_z(boundary)).json()
            got = {}
            for _, data in c.job_files(job):
                got.update(parse_records("jsonl", "expanded", data, store.schema("canvas.courses"), True))
            sql = store.window_sql("canvas.courses", boundary, store.now, closed_open=closed_open)
            assert got == expected_records(store, sql, store.schema("canvas.courses"), True)
            assert ((2,) in got) == closed_open  # changed at exactly `since`


def test_determinism_across_servers(tmp_path, store):
    outputs = []
    for n in range(2):
        with FakeDapServer(store, ServerConfig(rows_per_file=7, cache_dir=tmp_path / f"cache{n}")) as server:
            c = DapTestClient(server.url, server.config.client_id, server.config.client_secret)
            c.login()
            run = []
            for fmt in FORMATS:
                job = c.create_job("canvas.courses", format=fmt, since=iso_z(START)).json()
                run.append((job["id"], c.job_files(job)))
            outputs.append(run)
    assert outputs[0] == outputs[1]


def test_web_logs_snapshot_keeps_only_the_retention_window(store, client):
    _, _, got = fetch(client, store, "canvas_logs.web_logs", "jsonl", "expanded", False)
    limit = store.now - timedelta(days=30)
    assert got and all(rec["ts"] > limit for rec in got.values())
    assert len(got) < 45  # 40 base rows over 40 days + 5 new: the oldest are gone
