"""The fake DAP server against Instructure's OpenAPI spec, walked from the spec itself.

For every (path, method, status) the spec's ``paths`` declare, ``WALK`` names one or more ways to
make the fake answer exactly that status: real requests to the spec's path (under the server's
``/dap``), with the fake's faults and switches where the status needs them. Each answer must have
that status, a media type the spec declares for it, and a body matching the declared schema.

A documented answer in neither ``WALK`` nor ``EXCLUDED`` fails the walk, so a newer spec cannot be
silently ignored. ``EXCLUDED`` is empty: the real API can send every status 0.9.0 documents, and
the fake produces each (500 and 504 through injected faults, as an outage would).

The spec's own errors are in ``docs/dap_openapi_notes.md``. Where a body can only match with one of
``openapi_check.DEVIATIONS``, its walk entry names it, and the walk checks that the spec as written
really rejects that body (so a fixed spec makes the test fail until the deviation goes).
``UNDOCUMENTED`` lists the statuses the API sends that 0.9.0 never declares (403, 429).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import pytest
import requests

from extract.fake_dap import FakeDapServer, Fault, ServerConfig
from extract.fake_dap.config import FORBIDDEN_TYPES
from extract.synth.store import Store
from extract.tests.fake_dap_fixtures import DapTestClient, build_small_store, make_reload
from extract.tests.openapi_check import (
    DEVIATIONS,
    JSON_TYPE_NUMBERS,
    RANGE_ERRORS,
    SERVER_ERRORS,
    Deviation,
    SpecResponse,
    check_error,
    check_response,
    documented_responses,
    server_path_prefix,
)
from extract.timeutil import iso_z

JOB = "/job/{id}"
OBJECT_URL = "/object/url"
DATA = "/query/{namespace}/table/{table}/data"
TABLES = "/query/{namespace}/table"
SCHEMA = "/query/{namespace}/table/{table}/schema"

# The fake's endpoint bucket (for faults and rate limits) behind each path of the spec.
BUCKET_OF_PATH = {
    JOB: "get_job",
    OBJECT_URL: "object_url",
    DATA: "create_job",
    TABLES: "list_tables",
    SCHEMA: "schema",
}
FORGED_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjQxMDI0NDQ4MDB9.c2lnbmF0dXJl"  # a JWT this server never signed


# ---- what a provocation sends ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Call:
    """A request to the walked path: its path and query parameters, a body (JSON, or raw bytes
    sent as ``application/json``) and which credentials go with it."""

    params: dict[str, str] = field(default_factory=dict)
    body: Any = None
    query: dict[str, str] = field(default_factory=dict)
    credentials: Literal["valid", "none", "forged"] = "valid"


@dataclass
class Walk:
    """One walked answer: the spec's answer, a fresh server (on the shared small store unless the
    provocation needs its own) and a client logged in to it."""

    response: SpecResponse
    server: FakeDapServer
    client: DapTestClient

    @property
    def store(self) -> Store:
        return self.server.store

    @property
    def bucket(self) -> str:
        return BUCKET_OF_PATH[self.response.path]

    def arm(self, fault: Fault) -> None:
        self.server.faults.add(fault)

    def create_job(self, query: dict[str, Any], qname: str = "canvas.accounts", status: int = 200) -> dict[str, Any]:
        """Start a job through the API (a setup step, not the walked call)."""
        answer = self.client.create_job(qname, **query)
        assert answer.status_code == status, answer.text
        return answer.json()

    def valid_call(self) -> Call:
        """A call to the walked path that the fake answers with success."""
        return VALID_CALLS[self.response.path](self)


VALID_CALLS: dict[str, Callable[[Walk], Call]] = {
    JOB: lambda walk: Call({"id": walk.create_job({"format": "jsonl"})["id"]}),
    OBJECT_URL: lambda walk: Call(body=object_refs(walk.create_job({"format": "jsonl"}))),
    DATA: lambda walk: Call({"namespace": "canvas", "table": "accounts"}, {"format": "jsonl"}),
    TABLES: lambda walk: Call({"namespace": "canvas"}),
    SCHEMA: lambda walk: Call({"namespace": "canvas", "table": "accounts"}),
}


def object_refs(job: dict[str, Any]) -> list[dict[str, str]]:
    return [{"id": ref["id"]} for ref in job["objects"]]


def an_hour_before_now(walk: Walk) -> str:
    return iso_z(walk.store.now - timedelta(hours=1))


@dataclass(frozen=True)
class Provocation:
    """How to make the fake give one documented answer. ``server`` holds ``ServerConfig`` switches;
    ``own_store`` gives the server a store of its own (for provocations that change the store);
    ``deviation`` is the spec error the body is expected to need (``openapi_check.DEVIATIONS``)."""

    name: str
    prepare: Callable[[Walk], Call]
    server: dict[str, Any] = field(default_factory=dict)
    own_store: bool = False
    deviation: Deviation | None = None


# ---- provocations that fit every path ----------------------------------------------------------------------
def without_credentials(walk: Walk) -> Call:
    return replace(walk.valid_call(), credentials="none")


def with_forged_token(walk: Walk) -> Call:
    return replace(walk.valid_call(), credentials="forged")


def with_internal_error(walk: Walk) -> Call:
    call = walk.valid_call()
    walk.arm(Fault(kind="http_status", endpoint=walk.bucket, status=500))
    return call


def with_gateway_timeout(walk: Walk) -> Call:
    call = walk.valid_call()
    walk.arm(Fault(kind="gateway_timeout", endpoint=walk.bucket))
    return call


UNAUTHENTICATED = (
    Provocation("no credentials", without_credentials),
    Provocation("forged token", with_forged_token),
)
INTERNAL_ERROR = (Provocation("internal error (fault)", with_internal_error, deviation=SERVER_ERRORS),)
GATEWAY_TIMEOUT = (Provocation("gateway timeout (fault)", with_gateway_timeout),)


# ---- GET /job/{id} -----------------------------------------------------------------------------------------
def poll_snapshot_job(walk: Walk) -> Call:
    return Call({"id": walk.create_job({"format": "tsv", "mode": "condensed"})["id"]})


def poll_incremental_job(walk: Walk) -> Call:
    return Call({"id": walk.create_job({"format": "jsonl", "since": an_hour_before_now(walk)})["id"]})


def poll_failed_job(walk: Walk) -> Call:
    walk.arm(Fault(kind="job_failure", endpoint="create_job", message="injected failure"))
    return Call({"id": walk.create_job({"format": "csv"})["id"]})


def poll_job_in_progress(walk: Walk) -> Call:
    return Call({"id": walk.create_job({"format": "jsonl"}, status=202)["id"]})


def poll_unknown_job(walk: Walk) -> Call:
    return Call({"id": str(uuid.uuid4())})


def poll_expired_job(walk: Walk) -> Call:
    walk.arm(Fault(kind="job_expiry", endpoint="create_job", expires_in_s=0))
    return Call({"id": walk.create_job({"format": "jsonl"})["id"]})


# ---- POST /object/url --------------------------------------------------------------------------------------
def urls_for_every_object(walk: Walk) -> Call:
    job = walk.create_job({"format": "tsv"})
    assert len(job["objects"]) > 1, "rows_per_file should split the table into several objects"
    return Call(body=object_refs(job))


def truncated_json_body(walk: Walk) -> Call:
    return replace(walk.valid_call(), body=b'[{"id": ')


def object_instead_of_array(walk: Walk) -> Call:
    return Call(body={"id": "an-object-id"})


def element_without_id(walk: Walk) -> Call:
    return Call(body=[{"ID": "an-object-id"}])


def unknown_object(walk: Walk) -> Call:
    job = walk.create_job({"format": "tsv"})
    return Call(body=[{"id": f"{job['id']}/part-99999-missing-c000.tsv.gz"}])


def objects_of_expired_job(walk: Walk) -> Call:
    walk.arm(Fault(kind="job_expiry", endpoint="create_job", expires_in_s=0))
    return Call(body=object_refs(walk.create_job({"format": "jsonl"})))


# ---- POST /query/{namespace}/table/{table}/data ------------------------------------------------------------
def query_on(table: str, body: Any, namespace: str = "canvas") -> Call:
    return Call({"namespace": namespace, "table": table}, body)


def snapshot_query(walk: Walk) -> Call:
    return query_on("accounts", {"format": "tsv", "mode": "condensed"})


def incremental_query(walk: Walk) -> Call:
    return query_on("courses", {"format": "jsonl", "since": an_hour_before_now(walk)})


def query_that_fails(walk: Walk) -> Call:
    walk.arm(Fault(kind="job_failure", endpoint="create_job", message="injected failure"))
    return query_on("accounts", {"format": "csv"})


def query_in_progress(walk: Walk) -> Call:
    return query_on("accounts", {"format": "jsonl"})


def unknown_format(walk: Walk) -> Call:
    return query_on("accounts", {"format": "xml"})


def truncated_query(walk: Walk) -> Call:
    return query_on("accounts", b'{"format": "tsv",\n "since": }')


def since_without_zone(walk: Walk) -> Call:
    return query_on("accounts", {"format": "tsv", "since": "2026-01-01T00:00:00"})


def since_in_the_future(walk: Walk) -> Call:
    return query_on("accounts", {"format": "jsonl", "since": iso_z(walk.store.now + timedelta(seconds=1))})


def since_before_web_logs_retention(walk: Walk) -> Call:
    since = iso_z(walk.store.now - timedelta(days=31))
    return query_on("web_logs", {"format": "jsonl", "since": since}, namespace="canvas_logs")


def since_before_a_reload(walk: Walk) -> Call:
    since = iso_z(walk.store.now)
    walk.server.reload("canvas.courses")
    return query_on("courses", {"format": "tsv", "mode": "condensed", "since": since})


def query_on_unknown_namespace(walk: Walk) -> Call:
    return query_on("accounts", {"format": "jsonl"}, namespace="no_such_namespace")


def query_on_unknown_table(walk: Walk) -> Call:
    return query_on("no_such_table", {"format": "jsonl"})


# ---- GET /query/{namespace}/table and …/{table}/schema -----------------------------------------------------
def list_of(namespace: str, query: dict[str, str] | None = None) -> Callable[[Walk], Call]:
    return lambda walk: Call({"namespace": namespace}, query=query or {})


def schema_of(table: str, namespace: str = "canvas") -> Callable[[Walk], Call]:
    return lambda walk: Call({"namespace": namespace, "table": table})


# The spec lets every job variant carry any of the four states; the API answers 200 with a
# finished job and 202 with one in progress (dap_api.md §4.3, §4.4).
JOB_STATES_OF_STATUS = {"200": {"complete", "failed"}, "202": {"waiting", "running"}}
IN_PROGRESS = {"job_completion": "polls:2"}  # the POST answers "waiting", the first poll "running"

WALK: dict[SpecResponse, tuple[Provocation, ...]] = {
    SpecResponse(JOB, "get", "200"): (
        Provocation("complete snapshot job", poll_snapshot_job),
        Provocation("complete incremental job", poll_incremental_job),
        Provocation("failed job", poll_failed_job),
    ),
    SpecResponse(JOB, "get", "202"): (Provocation("running job", poll_job_in_progress, server=IN_PROGRESS),),
    SpecResponse(JOB, "get", "401"): UNAUTHENTICATED,
    SpecResponse(JOB, "get", "404"): (
        Provocation("unknown job", poll_unknown_job),
        Provocation("expired job", poll_expired_job),
    ),
    SpecResponse(JOB, "get", "500"): INTERNAL_ERROR,
    SpecResponse(JOB, "get", "504"): GATEWAY_TIMEOUT,
    SpecResponse(OBJECT_URL, "post", "200"): (
        Provocation("urls for every object", urls_for_every_object, server={"rows_per_file": 4}),
    ),
    SpecResponse(OBJECT_URL, "post", "400"): (
        Provocation("truncated JSON", truncated_json_body),
        Provocation("object instead of array", object_instead_of_array),
        Provocation("element without id", element_without_id),
    ),
    SpecResponse(OBJECT_URL, "post", "401"): UNAUTHENTICATED,
    SpecResponse(OBJECT_URL, "post", "404"): (
        Provocation("unknown object", unknown_object),
        Provocation("objects of an expired job", objects_of_expired_job),
    ),
    SpecResponse(OBJECT_URL, "post", "500"): INTERNAL_ERROR,
    SpecResponse(OBJECT_URL, "post", "504"): GATEWAY_TIMEOUT,
    SpecResponse(DATA, "post", "200"): (
        Provocation("snapshot complete at once", snapshot_query),
        Provocation("incremental complete at once", incremental_query),
        Provocation("failed job", query_that_fails),
    ),
    SpecResponse(DATA, "post", "202"): (Provocation("waiting job", query_in_progress, server=IN_PROGRESS),),
    SpecResponse(DATA, "post", "400"): (
        Provocation("unknown format", unknown_format),
        Provocation("truncated JSON", truncated_query),
        Provocation("since without a zone", since_without_zone),
        Provocation("since in the future", since_in_the_future, deviation=RANGE_ERRORS),
        Provocation("since before web_logs retention", since_before_web_logs_retention, deviation=RANGE_ERRORS),
        Provocation("since before a reload", since_before_a_reload, own_store=True, deviation=RANGE_ERRORS),
    ),
    SpecResponse(DATA, "post", "401"): UNAUTHENTICATED,
    SpecResponse(DATA, "post", "404"): (
        Provocation("unknown namespace", query_on_unknown_namespace),
        Provocation("unknown table", query_on_unknown_table),
    ),
    SpecResponse(DATA, "post", "500"): INTERNAL_ERROR,
    SpecResponse(DATA, "post", "504"): GATEWAY_TIMEOUT,
    SpecResponse(TABLES, "get", "200"): (
        Provocation("canvas tables", list_of("canvas")),
        Provocation("namespace without tables", list_of("catalog")),
        Provocation("canvas tables in a named scope", list_of("canvas", {"scope": "root-account-uuid"})),
    ),
    SpecResponse(TABLES, "get", "401"): UNAUTHENTICATED,
    SpecResponse(TABLES, "get", "404"): (Provocation("unknown namespace", list_of("no_such_namespace")),),
    SpecResponse(TABLES, "get", "500"): INTERNAL_ERROR,
    SpecResponse(TABLES, "get", "504"): GATEWAY_TIMEOUT,
    SpecResponse(SCHEMA, "get", "200"): (
        Provocation("courses schema", schema_of("courses"), deviation=JSON_TYPE_NUMBERS),
        Provocation("web_logs schema", schema_of("web_logs", "canvas_logs"), deviation=JSON_TYPE_NUMBERS),
    ),
    SpecResponse(SCHEMA, "get", "401"): UNAUTHENTICATED,
    SpecResponse(SCHEMA, "get", "404"): (
        Provocation("unknown namespace", schema_of("accounts", "no_such_namespace")),
        Provocation("unknown table", schema_of("no_such_table")),
    ),
    SpecResponse(SCHEMA, "get", "500"): INTERNAL_ERROR,
    SpecResponse(SCHEMA, "get", "504"): GATEWAY_TIMEOUT,
}

# Documented answers the walk leaves out, each with the reason the real API cannot send it.
EXCLUDED: dict[SpecResponse, str] = {}


# ---- running one provocation -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return build_small_store(tmp_path_factory.mktemp("openapi") / "store")


@contextmanager
def walking(
    response: SpecResponse, provocation: Provocation, shared: Store, tmp_path: Path
) -> Iterator[tuple[Walk, Call]]:
    store = build_small_store(tmp_path / "own-store") if provocation.own_store else shared
    with FakeDapServer(store, ServerConfig(**provocation.server), reload=make_reload(store)) as server:
        client = DapTestClient(server.url, server.config.client_id, server.config.client_secret)
        assert client.login().status_code == 200
        walk = Walk(response, server, client)
        yield walk, provocation.prepare(walk)


def send(walk: Walk, call: Call) -> requests.Response:
    """Send ``call`` to the walked path and method, under the spec's server path."""
    path = re.sub(r"\{(\w+)\}", lambda m: quote(call.params[m.group(1)], safe=""), walk.response.path)
    headers = {}
    if call.credentials == "valid":
        headers["Authorization"] = f"Bearer {walk.client.token}"
    elif call.credentials == "forged":
        headers["Authorization"] = f"Bearer {FORGED_TOKEN}"
    data = None
    if call.body is not None:
        headers["Content-Type"] = "application/json"
        data = call.body if isinstance(call.body, bytes) else json.dumps(call.body).encode()
    url = f"{walk.server.url}{server_path_prefix()}{path}"
    method = walk.response.method.upper()
    return requests.request(method, url, params=call.query, headers=headers, data=data, timeout=30)


