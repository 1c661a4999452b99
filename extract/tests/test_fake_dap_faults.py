"""Fault injection and rate limits: every fault kind is observable by a plain HTTP client."""

from __future__ import annotations

import gzip
import time

import pytest
import requests

from extract.dap.errors import JobFailedError, NotFoundError
from extract.fake_dap import FakeDapServer, Fault, ServerConfig
from extract.fake_dap.config import FORBIDDEN_TYPES
from extract.tests.fake_dap_fixtures import DapTestClient, build_small_store
from extract.tests.openapi_check import check_component, check_error, check_job
from extract.tests.sync_helpers import fast_client
from extract.timeutil import parse_iso


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_small_store(tmp_path_factory.mktemp("faults") / "store")


@pytest.fixture
def srv(store):
    with FakeDapServer(store, ServerConfig()) as server:
        yield server


def login(server):
    c = DapTestClient(server.url, server.config.client_id, server.config.client_secret)
    assert c.login().status_code == 200
    return c


def complete_job(c, qname="canvas.accounts", **body):
    r = c.create_job(qname, **{"format": "jsonl", **body})
    assert r.status_code == 200, r.text
    return r.json()


# ---- whole-response faults -----------------------------------------------------------------------------
@pytest.mark.parametrize("status", [500, 503])
def test_http_status_fault_fires_times_then_stops(srv, status):
    c = login(srv)
    srv.faults.add(Fault(kind="http_status", endpoint="create_job", status=status, times=2))
    for _ in range(2):
        r = c.create_job("canvas.accounts", format="jsonl")
        assert r.status_code == status
        assert r.headers["Content-Type"].startswith("application/json")
        check_error("ProcessingError", r.json())  # what the client maps a 5xx type/uuid/message body to
    assert c.create_job("canvas.accounts", format="jsonl").status_code == 200
    assert [r.fault for r in srv.request_log.wait_for(3, "create_job")] == ["http_status", "http_status", None]


def test_fault_targets_endpoint_and_table(srv):
    c = login(srv)
    srv.faults.add(Fault(kind="http_status", endpoint="create_job", table="courses", status=500, times=None))
    assert c.create_job("canvas.accounts", format="jsonl").status_code == 200
    assert c.get("/dap/query/canvas/table/courses/schema").status_code == 200
    for _ in range(3):
        assert c.create_job("canvas.courses", format="jsonl").status_code == 500
    srv.faults.clear()
    assert c.create_job("canvas.courses", format="jsonl").status_code == 200


def test_rate_limit_fault_has_retry_after_and_json(srv):
    c = login(srv)
    job = complete_job(c)
    srv.faults.add(Fault(kind="rate_limit", endpoint="get_job", retry_after=7))
    r = c.get(f"/dap/job/{job['id']}")
    assert r.status_code == 429 and r.headers["Retry-After"] == "7"
    assert set(r.json()["error"]) == {"type", "uuid", "message"}
    assert c.get(f"/dap/job/{job['id']}").status_code == 200


def test_html_502_is_not_json(srv):
    c = login(srv)
    srv.faults.add(Fault(kind="html_502", endpoint="list_tables"))
    r = c.get("/dap/query/canvas/table")
    assert r.status_code == 502 and r.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        r.json()


def test_gateway_timeout_body(srv):
    c = login(srv)
    srv.faults.add(Fault(kind="gateway_timeout", endpoint="schema"))
    r = c.get("/dap/query/canvas/table/accounts/schema")
    assert r.status_code == 504 and set(r.json()["error"]) == {"message"}
    check_error("GatewayTimeoutError", r.json())


@pytest.mark.parametrize("error_type", FORBIDDEN_TYPES)
def test_forbidden_fault(srv, error_type):
    c = login(srv)
    srv.faults.add(Fault(kind="forbidden", endpoint="create_job", error_type=error_type))
    r = c.create_job("canvas.accounts", format="jsonl")
    assert r.status_code == 403 and r.json()["error"]["type"] == error_type
    assert set(r.json()["error"]) == {"type", "uuid", "message"}


def test_forbidden_config_switch(store):
    with FakeDapServer(store, ServerConfig(forbidden="AccountDisabled")) as server:
        c = login(server)  # login itself still works
        r = c.get("/dap/query/canvas/table")
        assert r.status_code == 403 and r.json()["error"]["type"] == "AccountDisabled"


