"""The DAP endpoints' behaviour, independent of HTTP plumbing: each returns (status, JSON body)
or raises ``errors.ApiError``. Faults that change a handler's outcome are passed in by the caller.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from extract.fake_dap import errors, hostile
from extract.fake_dap.auth import TokenIssuer
from extract.fake_dap.config import NAMESPACES, ServerConfig
from extract.fake_dap.downloads import UrlSigner
from extract.fake_dap.faults import Fault
from extract.fake_dap.jobs import Job, JobRegistry
from extract.fake_dap.planner import plan_job
from extract.fake_dap.query import parse_query
from extract.fake_dap.writers import PartFile
from extract.synth.store import Store

JsonReply = tuple[int, Any]


class DapApi:
    def __init__(
        self,
        store: Store,
        config: ServerConfig,
        tokens: TokenIssuer,
        jobs: JobRegistry,
        signer: UrlSigner,
        store_lock: threading.RLock,
    ) -> None:
        self.store = store
        self.config = config
        self.tokens = tokens
        self.jobs = jobs
        self.signer = signer
        self.store_lock = store_lock

    # ---- auth -------------------------------------------------------------------------------------
    def login(self, authorization: str | None, body: bytes, fault: Fault | None) -> JsonReply:
        lifetime = self.config.token_lifetime_s
        if fault is not None:
            lifetime = fault.lifetime_s if fault.lifetime_s is not None else 1.0
        return 200, self.tokens.login(authorization, body, lifetime, self.config.scope)

    # ---- metadata -----------------------------------------------------------------------------------
    def namespaces(self) -> list[str]:
        return sorted(set(NAMESPACES) | set(self.store.namespaces()))

    def qualified(self, namespace: str, table: str) -> str:
        if self.config.hostile_names and (served := hostile.alias(namespace, table)) is not None:
            return served
        if namespace not in self.namespaces():
            raise errors.namespace_not_found(namespace)
        qname = f"{namespace}.{table}"
        if qname not in self.store.tables(namespace):
            raise errors.table_not_found(table)
        return qname

    def list_tables(self, namespace: str) -> JsonReply:
        if namespace not in self.namespaces():
            raise errors.namespace_not_found(namespace)
        with self.store_lock:
            names = [q.split(".", 1)[1] for q in self.store.tables(namespace)]
        if self.config.hostile_names:
            names += hostile.extra_tables(namespace)
        return 200, {"tables": names}

    def table_schema(self, namespace: str, table: str) -> JsonReply:
        if self.config.hostile_names and (reply := hostile.table_schema(namespace, table)) is not None:
            return reply
        with self.store_lock:
            qname = self.qualified(namespace, table)
            schema = self.store.schema(qname, self.store.now)
        return 200, {"schema": schema.to_dap_schema(), "version": schema.version}

    # ---- jobs ---------------------------------------------------------------------------------------
    def create_job(self, namespace: str, table: str, body: bytes, now: float, fault: Fault | None) -> JsonReply:
        with self.store_lock:
            qname = self.qualified(namespace, table)
            query = parse_query(body, self.config.default_mode)
            plan = plan_job(self.store, qname, query, self.config)
        failure = None
        if fault is not None and fault.kind == "job_failure":
            failure = errors.processing_body(
                fault.message or "Query processing failed (injected fault).", fault.error_type or "ProcessingError"
            )
        completion = self.config.completion.for_rows(plan.estimated_rows)
        job, _reused = self.jobs.create_or_reuse(plan, now, completion, failure)
        if job.completion.immediate:
            self.jobs.render_now(job)
        if fault is not None and fault.kind == "job_expiry":
            self.jobs.set_expiry(job, now + (fault.expires_in_s or 0.0))
        return self._job_reply(job, now)

    def get_job(self, job_id: str, now: float, fault: Fault | None) -> JsonReply:
        job = self.jobs.get(job_id, now)
        if fault is not None and fault.kind == "job_expiry":
            self.jobs.set_expiry(job, now + (fault.expires_in_s or 0.0))
            job = self.jobs.get(job_id, now)  # 404 when now expired
        job.polls += 1
        return self._job_reply(job, now)

    @staticmethod
    def _job_reply(job: Job, now: float) -> JsonReply:
        payload = job.to_json(now)
        return (200 if payload["status"] in ("complete", "failed") else 202), payload

    # ---- objects --------------------------------------------------------------------------------------
    def object_urls(self, body: bytes, base_url: str, now: float, fault: Fault | None) -> JsonReply:
        ids = parse_object_ids(body)
        ttl = self.config.url_ttl_s
        if fault is not None:
            ttl = fault.expires_in_s or 0.0
        urls: dict[str, dict[str, str]] = {}
        for object_id in ids:
            self.jobs.resolve_object(object_id, now)
            urls[object_id] = {"url": self.signer.issue(base_url, object_id, now, ttl)}
        return 200, {"urls": urls}

    def download_target(self, object_id: str, now: float) -> tuple[Job, PartFile]:
        return self.jobs.resolve_object(object_id, now)

    def part_path(self, job: Job, part: PartFile) -> Any:
        return self.jobs.renderer.folder(job.plan.spec.render_key) / part.name


def parse_object_ids(body: bytes) -> list[str]:
    """``[{"id": "…"}, …]`` -> ids; anything else is a 400 ValidationError."""
    try:
        text = body.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError:
        raise errors.validation("request body is not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise errors.validation(f"malformed JSON: {exc.msg}", exc.lineno, exc.colno, exc.pos + 1) from None
    if not isinstance(data, list):
        raise errors.validation_at('expected a JSON array of objects like {"id": "…"}', text, 0)
    ids: list[str] = []
    for item in data:
        if not isinstance(item, dict) or set(item) != {"id"} or not isinstance(item["id"], str):
            raise errors.validation_at(
                "each element must be an object with exactly one string property 'id'", text, _find(text, item)
            )
        ids.append(item["id"])
    return ids


def _find(text: str, item: object) -> int:
    found = text.find(json.dumps(item, separators=(",", ":")))
    return max(found, 0)