def media_type(answer: requests.Response) -> str:
    return answer.headers.get("Content-Type", "").split(";")[0].strip()


def walk_params() -> list[Any]:
    """One case per provocation of every documented answer, in the spec's order."""
    cases = []
    for response in documented_responses():
        if response in EXCLUDED:
            continue
        provocations = WALK.get(response)
        if not provocations:
            cases.append(pytest.param(response, None, id=f"{response} UNMAPPED"))
        for provocation in provocations or ():
            cases.append(pytest.param(response, provocation, id=f"{response} {provocation.name}"))
    return cases


# ---- the walk ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("response", "provocation"), walk_params())
def test_fake_answer_matches_the_spec(
    response: SpecResponse, provocation: Provocation | None, shared_store: Store, tmp_path: Path
) -> None:
    if provocation is None:
        pytest.fail(f"{response} is documented but has no provocation in WALK (and is not in EXCLUDED)")
    with walking(response, provocation, shared_store, tmp_path) as (walk, call):
        answer = send(walk, call)
        assert answer.status_code == int(response.status), answer.text
        body = answer.json()
        needed = check_response(response, media_type(answer), body)
        expected = provocation.deviation.name if provocation.deviation else "the spec as written"
        assert (needed.name if needed else "the spec as written") == expected, answer.text
        if response.path in (JOB, DATA) and response.status in JOB_STATES_OF_STATUS:
            assert body["status"] in JOB_STATES_OF_STATUS[response.status]