def test_drop_connection_on_api_call(srv):
    c = login(srv)
    srv.faults.add(Fault(kind="drop_connection", endpoint="create_job"))
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(
            f"{srv.url}/dap/query/canvas/table/accounts/data",
            json={"format": "jsonl"},
            headers={"Authorization": f"Bearer {c.token}"},
        )
    assert srv.request_log.select("create_job")[-1].status == 0
    assert c.create_job("canvas.accounts", format="jsonl").status_code == 200


def test_delay_fault(srv):
    c = login(srv)
    srv.faults.add(Fault(kind="delay", endpoint="list_tables", seconds=0.4))
    started = time.perf_counter()
    assert c.get("/dap/query/canvas/table").status_code == 200
    assert time.perf_counter() - started >= 0.4


# ---- tokens ----------------------------------------------------------------------------------------------
def test_token_revocation(srv):
    c = login(srv)
    assert c.get("/dap/query/canvas/table").status_code == 200
    srv.faults.add(Fault(kind="token_revoked", endpoint="list_tables"))
    r = c.get("/dap/query/canvas/table")
    assert r.status_code == 401
    check_error("AuthenticationError", r.json())
    assert c.get("/dap/query/canvas/table/accounts/schema").status_code == 401  # stays revoked
    assert c.login().status_code == 200
    assert c.get("/dap/query/canvas/table").status_code == 200


def test_short_lived_token_fault(srv):
    c = login(srv)
    srv.faults.add(Fault(kind="token_expiry", endpoint="login", lifetime_s=1))
    r = c.login()
    assert r.json()["expires_in"] == 1
    assert c.get("/dap/query/canvas/table").status_code == 200
    time.sleep(1.2)
    assert c.get("/dap/query/canvas/table").status_code == 401
    srv.faults.add(Fault(kind="token_expiry", endpoint="login", lifetime_s=0))
    assert c.login().json()["expires_in"] == 0
    assert c.get("/dap/query/canvas/table").status_code == 401


# ---- jobs and urls ---------------------------------------------------------------------------------------
def test_job_failure_fault(srv):
    c = login(srv)
    srv.faults.add(Fault(kind="job_failure", endpoint="create_job", error_type="ProcessingError", message="boom"))
    r = c.create_job("canvas.courses", format="tsv")
    body = r.json()
    assert r.status_code == 200 and body["status"] == "failed"
    assert check_job(body) == "FailedJob"
    assert body["error"]["type"] == "ProcessingError" and body["error"]["message"] == "boom"
    assert c.get(f"/dap/job/{body['id']}").json()["status"] == "failed"
    retry = c.create_job("canvas.courses", format="tsv").json()  # a failed job is not reused
    assert retry["status"] == "complete" and retry["id"] != body["id"]


def test_job_failure_fires_while_the_identical_querys_job_is_live(srv):
    """Reuse used to hand back the live complete job and swallow the fault."""
    c = login(srv)
    first = complete_job(c, "canvas.courses", format="jsonl")
    fault = Fault(kind="job_failure", endpoint="create_job", message="injected while reusable")
    srv.faults.add(fault)
    with fast_client(srv.url) as client:
        job = client.start_job("canvas", "courses", {"format": "jsonl"})
        with pytest.raises(JobFailedError, match="injected while reusable"):
            client.wait_for_job(job)
        assert fault.fired == 1 and srv.faults.history[-1]["kind"] == "job_failure"
        assert job.status == "failed" and job.id != first["id"]
        again = client.wait_for_job(client.start_job("canvas", "courses", {"format": "jsonl"}))
        assert again.status == "complete" and again.objects  # the failed job is not reused


GET_JOB_FAULTS = {
    "503": Fault(kind="http_status", endpoint="get_job", status=503),
    "429": Fault(kind="rate_limit", endpoint="get_job", retry_after=0),
    "504": Fault(kind="gateway_timeout", endpoint="get_job"),
    "html 502": Fault(kind="html_502", endpoint="get_job"),
    "dropped connection": Fault(kind="drop_connection", endpoint="get_job"),
}


