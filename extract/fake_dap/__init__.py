"""A faithful local fake of Instructure's DAP Query API (Canvas Data 2), served from a change-log Store.

Good enough for Instructure's own ``dap`` CLI (``DAP_API_URL=srv.url``, ``--no-tracking``) and for
the project's extractor: login + JWT, table list, schema, query jobs (snapshot / incremental, reuse,
expiry), output files in jsonl / csv / tsv / parquet (gzip, Spark-like part names), pre-signed
download URLs, per-endpoint rate limits, switchable faults, and ``/__fake__`` control endpoints.

Jobs end at once by default; ``job_completion`` makes them take N polls, T seconds, or a duration
that grows with the job's rows (``scaled:BASE+PER_MROWS[:cap=MAX]``, preset ``realistic``:
``scaled:20+30:cap=900``, see ``config.Completion``). With ``rate_limits=True`` the real per-minute
limits apply per ``rate_window_s`` (shorter for benchmarks, with ``Completion.scaled`` alike).

    from extract.fake_dap import FakeDapServer, ServerConfig, Fault
    with FakeDapServer(store, ServerConfig(), advance=inst.advance) as srv:
        srv.url                                  # DAP_API_URL
        srv.faults.add(Fault(kind="http_status", endpoint="create_job", status=503, times=2))
        srv.request_log.max_in_window("create_job", 60)
"""

from extract.fake_dap.config import (
    BUCKETS,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    REAL_RATE_LIMITS,
    ServerConfig,
)
from extract.fake_dap.faults import KINDS as FAULT_KINDS
from extract.fake_dap.faults import Fault, FaultSet
from extract.fake_dap.reqlog import RequestLog, RequestRecord
from extract.fake_dap.server import FakeDapServer

__all__ = [
    "BUCKETS",
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "FAULT_KINDS",
    "REAL_RATE_LIMITS",
    "FakeDapServer",
    "Fault",
    "FaultSet",
    "RequestLog",
    "RequestRecord",
    "ServerConfig",
]
