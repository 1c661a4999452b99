"""HTTP plumbing of the fake DAP server: routing, auth check, faults, rate limits, request log,
and the ``FakeDapServer`` object (stdlib ThreadingHTTPServer, HTTP/1.1, loopback only).
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from extract.fake_dap import config as cfg
from extract.fake_dap import errors
from extract.fake_dap.api import DapApi, parse_object_ids
from extract.fake_dap.auth import TokenIssuer, bearer_token
from extract.fake_dap.control import handle_control
from extract.fake_dap.downloads import NO_SUCH_KEY_XML, DownloadDeniedError, UrlSigner
from extract.fake_dap.faults import DOWNLOAD_KINDS, HANDLER_KINDS, Fault, FaultSet
from extract.fake_dap.jobs import JobRegistry
from extract.fake_dap.ratelimit import SlidingWindowLimiter
from extract.fake_dap.render import Renderer
from extract.fake_dap.reqlog import RequestLog, RequestRecord, safe_headers
from extract.synth.store import Store
from extract.timeutil import iso_z

log = logging.getLogger(__name__)

JSON_TYPE = "application/json"
HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n"
)


@dataclass(frozen=True)
class Route:
    bucket: str
    name: str
    params: dict[str, str] = field(default_factory=dict)
    methods: tuple[str, ...] = ("GET",)


_DAP = r"^/dap/(?:beta/)?"
_ROUTES: list[tuple[re.Pattern[str], str, str, tuple[str, ...]]] = [
    (re.compile(r"^/ids/auth/login/?$"), cfg.LOGIN, "login", ("POST",)),
    (re.compile(_DAP + r"query/(?P<ns>[^/]+)/table/?$"), cfg.LIST_TABLES, "list_tables", ("GET",)),
    (re.compile(_DAP + r"query/(?P<ns>[^/]+)/table/(?P<table>[^/]+)/schema/?$"), cfg.SCHEMA, "schema", ("GET",)),
    (re.compile(_DAP + r"query/(?P<ns>[^/]+)/table/(?P<table>[^/]+)/data/?$"), cfg.CREATE_JOB, "data", ("POST",)),
    (re.compile(_DAP + r"job/(?P<job>[^/]+)/?$"), cfg.GET_JOB, "job", ("GET",)),
    (re.compile(_DAP + r"object/url/?$"), cfg.OBJECT_URL, "object_url", ("POST",)),
    (re.compile(r"^/download/(?P<token>[^/]+)/(?P<object>.+)$"), cfg.DOWNLOAD, "download", ("GET", "HEAD")),
    (re.compile(r"^/__fake__/(?P<name>[a-z_]+)/?$"), cfg.CONTROL, "control", ("GET", "POST", "DELETE")),
]


def match_route(path: str) -> Route:
    for pattern, bucket, name, methods in _ROUTES:
        found = pattern.match(path)
        if found:
            params = {k: unquote(v) for k, v in found.groupdict().items()}
            return Route(bucket, name, params, methods)
    return Route(cfg.OTHER, "unknown", {}, ())


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        return cls(status, body, JSON_TYPE, dict(headers or {}))

    @classmethod
    def error(cls, exc: errors.ApiError) -> Reply:
        return cls.json(exc.status, exc.body, exc.headers)


class FakeDapServer:
    """A local, faithful DAP Query API over a change-log ``Store``.

    ``advance(hours) -> datetime``, ``bump_schema(qname) -> int``, ``relax_schema(qname, columns)
    -> int``, ``null_required(qname, columns, rows) -> datetime``, ``late_rows(qname, rows,
    older_than_hours) -> datetime`` and ``reload(qname) -> datetime`` are optional hooks (the
    synthetic institution's); they must change the same Store instance (or commit to its root, in
    which case the server re-opens the store).
    """

    def __init__(
        self,
        store: Store,
        config: cfg.ServerConfig | None = None,
        *,
        advance: Callable[[float], datetime] | None = None,
        bump_schema: Callable[[str], int] | None = None,
        reload: Callable[[str], datetime] | None = None,
        relax_schema: Callable[[str, Sequence[str] | None], int] | None = None,
        null_required: Callable[[str, Sequence[str] | None, int], datetime] | None = None,
        late_rows: Callable[[str, int, float], datetime] | None = None,
    ) -> None:
        self.config = config or cfg.ServerConfig()
        self._store = store
        self._hooks: dict[str, Callable[..., Any] | None] = {
            "advance": advance,
            "bump_schema": bump_schema,
            "reload": reload,
            "relax_schema": relax_schema,
            "null_required": null_required,
            "late_rows": late_rows,
        }
        self.store_lock = threading.RLock()
        self.faults = FaultSet()
        self.request_log = RequestLog()
        self._own_cache = self.config.cache_dir is None
        cache = Path(self.config.cache_dir or tempfile.mkdtemp(prefix="fake-dap-cache-"))
        self.renderer = Renderer(cache, self.config.render_threads, self.config.render_memory_limit)
        self.jobs = JobRegistry(
            self.renderer,
            self.config.job_ttl_s,
            self.config.render_workers,
            # A fault waiting on GET job needs a GET: the POST then answers a job still running.
            must_poll=lambda qname: self.faults.armed(cfg.GET_JOB, qname),
        )
        self.tokens = TokenIssuer(self.config.client_id, self.config.client_secret, self.config.clock)
        self.signer = UrlSigner()
        self.limiter = SlidingWindowLimiter(
            self.config.rate_limit_table(), self.config.rate_window_s, self.config.clock
        )
        self.api = DapApi(store, self.config, self.tokens, self.jobs, self.signer, self.store_lock)
        self._httpd = _HttpServer((self.config.host, self.config.port), _Handler)
        self._httpd.app = self
        self._thread: threading.Thread | None = None

    # ---- lifecycle -------------------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def store(self) -> Store:
        return self._store

    def start(self) -> FakeDapServer:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-dap", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        try:
            self._httpd.serve_forever(poll_interval=0.2)
        finally:
            self._close()

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._close()

    def _close(self) -> None:
        self._httpd.server_close()
        self.jobs.shutdown()
        if self._own_cache:
            shutil.rmtree(self.renderer.cache_dir, ignore_errors=True)

    def __enter__(self) -> FakeDapServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- hooks -------------------------------------------------------------------------------------------
    def _hook(self, name: str) -> Callable[..., Any]:
        hook = self._hooks[name]
        if hook is None:
            raise errors.ApiError(
                501, {"error": {**errors.processing_body(f"no {name} hook was given to the server", "NotImplemented")}}
            )
        return hook

    def _call_hook(self, name: str, *args: Any) -> Any:
        """Run a hook under the store lock, then adopt the store if it committed through another instance."""
        with self.store_lock:
            result = self._hook(name)(*args)
            self._sync_store()
        return result

    def advance(self, hours: float) -> datetime:
        return self._call_hook("advance", hours)

    def bump_schema(self, qname: str) -> int:
        return int(self._call_hook("bump_schema", qname))

    def relax_schema(self, qname: str, columns: Sequence[str] | None = None) -> int:
        """A version bump that only makes ``columns`` nullable (default: every required value column)."""
        return int(self._call_hook("relax_schema", qname, columns))

    def null_required(self, qname: str, columns: Sequence[str] | None = None, rows: int = 20) -> datetime:
        """Commit ``rows`` rows of ``qname`` with ``columns`` NULL (default: the required ones)."""
        return self._call_hook("null_required", qname, columns, rows)

    def late_rows(self, qname: str, rows: int = 20, older_than_hours: float = 24) -> datetime:
        """Commit ``rows`` records of ``qname`` whose event times are ``older_than_hours`` old or more."""
        return self._call_hook("late_rows", qname, rows, older_than_hours)

    def reload(self, qname: str) -> datetime:
        return self._call_hook("reload", qname)

    def _sync_store(self) -> None:
        """Adopt the on-disk store if a hook committed through another Store instance."""
        fresh = Store(self._store.root)
        if fresh.now != self._store.now or fresh.tables() != self._store.tables():
            log.info("store changed on disk by a hook; re-opened it")
            self._store = fresh
            self.api.store = fresh

    def state(self) -> dict[str, Any]:
        with self.store_lock:
            store = self._store
            tables = {}
            for qname in store.tables():
                reload = store.last_reload(qname)
                tables[qname] = {
                    "version": store.schema(qname, store.now).version,
                    "last_reload": iso_z(reload) if reload else None,
                }
            return {"now": iso_z(store.now), "tables": tables, "jobs": self.jobs.count()}

    # ---- request handling ---------------------------------------------------------------------------
    def table_of(self, route: Route, body: bytes) -> str | None:
        """The table a request is about (for faults and the log), if any."""
        params = route.params
        if route.name in ("schema", "data"):
            return f"{params['ns']}.{params['table']}"
        if route.name == "list_tables":
            return None
        job_id = None
        if route.name == "job":
            job_id = params["job"]
        elif route.name == "download":
            job_id = params["object"].partition("/")[0]
        elif route.name == "object_url":
            try:
                ids = parse_object_ids(body)
            except errors.ApiError:
                ids = []
            job_id = ids[0].partition("/")[0] if ids else None
        job = self.jobs.peek(job_id) if job_id else None
        return job.qname if job else None

    def dispatch(self, handler: _Handler, method: str, route: Route, query: dict[str, list[str]], body: bytes) -> Reply:
        now = self.config.clock()
        table = handler.record_table
        if route.bucket == cfg.CONTROL:
            status, payload = handle_control(self, method, route.params["name"], body)
            return Reply.json(status, payload)
        fault = self.faults.take(route.bucket, table, FaultSet.response_kinds_for(route.bucket))
        if fault is not None:
            handler.record_fault = fault.kind
            reply = self._fault_reply(fault)
            if reply is not None:
                return reply
        retry_after = self.limiter.acquire(route.bucket)
        if retry_after is not None:
            return Reply.error(errors.too_many_requests(retry_after))
        if route.name == "login":
            fault = self._handler_fault(handler, route.bucket, table, {"token_expiry"})
            status, payload = self.api.login(handler.headers.get("Authorization"), body, fault)
            return Reply.json(status, payload)
        if route.name == "download":
            return self._download(handler, method, route, query, table, now)
        self._authenticate(handler)
        if self.config.forbidden:
            raise errors.forbidden(self.config.forbidden)
        params = route.params
        if route.name == "list_tables":
            status, payload = self.api.list_tables(params["ns"])
        elif route.name == "schema":
            status, payload = self.api.table_schema(params["ns"], params["table"])
        elif route.name == "data":
            fault = self._handler_fault(handler, route.bucket, table, {"job_failure", "job_expiry"})
            status, payload = self.api.create_job(params["ns"], params["table"], body, now, fault)
        elif route.name == "job":
            fault = self._handler_fault(handler, route.bucket, table, {"job_expiry"})
            status, payload = self.api.get_job(params["job"], now, fault)
        elif route.name == "object_url":
            fault = self._handler_fault(handler, route.bucket, table, {"url_expiry"})
            status, payload = self.api.object_urls(body, self.url, now, fault)
        else:  # pragma: no cover - routes are exhaustive
            raise errors.route_not_found(route.name)
        return Reply.json(status, payload)

    def _handler_fault(self, handler: _Handler, bucket: str, table: str | None, kinds: set[str]) -> Fault | None:
        fault = self.faults.take(bucket, table, kinds & HANDLER_KINDS)
        if fault is not None:
            handler.record_fault = fault.kind
        return fault

    def _authenticate(self, handler: _Handler) -> None:
        token = bearer_token(handler.headers.get("Authorization"), handler.headers.get("X-InstAuth"))
        self.tokens.verify(token)

    def _fault_reply(self, fault: Fault) -> Reply | None:
        kind = fault.kind
        if kind == "delay":
            time.sleep(fault.seconds or 1.0)
            return None
        if kind == "drop_connection":
            return Reply(0, drop=True)
        if kind == "html_502":
            return Reply(502, HTML_502.encode(), "text/html; charset=utf-8")
        if kind == "gateway_timeout":
            return Reply.error(errors.gateway_timeout())
        if kind == "forbidden":
            return Reply.error(errors.forbidden(fault.error_type or "AccountNotOnboarded"))
        if kind == "token_revoked":
            self.tokens.revoke_all()
            return Reply.error(errors.authentication("The access token has been revoked."))
        status = fault.status or (429 if kind == "rate_limit" else 500)
        if status == 429:
            return Reply.error(errors.too_many_requests(fault.retry_after if fault.retry_after is not None else 1))
        exc = errors.server_error(status, fault.message)
        if fault.error_type:
            exc.body["error"]["type"] = fault.error_type
        if fault.retry_after is not None:
            exc.headers["Retry-After"] = str(fault.retry_after)
        return Reply.error(exc)

    def _download(
        self, handler: _Handler, method: str, route: Route, query: dict[str, list[str]], table: str | None, now: float
    ) -> Reply:
        object_id = route.params["object"]
        try:
            self.signer.check(route.params["token"], object_id, query.get("X-Amz-Signature", [None])[0], now)
            try:
                job, part = self.api.download_target(object_id, now)
            except errors.ApiError:
                raise DownloadDeniedError(404, NO_SUCH_KEY_XML) from None
        except DownloadDeniedError as denied:
            return Reply(denied.status, denied.xml.encode(), "application/xml")
        path = self.api.part_path(job, part)
        fault = self.faults.take(cfg.DOWNLOAD, table, DOWNLOAD_KINDS)
        if fault is not None:
            handler.record_fault = fault.kind
        handler.send_file(method, path, fault)
        return Reply(-1)  # already sent


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the official client opens parallel connections (and logins) in bursts
    app: FakeDapServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; without TCP_NODELAY, Nagle's algorithm and the
    # client's delayed ACK add ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True
    server_version = "fake-dap/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections end eventually
    server: _HttpServer

    record_table: str | None = None
    record_fault: str | None = None
    _sent_status: int = 0

    def log_message(self, format: str, *args: Any) -> None:
        return  # the request log replaces stderr noise; see _log_request

    def do_GET(self) -> None:
        self._handle("GET")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    # ---- core ------------------------------------------------------------------------------------------
    def _handle(self, method: str) -> None:
        app = self.server.app
        started, t0 = app.config.clock(), time.perf_counter()
        self.record_table, self.record_fault, self._sent_status = None, None, 0
        split = urlsplit(self.path)
        route = match_route(split.path)
        status = 0
        try:
            body = self._read_body()
            self.record_table = app.table_of(route, body)
            if route.bucket == cfg.OTHER:
                reply = Reply.error(errors.route_not_found(split.path))
            elif method not in route.methods:
                reply = Reply.error(errors.method_not_allowed(method, split.path))
            else:
                reply = app.dispatch(self, method, route, parse_qs(split.query), body)
        except errors.ApiError as exc:
            reply = Reply.error(exc)
        except Exception as exc:
            log.exception("fake DAP server error on %s %s", method, route.name)
            reply = Reply.error(errors.processing(f"Internal error: {type(exc).__name__}"))
        try:
            if reply.drop:
                self.close_connection = True
            elif reply.status >= 0:
                self._send(method, reply)
            status = self._sent_status if reply.status < 0 else reply.status
        except OSError:
            self.close_connection = True
            status = self._sent_status
        finally:
            self._log_request(method, split.path, route, status, started, t0)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, method: str, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(reply.body)
        self._sent_status = reply.status

    def send_file(self, method: str, path: Path, fault: Fault | None) -> None:
        """Stream a part file (no Content-Encoding, whatever Accept-Encoding says), with faults."""
        size = path.stat().st_size
        start, end, status = 0, size, 200
        byte_range = _parse_range(self.headers.get("Range"), size)
        if byte_range is not None:
            start, end = byte_range
            status = 206
        kind = fault.kind if fault else None
        if kind == "truncated_gzip":
            assert fault is not None
            cut = fault.after_bytes if fault.after_bytes is not None else int(size * (fault.fraction or 0.5))
            end = min(end, start + max(0, cut))
        length = end - start
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{size}")
        self.end_headers()
        self._sent_status = status
        if method == "HEAD":
            return
        chunk = self.server.app.config.download_chunk
        with path.open("rb") as handle:
            handle.seek(start)
            if kind == "drop_connection":
                assert fault is not None
                self.wfile.write(handle.read(min(length, max(0, fault.after_bytes or 0))))
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if kind == "slow_download":
                assert fault is not None
                rate = fault.bytes_per_s or 64 * 1024
                piece = max(1, min(chunk, int(rate / 10) or 1))
                remaining = length
                while remaining > 0:
                    data = handle.read(min(piece, remaining))
                    self.wfile.write(data)
                    remaining -= len(data)
                    time.sleep(len(data) / rate)
                return
            if length:
                self.connection.sendfile(handle, start, length)

    def _log_request(self, method: str, path: str, route: Route, status: int, started: float, t0: float) -> None:
        app = self.server.app
        if route.bucket == cfg.DOWNLOAD:
            path = f"/download/<redacted>/{route.params.get('object', '')}"
        auth = self.headers.get("Authorization") if self.headers else None
        scheme = auth.split(" ", 1)[0].lower() if auth else ("x-instauth" if self.headers.get("X-InstAuth") else None)
        record = RequestRecord(
            time=started,
            method=method,
            path=path,
            status=status,
            endpoint=route.bucket,
            table=self.record_table,
            headers=safe_headers(self.headers),
            duration_s=round(time.perf_counter() - t0, 6),
            fault=self.record_fault,
            auth=scheme,
        )
        app.request_log.append(record)
        log.debug("%s %s -> %s (%s)", method, path, status, route.bucket)


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` -> [start, end) or None (whole file)."""
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].strip().partition("-")
    try:
        if first == "":
            n = int(last)
            return (max(0, size - n), size) if n > 0 else None
        start = int(first)
        end = int(last) + 1 if last else size
    except ValueError:
        return None
    if start >= size or end <= start:
        return None
    return start, min(end, size)