@pytest.mark.parametrize("name", sorted(GET_JOB_FAULTS))
def test_get_job_fault_fires_with_immediate_jobs(srv, name):
    """An armed GET-job fault makes the POST answer a job still to poll, so the fault has a GET to hit."""
    assert srv.config.completion.immediate
    c = login(srv)
    complete_job(c, "canvas.accounts", format="jsonl")  # a complete job the same query could reuse
    fault = GET_JOB_FAULTS[name]
    srv.faults.add(fault)
    with fast_client(srv.url) as client:
        job = client.start_job("canvas", "accounts", {"format": "jsonl"})
        assert job.status in ("waiting", "running")
        done = client.wait_for_job(job, first_poll_s=0.01)
        assert done.status == "complete" and done.objects
        assert fault.fired == 1 and srv.faults.history == [
            {"kind": fault.kind, "endpoint": "get_job", "table": "canvas.accounts"}
        ]
        assert client.transport.stats.retries == 1  # the client met the fault and retried
    polls = srv.request_log.wait_for(2, "get_job")  # each record lands just after its answer
    assert polls[0].fault == fault.kind and polls[-1].status == 200


def test_job_expiry_on_get_job_fires_with_immediate_jobs(srv):
    fault = Fault(kind="job_expiry", endpoint="get_job", table="accounts")
    srv.faults.add(fault)
    with fast_client(srv.url) as client:
        job = client.start_job("canvas", "accounts", {"format": "jsonl"})
        with pytest.raises(NotFoundError):
            client.wait_for_job(job, first_poll_s=0.01)
        assert fault.fired == 1
        # other tables are not held back by a fault aimed at accounts
        assert client.start_job("canvas", "courses", {"format": "jsonl"}).status == "complete"
        # the fault is spent: the same query is answered complete again, by a new job
        fresh = client.start_job("canvas", "accounts", {"format": "jsonl"})
        assert fresh.status == "complete" and fresh.id != job.id


def test_job_expiry_fault_on_create(srv):
    c = login(srv)
    srv.faults.add(Fault(kind="job_expiry", endpoint="create_job", expires_in_s=0))
    r = c.create_job("canvas.accounts", format="csv")
    job = r.json()
    assert r.status_code == 200 and job["status"] == "complete"
    assert parse_iso(job["expires_at"]).timestamp() <= time.time() + 1
    assert c.get(f"/dap/job/{job['id']}").status_code == 404
    r = c.post("/dap/object/url", json=[{"id": job["objects"][0]["id"]}])
    assert r.status_code == 404 and r.json()["error"]["kind"] == "object"
    fresh = complete_job(c, format="csv")
    assert fresh["id"] != job["id"]


def test_job_expiry_fault_on_poll(srv):
    c = login(srv)
    job = complete_job(c, format="tsv")
    srv.faults.add(Fault(kind="job_expiry", endpoint="get_job"))
    r = c.get(f"/dap/job/{job['id']}")
    assert r.status_code == 404 and r.json()["error"]["kind"] == "job"


def test_url_expiry_fault(srv):
    c = login(srv)
    job = complete_job(c)
    object_id = job["objects"][0]["id"]
    srv.faults.add(Fault(kind="url_expiry", endpoint="object_url", expires_in_s=0))
    r = requests.get(c.url_for(object_id))
    assert r.status_code == 403 and b"AccessDenied" in r.content
    srv.faults.add(Fault(kind="url_expiry", endpoint="object_url", expires_in_s=0.3))
    url = c.url_for(object_id)
    assert requests.get(url).status_code == 200
    time.sleep(0.4)
    assert requests.get(url).status_code == 403
    assert requests.get(c.url_for(object_id)).status_code == 200  # a new URL works again


# ---- downloads -------------------------------------------------------------------------------------------
def big_object(c):
    job = complete_job(c, "canvas.courses", format="csv")
    object_id = job["objects"][0]["id"]
    full = requests.get(c.url_for(object_id)).content
    assert len(full) > 1000
    return object_id, full


def test_dropped_download(srv):
    c = login(srv)
    object_id, full = big_object(c)
    srv.faults.add(Fault(kind="drop_connection", endpoint="download", after_bytes=100))
    r = requests.get(c.url_for(object_id), stream=True)
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(full)
    with pytest.raises(requests.exceptions.RequestException):
        r.content  # noqa: B018 - reading the body raises
    assert requests.get(c.url_for(object_id)).content == full


