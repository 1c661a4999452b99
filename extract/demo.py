"""The end-to-end demo behind ``make demo`` / ``cd2 demo``.

Today it runs the foundation: generate (or reuse) the synthetic institution, serve it through
the bundled fake DAP API, and walk through the API the way a client does (login, list, schema,
snapshot, advance the clock, incremental). The extractor and dbt stages join it as they land.
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from pathlib import Path

import requests

from extract.timeutil import iso_z


def _say(message: str) -> None:
    print(message, flush=True)


class _Walkthrough:
    """A few raw API calls against the fake server, printed as they happen."""

    def __init__(self, base_url: str, client_id: str, client_secret: str) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        token = self.session.post(
            f"{base_url}/ids/auth/login",
            auth=(client_id, client_secret),
            data={"grant_type": "client_credentials"},
            timeout=30,
        )
        token.raise_for_status()
        self.session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def get(self, path: str) -> dict:
        response = self.session.get(f"{self.base_url}{path}", timeout=60)
        response.raise_for_status()
        return response.json()

    def run_job(self, namespace: str, table: str, body: dict) -> tuple[dict, int]:
        """Start a query job, wait for it, download its objects; returns (job, rows)."""
        response = self.session.post(f"{self.base_url}/dap/query/{namespace}/table/{table}/data", json=body, timeout=600)
        response.raise_for_status()
        job = response.json()
        while job["status"] not in ("complete", "failed"):
            time.sleep(0.5)
            job = self.get(f"/dap/job/{job['id']}")
        if job["status"] != "complete":
            raise RuntimeError(f"job for {namespace}.{table} failed: {job.get('error')}")
        urls = self.session.post(f"{self.base_url}/dap/object/url", json=job["objects"], timeout=60)
        urls.raise_for_status()
        rows = 0
        for entry in urls.json()["urls"].values():
            payload = requests.get(entry["url"], timeout=600)
            payload.raise_for_status()
            rows += sum(1 for line in gzip.decompress(payload.content).splitlines() if line.strip())
        return job, rows


def run_demo(profile: str = "demo", seed: int = 1, data_dir: Path | None = None) -> int:
    from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer, ServerConfig
    from extract.synth import ensure_generated
    from extract.synth.report import describe_store

    started = time.monotonic()
    _say(f"[1/3] Synthetic institution: profile '{profile}', seed {seed}")
    institution = ensure_generated(profile, seed, data_dir, progress=lambda m: _say(f"      {m}"))
    _say(describe_store(institution.store))

    _say("[2/3] Starting the bundled fake DAP API on a free loopback port")
    config = ServerConfig(port=0, client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET)
    with FakeDapServer(institution.store, config, advance=institution.advance) as server:
        _say(f"      DAP_API_URL={server.url}  DAP_CLIENT_ID={config.client_id}")
        api = _Walkthrough(server.url, config.client_id, config.client_secret)

        _say("[3/3] Walking through the API as a client does")
        tables = api.get("/dap/query/canvas/table")["tables"]
        logs = api.get("/dap/query/canvas_logs/table")["tables"]
        _say(f"      list tables: {len(tables)} in canvas, {len(logs)} in canvas_logs")
        schema = api.get("/dap/query/canvas/table/submissions/schema")
        columns = len(schema["schema"]["properties"]["value"]["properties"]) + 1
        _say(f"      schema of canvas.submissions: version {schema['version']}, {columns} columns")
        job, rows = api.run_job("canvas", "submissions", {"format": "jsonl"})
        _say(f"      snapshot of canvas.submissions: {rows:,} rows in {len(job['objects'])} file(s), at {job['at']}")
        advanced = api.session.post(f"{server.url}/__fake__/advance", json={"hours": 4}, timeout=600)
        advanced.raise_for_status()
        _say(f"      advanced the institution by 4 hours: now {advanced.json()['now']}")
        job, rows = api.run_job("canvas", "submissions", {"format": "jsonl", "since": job["at"]})
        _say(f"      incremental since the snapshot: {rows:,} changed rows, until {job['until']}")
        summary = {
            "profile": profile,
            "seed": seed,
            "tables": len(tables) + len(logs),
            "now": iso_z(institution.store.now),
            "seconds": round(time.monotonic() - started, 1),
        }
    _say("Demo finished: " + json.dumps(summary))
    _say("Next: `cd2 fake-server --profile demo` keeps the API running for your own tries (see README).")
    return 0


if __name__ == "__main__":
    sys.exit(run_demo())
