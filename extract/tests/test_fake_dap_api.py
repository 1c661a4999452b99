"""The fake DAP server's endpoints: auth, metadata, jobs, errors, control endpoints, request log."""

from __future__ import annotations

import base64
import json
import time
from datetime import timedelta

import pytest
import requests

from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer, ServerConfig
from extract.tests.fake_dap_fixtures import (
    START,
    DapTestClient,
    build_small_store,
    make_advance,
    make_bump,
    make_reload,
)
from extract.tests.openapi_check import check_component, check_error, check_job
from extract.timeutil import iso_z, parse_iso


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory):
    return build_small_store(tmp_path_factory.mktemp("api") / "store")


@pytest.fixture
def store(tmp_path):
    return build_small_store(tmp_path / "store")


def serve(store, **config):
    return FakeDapServer(store, ServerConfig(**config))


def client(srv, login=True):
    c = DapTestClient(srv.url, srv.config.client_id, srv.config.client_secret)
    if login:
        assert c.login().status_code == 200
    return c


def assert_json(r):
    assert r.headers["Content-Type"].split(";")[0] == "application/json"
    return r.json()


# ---- login and bearer --------------------------------------------------------------------------------
def test_login_returns_exactly_four_keys_and_a_jwt(shared_store):
    with serve(shared_store, token_lifetime_s=1234) as srv:
        r = client(srv, login=False).login()
        body = assert_json(r)
        assert r.status_code == 200
        assert set(body) == {"access_token", "expires_in", "scope", "token_type"}
        assert body["token_type"] == "Bearer" and body["expires_in"] == 1234
        parts = body["access_token"].split(".")
        assert len(parts) == 3
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        assert isinstance(claims["exp"], int)
        assert abs(claims["exp"] - (time.time() + 1234)) < 5


def test_default_credentials_look_real():
    assert DEFAULT_CLIENT_ID.startswith("us-east-1#")
    assert DEFAULT_CLIENT_SECRET


@pytest.mark.parametrize("secret", ["wrong", ""])
def test_bad_credentials_give_401_error_shape(shared_store, secret):
    with serve(shared_store) as srv:
        r = requests.post(
            f"{srv.url}/ids/auth/login",
            auth=(DEFAULT_CLIENT_ID, secret),
            data={"grant_type": "client_credentials"},
        )
        body = assert_json(r)
        assert r.status_code == 401
        assert set(body["error"]) == {"type", "uuid", "message"}
        check_error("AuthenticationError", body)


def test_login_requires_client_credentials_grant(shared_store):
    with serve(shared_store) as srv:
        r = requests.post(f"{srv.url}/ids/auth/login", auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET), data={})
        assert r.status_code == 400 and set(assert_json(r)["error"]) == {"type", "uuid", "message"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope.nope.nope"}, {"Authorization": "Basic abc"}, {"X-InstAuth": "a.b.c"}],
)
def test_dap_routes_need_a_valid_bearer(shared_store, headers):
    with serve(shared_store) as srv:
        for method, path in [
            ("GET", "/dap/query/canvas/table"),
            ("GET", "/dap/query/canvas/table/accounts/schema"),
            ("POST", "/dap/query/canvas/table/accounts/data"),
            ("GET", "/dap/job/x"),
            ("POST", "/dap/object/url"),
        ]:
            r = requests.request(method, srv.url + path, headers=headers, json={"format": "jsonl"})
            assert r.status_code == 401, path
            check_error("AuthenticationError", assert_json(r))