def test_truncated_gzip_download(srv):
    c = login(srv)
    object_id, full = big_object(c)
    srv.faults.add(Fault(kind="truncated_gzip", endpoint="download", fraction=0.5))
    r = requests.get(c.url_for(object_id))
    assert r.status_code == 200 and int(r.headers["Content-Length"]) == len(r.content) == len(full) // 2
    assert r.content == full[: len(full) // 2]
    with pytest.raises(EOFError):
        gzip.decompress(r.content)


def test_slow_download(srv):
    c = login(srv)
    object_id, full = big_object(c)
    rate = len(full) / 0.5  # the whole file in ~0.5 s
    srv.faults.add(Fault(kind="slow_download", endpoint="download", bytes_per_s=rate))
    started = time.perf_counter()
    r = requests.get(c.url_for(object_id))
    assert r.content == full
    assert time.perf_counter() - started >= 0.4


# ---- control endpoint for faults ----------------------------------------------------------------------
def test_faults_via_control_endpoint(srv):
    c = login(srv)
    r = requests.post(
        f"{srv.url}/__fake__/faults",
        json=[{"kind": "http_status", "endpoint": "list_tables", "status": 503, "times": 1}],
    )
    assert r.status_code == 200 and r.json()["faults"][0]["kind"] == "http_status"
    assert c.get("/dap/query/canvas/table").status_code == 503
    assert c.get("/dap/query/canvas/table").status_code == 200
    requests.post(f"{srv.url}/__fake__/faults", json={"kind": "gateway_timeout", "times": None})
    assert requests.delete(f"{srv.url}/__fake__/faults").json() == {"faults": []}
    assert c.get("/dap/query/canvas/table").status_code == 200
    bad = requests.post(f"{srv.url}/__fake__/faults", json={"kind": "meteor"})
    assert bad.status_code == 400


def test_fault_spec_validation():
    with pytest.raises(ValueError, match="kind"):
        Fault(kind="nope")
    with pytest.raises(ValueError, match="bucket"):
        Fault(kind="http_status", endpoint="nope")
    with pytest.raises(ValueError, match="unknown fault fields"):
        Fault.from_json({"kind": "delay", "color": "red"})


# ---- rate limits -----------------------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.t = time.time()

    def __call__(self) -> float:
        return self.t


def test_rate_limits_off_by_default(srv):
    c = login(srv)
    assert all(c.create_job("canvas.accounts", format="jsonl").status_code == 200 for _ in range(8))


def test_real_rate_limits_answer_429_with_retry_after(store):
    clock = FakeClock()
    with FakeDapServer(store, ServerConfig(rate_limits=True, clock=clock)) as server:
        c = login(server)
        statuses = []
        for _ in range(12):
            r = c.create_job("canvas.accounts", format="jsonl")
            statuses.append(r.status_code)
            if r.status_code == 429:
                assert r.headers["Retry-After"].isdigit()
                assert set(r.json()["error"]) == {"type", "uuid", "message"}
            clock.t += 5
        assert statuses[:5] == [200] * 5 and statuses[5] == 429
        assert server.request_log.max_in_window("create_job", 60) <= 5
        assert server.request_log.max_in_window("create_job", 60, accepted_only=False) == 12
        # first 429 at +25 s: the oldest accepted call leaves the window at +60 s
        first_429 = server.request_log.select("create_job", status=429)[0]
        assert first_429.time == pytest.approx(server.request_log.select("create_job")[0].time + 25)
        # list tables has its own bucket of 5
        listed = [c.get("/dap/query/canvas/table").status_code for _ in range(6)]
        assert listed == [200] * 5 + [429]


def test_client_honouring_retry_after_stays_within_limit(store):
    clock = FakeClock()
    with FakeDapServer(store, ServerConfig(rate_limits={"create_job": 5}, clock=clock)) as server:
        c = login(server)
        created = 0
        while created < 12:
            r = c.create_job("canvas.accounts", format="jsonl")
            if r.status_code == 429:
                clock.t += int(r.headers["Retry-After"])
                continue
            assert r.status_code == 200
            created += 1
            clock.t += 1
        assert server.request_log.max_in_window("create_job", 60) == 5
        assert len(server.request_log.select("create_job", status=429)) >= 2
        # other buckets were not limited by this mapping
        assert all(c.get("/dap/query/canvas/table").status_code == 200 for _ in range(8))


def test_rate_limit_config_validation():
    with pytest.raises(ValueError, match="unknown endpoint"):
        ServerConfig(rate_limits={"create_jobs": 5}).rate_limit_table()


def test_error_bodies_validate_against_spec_components(srv):
    """Every error shape the server emits, checked against the spec (the client's view in comments)."""
    c = login(srv)
    check_error("NotFoundError", c.get("/dap/job/nope").json())
    check_error("ValidationError", c.create_job("canvas.accounts", format="x").json())
    check_component("TableList", c.get("/dap/query/canvas/table").json())