def named(responses: set[SpecResponse]) -> list[str]:
    return [str(r) for r in sorted(responses)]


def test_walk_covers_exactly_the_documented_answers() -> None:
    documented = set(documented_responses())
    walked, excluded = set(WALK), set(EXCLUDED)
    assert named(documented - walked - excluded) == [], "documented but neither walked nor excluded"
    assert named(walked - documented) == [], "walked but not documented (any more)"
    assert named(excluded - documented) == [], "excluded but not documented (any more)"
    assert named(walked & excluded) == [], "both walked and excluded"
    assert named({r for r, provocations in WALK.items() if not provocations}) == [], "walked without a provocation"


def test_every_deviation_is_expected_by_some_walked_answer() -> None:
    expected = {p.deviation for provocations in WALK.values() for p in provocations if p.deviation}
    assert expected == set(DEVIATIONS)


# ---- statuses the API sends that the spec never declares ---------------------------------------------------
def forbidden_account(walk: Walk) -> Call:
    call = walk.valid_call()
    walk.arm(Fault(kind="forbidden", endpoint=walk.bucket, error_type="AccountNotOnboarded"))
    return call


def rate_limited(walk: Walk) -> Call:
    call = walk.valid_call()
    send(walk, call)  # takes the bucket's only slot
    return call