def test_token_from_another_server_is_rejected(shared_store):
    with serve(shared_store) as one, serve(shared_store) as two:
        token = client(one).token
        r = requests.get(f"{two.url}/dap/query/canvas/table", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401


def test_deprecated_x_instauth_header_is_accepted(shared_store):
    with serve(shared_store) as srv:
        token = client(srv).token
        r = requests.get(f"{srv.url}/dap/query/canvas/table", headers={"X-InstAuth": token})
        assert r.status_code == 200


def test_expired_token_gives_401(shared_store):
    with serve(shared_store, token_lifetime_s=1) as srv:
        c = client(srv)
        assert c.get("/dap/query/canvas/table").status_code == 200
        time.sleep(1.1)
        r = c.get("/dap/query/canvas/table")
        assert r.status_code == 401
        check_error("AuthenticationError", r.json())


# ---- tables and schemas ------------------------------------------------------------------------------
def test_list_tables_per_namespace(shared_store):
    with serve(shared_store) as srv:
        c = client(srv)
        body = assert_json(c.get("/dap/query/canvas/table"))
        check_component("TableList", body)
        assert body == {"tables": [q.split(".")[1] for q in shared_store.tables("canvas")]}
        assert c.get("/dap/query/canvas_logs/table").json() == {"tables": ["web_logs"]}
        for empty in ("catalog", "new_quizzes"):
            assert c.get(f"/dap/query/{empty}/table").json() == {"tables": []}
        assert c.get("/dap/beta/query/canvas/table?scope=abc").json() == body


def test_unknown_namespace_is_404_namespace(shared_store):
    with serve(shared_store) as srv:
        r = client(srv).get("/dap/query/nosuch/table")
        body = assert_json(r)
        assert r.status_code == 404
        check_error("NotFoundError", body)
        assert body["error"]["type"] == "ObjectNotFound"
        assert body["error"]["kind"] == "namespace" and body["error"]["id"] == "nosuch"
        assert body["error"]["message"] == "The namespace 'nosuch' specified in the request is not valid."


def test_schema_endpoint(shared_store):
    with serve(shared_store) as srv:
        c = client(srv)
        body = assert_json(c.get("/dap/query/canvas/table/courses/schema"))
        check_component("VersionedSchema", body)
        expected = shared_store.schema("canvas.courses")
        assert body == {"schema": expected.to_dap_schema(), "version": expected.version}
        assert "$schema" in body["schema"] and set(body["schema"]["properties"]) == {"meta", "key", "value"}
        r = c.get("/dap/query/canvas/table/nosuch/schema")
        assert r.status_code == 404
        check_error("NotFoundError", r.json())
        assert r.json()["error"]["kind"] == "table" and r.json()["error"]["id"] == "nosuch"


def test_schema_version_bump_and_control_state(store):
    with FakeDapServer(store, ServerConfig(), bump_schema=make_bump(store)) as srv:
        c = client(srv)
        assert c.get("/dap/query/canvas/table/accounts/schema").json()["version"] == 1
        r = requests.post(f"{srv.url}/__fake__/bump_schema", json={"table": "canvas.accounts"})
        assert r.json() == {"table": "canvas.accounts", "version": 2}
        body = c.get("/dap/query/canvas/table/accounts/schema").json()
        assert body["version"] == 2 and "extra_1" in body["schema"]["properties"]["value"]["properties"]
        state = requests.get(f"{srv.url}/__fake__/state").json()
        assert state["tables"]["canvas.accounts"]["version"] == 2
        assert state["now"] == iso_z(store.now)
        job = c.create_job("canvas.accounts", format="jsonl").json()
        assert job["schema_version"] == 2


# ---- query validation --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"format": "xml"}, "format"),
        ({"mode": "condensed"}, "format"),
        ({"format": "tsv", "mode": "flat"}, "mode"),
        ({"format": "tsv", "since": "2026-01-01T00:00:00"}, "since"),
        ({"format": "tsv", "since": "yesterday"}, "since"),
        ({"format": "tsv", "until": "2026-01-01T00:00:00Z"}, "until"),
        ({"format": "tsv", "filter": {}}, "filter"),
        ({"format": "tsv", "extra": 1}, "extra"),
        ([{"format": "tsv"}], "object"),
    ],
)
def test_bad_query_bodies_give_validation_error_with_location(shared_store, body, fragment):
    with serve(shared_store) as srv:
        r = client(srv).post("/dap/query/canvas/table/accounts/data", json=body)
        payload = assert_json(r)
        assert r.status_code == 400
        check_error("ValidationError", payload)
        assert fragment in payload["error"]["message"]
        assert all(payload["error"]["location"][k] >= 1 for k in ("line", "column", "character"))


def test_malformed_json_location_points_at_the_error(shared_store):
    with serve(shared_store) as srv:
        text = '{"format": "tsv",\n  "since": }'
        r = client(srv).post(
            "/dap/query/canvas/table/accounts/data", data=text, headers={"Content-Type": "application/json"}
        )
        assert r.status_code == 400
        location = r.json()["error"]["location"]
        assert location == {"line": 2, "column": 12, "character": text.index("}") + 1}


def test_unknown_table_on_data_is_404(shared_store):
    with serve(shared_store) as srv:
        r = client(srv).create_job("canvas.nosuch", format="jsonl")
        assert r.status_code == 404 and r.json()["error"]["kind"] == "table"
        r = client(srv).create_job("nosuch.accounts", format="jsonl")
        assert r.status_code == 404 and r.json()["error"]["kind"] == "namespace"


# ---- jobs --------------------------------------------------------------------------------------------
def test_immediate_snapshot_job_shape(shared_store):
    with serve(shared_store) as srv:
        c = client(srv)
        r = c.create_job("canvas.accounts", format="tsv", mode="condensed")
        body = assert_json(r)
        assert r.status_code == 200
        assert set(body) == {"id", "status", "expires_at", "objects", "schema_version", "at"}
        assert check_job(body) == "CompleteSnapshotJob"
        assert body["at"] == iso_z(shared_store.now)
        assert parse_iso(body["expires_at"]) > parse_iso(iso_z(START))
        got = c.get(f"/dap/job/{body['id']}")
        assert got.status_code == 200 and got.json() == body


def test_incremental_job_shape_and_until_default(shared_store):
    with serve(shared_store) as srv:
        c = client(srv)
        since = iso_z(START - timedelta(hours=1))
        body = c.create_job("canvas.accounts", format="jsonl", since=since).json()
        assert set(body) == {"id", "status", "expires_at", "objects", "schema_version", "since", "until"}
        assert check_job(body) == "CompleteIncrementalJob"
        assert body["since"] == since and body["until"] == iso_z(shared_store.now)
        explicit = c.create_job("canvas.accounts", format="jsonl", since=since, until=iso_z(START)).json()
        assert explicit["until"] == iso_z(START) and explicit["id"] != body["id"]


def test_polls_job_lifecycle(shared_store):
    with serve(shared_store, job_completion="polls:2") as srv:
        c = client(srv)
        r = c.create_job("canvas.courses", format="jsonl")
        assert r.status_code == 202
        created = r.json()
        assert check_job(created) == "TableJob" and created["status"] == "waiting"
        assert set(created) == {"id", "status"}
        first = c.get(f"/dap/job/{created['id']}")
        assert first.status_code == 202 and first.json()["status"] == "running"
        assert set(first.json()) == {"id", "status", "expires_at"}
        check_job(first.json())
        # Complete from the second poll on, once the background rendering has finished too.
        polls, second = 2, c.get(f"/dap/job/{created['id']}")
        while second.status_code == 202 and polls < 200:
            time.sleep(0.05)
            polls, second = polls + 1, c.get(f"/dap/job/{created['id']}")
        assert second.status_code == 200 and second.json()["status"] == "complete"
        check_job(second.json())


def test_seconds_job_lifecycle(shared_store):
    with serve(shared_store, job_completion="seconds:0.5") as srv:
        c = client(srv)
        job = c.create_job("canvas.accounts", format="csv").json()
        assert job["status"] == "waiting"
        assert c.get(f"/dap/job/{job['id']}").json()["status"] == "running"
        time.sleep(0.6)
        assert c.get(f"/dap/job/{job['id']}").json()["status"] == "complete"


def test_configured_failure_gives_failed_job_with_error(shared_store):
    with serve(shared_store, job_completion="fail") as srv:
        r = client(srv).create_job("canvas.accounts", format="tsv")
        body = r.json()
        assert r.status_code == 200
        assert set(body) == {"id", "status", "expires_at", "error"}
        assert check_job(body) == "FailedJob" and body["status"] == "failed"
        assert set(body["error"]) == {"type", "uuid", "message"}


def test_identical_query_reuses_job_and_expires_at(shared_store):
    with serve(shared_store) as srv:
        c = client(srv)
        first = c.create_job("canvas.accounts", format="jsonl", mode="expanded").json()
        time.sleep(0.05)
        again = c.create_job("canvas.accounts", format="jsonl").json()  # default mode is expanded
        assert again == first
        other = c.create_job("canvas.accounts", format="jsonl", mode="condensed").json()
        assert other["id"] != first["id"]
        since = iso_z(START - timedelta(hours=1))
        a = c.create_job("canvas.accounts", format="tsv", since=since).json()
        b = c.create_job("canvas.accounts", format="tsv", since=since.replace("Z", "+00:00")).json()
        assert a["id"] == b["id"]