UNDOCUMENTED: dict[int, Provocation] = {
    # Instructure's client 2.3.1 maps a 403 to its four account errors (dap_api.md §5).
    403: Provocation("forbidden account", forbidden_account),
    # Every endpoint is rate-limited (dap_api.md §12); the client retries a 429 after Retry-After.
    429: Provocation("rate limited", rate_limited, server={"rate_limits": dict.fromkeys(BUCKET_OF_PATH.values(), 1)}),
}
OPERATIONS = sorted({(r.path, r.method) for r in documented_responses()})


@pytest.mark.parametrize("status", sorted(UNDOCUMENTED))
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m.upper()} {p}" for p, m in OPERATIONS])
def test_undocumented_status_is_still_undocumented_and_shaped_as_the_client_expects(
    path: str, method: str, status: int, shared_store: Store, tmp_path: Path
) -> None:
    documented = {r.status for r in documented_responses() if (r.path, r.method) == (path, method)}
    assert str(status) not in documented, "the spec documents it now: move it into WALK"
    response = SpecResponse(path, method, str(status))
    with walking(response, UNDOCUMENTED[status], shared_store, tmp_path) as (walk, call):
        answer = send(walk, call)
        assert answer.status_code == status, answer.text
        assert media_type(answer) == "application/json"
        body = answer.json()
        check_error("ProcessingError", body)  # {type, uuid, message}: the client's base error shape
        if status == 403:
            assert body["error"]["type"] in FORBIDDEN_TYPES
        else:
            assert answer.headers["Retry-After"].isdigit()