def test_store_change_makes_a_new_job(store):
    with FakeDapServer(store, ServerConfig(), advance=make_advance(store)) as srv:
        c = client(srv)
        first = c.create_job("canvas.courses", format="jsonl").json()
        r = requests.post(f"{srv.url}/__fake__/advance", json={"hours": 4})
        assert r.status_code == 200 and r.json() == {"now": iso_z(START + timedelta(hours=4))}
        second = c.create_job("canvas.courses", format="jsonl").json()
        assert second["id"] != first["id"] and second["at"] == iso_z(START + timedelta(hours=4))


def test_unknown_job_is_404_kind_job(shared_store):
    with serve(shared_store) as srv:
        r = client(srv).get("/dap/job/00000000-0000-4000-8000-000000000000")
        body = assert_json(r)
        assert r.status_code == 404
        check_error("NotFoundError", body)
        assert body["error"]["message"] == "Job does not exist."
        assert body["error"]["kind"] == "job" and body["error"]["id"] == "00000000-0000-4000-8000-000000000000"


def test_job_expiry_by_ttl(shared_store):
    with serve(shared_store, job_ttl_s=0.5) as srv:
        c = client(srv)
        job = c.create_job("canvas.accounts", format="jsonl").json()
        url = c.url_for(job["objects"][0]["id"])
        time.sleep(0.6)
        assert c.get(f"/dap/job/{job['id']}").status_code == 404
        r = c.post("/dap/object/url", json=[{"id": job["objects"][0]["id"]}])
        assert r.status_code == 404 and r.json()["error"]["kind"] == "object"
        assert requests.get(url).status_code == 404  # objects are gone with the job
        again = c.create_job("canvas.accounts", format="jsonl").json()
        assert again["id"] != job["id"]


# ---- incremental range errors ------------------------------------------------------------------------
def test_snapshot_required_after_reload(store):
    with FakeDapServer(store, ServerConfig(), reload=make_reload(store)) as srv:
        c = client(srv)
        before = iso_z(store.now)
        r = requests.post(f"{srv.url}/__fake__/reload", json={"table": "canvas.courses"})
        reload_at = r.json()["reload_at"]
        r = c.create_job("canvas.courses", format="tsv", mode="condensed", since=before)
        body = assert_json(r)
        assert r.status_code == 400
        assert set(body["error"]) == {"type", "uuid", "message", "since", "until"}
        check_error("SnapshotRequiredError", body)
        assert body["error"]["type"] == "SnapshotRequired"
        assert body["error"]["since"] == reload_at and body["error"]["until"] == iso_z(store.now)
        # a new snapshot's ``at`` is a valid since again
        at = c.create_job("canvas.courses", format="tsv").json()["at"]
        assert c.create_job("canvas.courses", format="tsv", since=at).status_code == 200
        # other tables are unaffected
        assert c.create_job("canvas.accounts", format="tsv", since=before).status_code == 200


def test_out_of_range_since_in_the_future(shared_store):
    with serve(shared_store) as srv:
        future = iso_z(shared_store.now + timedelta(seconds=1))
        r = client(srv).create_job("canvas.accounts", format="jsonl", since=future)
        body = r.json()
        assert r.status_code == 400 and body["error"]["type"] == "OutOfRange"
        check_error("OutOfRangeError", body)
        assert body["error"]["until"] == iso_z(shared_store.now)


def test_web_logs_retention(shared_store):
    with serve(shared_store) as srv:
        c = client(srv)
        limit = shared_store.now - timedelta(days=30)
        r = c.create_job("canvas_logs.web_logs", format="jsonl", since=iso_z(limit - timedelta(seconds=1)))
        body = r.json()
        assert r.status_code == 400
        check_error("OutOfRangeError", body)
        assert body["error"]["since"] == iso_z(limit) and body["error"]["until"] == iso_z(shared_store.now)
        assert c.create_job("canvas_logs.web_logs", format="jsonl", since=iso_z(limit)).status_code == 200
        # canvas tables have no retention limit
        old = iso_z(START - timedelta(days=400))
        assert c.create_job("canvas.accounts", format="jsonl", since=old).status_code == 200


# ---- object urls -------------------------------------------------------------------------------------
def test_object_url_shape_and_errors(shared_store):
    with serve(shared_store, rows_per_file=4) as srv:
        c = client(srv)
        job = c.create_job("canvas.accounts", format="tsv").json()
        ids = [o["id"] for o in job["objects"]]
        assert len(ids) == 3  # 10 rows, 4 per file
        r = c.post("/dap/object/url", json=[{"id": i} for i in ids])
        body = assert_json(r)
        check_component("ResourceResult", body)
        assert set(body["urls"]) == set(ids)
        for object_id, resource in body["urls"].items():
            assert resource["url"].split("?")[0].endswith("/" + object_id.split("/")[-1])
        missing = c.post("/dap/object/url", json=[{"id": f"{job['id']}/part-99999.tsv.gz"}])
        assert missing.status_code == 404
        check_error("NotFoundError", missing.json())
        assert missing.json()["error"]["kind"] == "object"
        for bad in ({"id": ids[0]}, [{"ID": ids[0]}], [ids[0]], "nope"):
            r = c.post("/dap/object/url", json=bad)
            assert r.status_code == 400
            check_error("ValidationError", r.json())


def test_download_route_needs_valid_signature_and_sets_no_content_encoding(shared_store):
    with serve(shared_store) as srv:
        c = client(srv)
        job = c.create_job("canvas.accounts", format="jsonl").json()
        url = c.url_for(job["objects"][0]["id"])
        r = requests.get(url, headers={"Accept-Encoding": "gzip"})
        assert r.status_code == 200
        assert "Content-Encoding" not in r.headers
        assert r.headers["Content-Type"] == "application/octet-stream"
        assert int(r.headers["Content-Length"]) == len(r.content) and r.content[:2] == b"\x1f\x8b"
        tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
        assert requests.get(tampered).status_code == 403
        ranged = requests.get(url, headers={"Range": "bytes=10-"})
        assert ranged.status_code == 206 and ranged.content == r.content[10:]


def test_url_ttl_expiry(shared_store):
    with serve(shared_store, url_ttl_s=0.3) as srv:
        c = client(srv)
        job = c.create_job("canvas.accounts", format="jsonl").json()
        url = c.url_for(job["objects"][0]["id"])
        assert requests.get(url).status_code == 200
        time.sleep(0.4)
        r = requests.get(url)
        assert r.status_code == 403 and b"expired" in r.content


# ---- plumbing ----------------------------------------------------------------------------------------
def test_every_api_response_is_json_even_errors(shared_store):
    with serve(shared_store) as srv:
        for method, path in [("GET", "/nope"), ("DELETE", "/dap/query/canvas/table"), ("GET", "/ids/auth/login")]:
            r = requests.request(method, srv.url + path)
            assert r.status_code in (404, 405)
            assert set(assert_json(r)["error"]) == {"type", "uuid", "message"} | (
                {"id", "kind"} if r.status_code == 404 else set()
            )


def test_request_log_has_no_secrets(shared_store):
    with serve(shared_store) as srv:
        c = client(srv)
        c.session.headers["traceparent"] = "00-1234-0000000000000001-00"
        job = c.create_job("canvas.accounts", format="jsonl").json()
        c.download(job["objects"][0]["id"])
        records = srv.request_log.wait_for(4)
        assert [r.endpoint for r in records] == ["login", "create_job", "object_url", "download"]
        assert [r.status for r in records] == [200, 200, 200, 200]
        assert records[1].table == "canvas.accounts" and records[3].table == "canvas.accounts"
        assert records[1].headers["traceparent"] == "00-1234-0000000000000001-00"
        assert records[1].auth == "bearer"
        dump = json.dumps(requests.get(f"{srv.url}/__fake__/requests").json())
        assert c.token not in dump and DEFAULT_CLIENT_SECRET not in dump
        assert "X-Amz-Signature" not in dump and "<redacted>" in dump


def test_control_endpoints_without_hooks_answer_501(shared_store):
    with serve(shared_store) as srv:
        r = requests.post(f"{srv.url}/__fake__/advance", json={"hours": 1})
        assert r.status_code == 501 and "advance" in r.json()["error"]["message"]
        assert requests.post(f"{srv.url}/__fake__/advance", json={"hours": "x"}).status_code == 400


def test_config_refuses_non_loopback_hosts():
    with pytest.raises(ValueError, match="loopback"):
        ServerConfig(host="0.0.0.0")
    with pytest.raises(ValueError, match="job_completion"):
        ServerConfig(job_completion="sometimes")
