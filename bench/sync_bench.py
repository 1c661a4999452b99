"""Benchmark: land big snapshots with ``cd2 sync`` vs DuckDB's own reader on the very same files.

For each table (default: canvas.submissions and canvas_logs.web_logs of the ``large`` profile)
and format, in one run:

1. ask the fake DAP API for the snapshot once and keep a copy of its files (the server renders
   and caches them; the job is reused, so ``cd2 sync`` downloads the same bytes);
2. time ``cd2 sync`` end to end (job, URLs, download over loopback, typed landing, commit) into
   a fresh DuckDB file;
3. time DuckDB alone: ``CREATE TABLE AS SELECT`` with the same explicit types from the copied
   files into a fresh DuckDB file (the physical floor), and a plain ``count(*)`` scan.

Reports rows/s for each, and the ratio sync / DuckDB. Usage:

    .venv/bin/python bench/sync_bench.py [--profile large] [--formats jsonl,parquet] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extract.dap.auth import Credentials  # noqa: E402
from extract.dap.client import DapClient  # noqa: E402
from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer, ServerConfig  # noqa: E402
from extract.landing.readers import parquet_columns, select_for  # noqa: E402
from extract.schema import TableSchema  # noqa: E402
from extract.sync.progress import LogReporter  # noqa: E402
from extract.sync.runner import SyncOptions, SyncRunner  # noqa: E402
from extract.synth import ensure_generated  # noqa: E402


def bench_client(url: str, **options: Any) -> DapClient:
    """A client of the fake API at ``url`` (no client-side limits unless ``options`` set some)."""
    return DapClient(Credentials(url, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET), **{"limits": {}, **options})


def copy_job_files(client: DapClient, qname: str, fmt: str, dest: Path) -> tuple[TableSchema, list[Path], float]:
    """Run the snapshot job once (rendering is not what we measure) and keep its files."""
    namespace, table = qname.split(".", 1)
    version, doc = client.get_schema(namespace, table)
    schema = TableSchema.from_dap_schema(namespace, table, doc, version)
    started = time.monotonic()
    job = client.wait_for_job(client.start_job(namespace, table, {"format": fmt, "mode": "condensed"}))
    render_s = time.monotonic() - started
    urls = client.object_urls(job.objects)
    dest.mkdir(parents=True, exist_ok=True)
    suffix = {"jsonl": ".json.gz", "parquet": ".parquet", "csv": ".csv.gz", "tsv": ".tsv.gz"}[fmt]
    files = []
    for i, object_id in enumerate(job.objects):
        target = dest / f"part-{i:05d}{suffix}"
        client.download(urls[object_id], target)
        files.append(target)
    return schema, files, render_s


def time_sync(url: str, qname: str, fmt: str, work: Path) -> tuple[float, int]:
    db = work / "sync.duckdb"
    db.unlink(missing_ok=True)
    client = bench_client(url)
    con = duckdb.connect(str(db))
    try:
        options = SyncOptions(tables=[qname], fmt=fmt, work_dir=work / "sync-work")
        started = time.monotonic()
        report = SyncRunner(client, con, options, LogReporter()).run()
        con.execute("CHECKPOINT")
        elapsed = time.monotonic() - started
    finally:
        con.close()
        client.close()
    if not report.ok:
        raise RuntimeError(f"sync failed: {report.failed}")
    return elapsed, report.results[0].rows


def time_duckdb(schema: TableSchema, fmt: str, files: list[Path], work: Path) -> tuple[float, float, int]:
    """(CTAS seconds, count(*) seconds, rows) with the same typed reader the landing uses."""
    columns: list[str] = []
    db = work / "duckdb.duckdb"
    db.unlink(missing_ok=True)
    con = duckdb.connect(str(db))
    try:
        if fmt == "parquet":
            columns = parquet_columns(con, files)
        reader = select_for(schema, fmt, files, parquet_columns=columns)
        started = time.monotonic()
        row = con.execute(f"SELECT count(*) FROM ({reader})").fetchone()
        count_s = time.monotonic() - started
        started = time.monotonic()
        con.execute(f"CREATE TABLE landed AS {reader}")
        con.execute("CHECKPOINT")
        ctas_s = time.monotonic() - started
    finally:
        con.close()
    return ctas_s, count_s, int(row[0]) if row else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="large")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tables", default="canvas.submissions,canvas_logs.web_logs")
    parser.add_argument("--formats", default="jsonl,parquet")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "sync_bench.json")
    args = parser.parse_args()

    institution = ensure_generated(args.profile, args.seed, progress=lambda m: print(f"  {m}", flush=True))
    results = []
    with tempfile.TemporaryDirectory(prefix="cd2-bench-") as tmp:
        work = Path(tmp)
        config = ServerConfig(port=0, cache_dir=work / "server-cache", rows_per_file=500_000, job_completion="polls:1")
        with FakeDapServer(institution.store, config) as server:
            client = bench_client(server.url)
            for qname in args.tables.split(","):
                for fmt in args.formats.split(","):
                    files_dir = work / f"files-{qname}-{fmt}"
                    schema, files, render_s = copy_job_files(client, qname, fmt, files_dir)
                    size = sum(p.stat().st_size for p in files)
                    sync_runs, ctas_runs, count_runs = [], [], []
                    rows = 0
                    for _ in range(args.repeat):
                        sync_s, rows = time_sync(server.url, qname, fmt, work)
                        ctas_s, count_s, duck_rows = time_duckdb(schema, fmt, files, work)
                        if duck_rows != rows:
                            raise RuntimeError(f"{qname}: sync landed {rows} rows, DuckDB read {duck_rows}")
                        sync_runs.append(sync_s)
                        ctas_runs.append(ctas_s)
                        count_runs.append(count_s)
                    sync_s, ctas_s, count_s = (statistics.median(x) for x in (sync_runs, ctas_runs, count_runs))
                    entry = {
                        "table": qname,
                        "format": fmt,
                        "rows": rows,
                        "files": len(files),
                        "megabytes": round(size / 1e6, 1),
                        "server_render_s": round(render_s, 1),
                        "sync_s": round(sync_s, 2),
                        "duckdb_ctas_s": round(ctas_s, 2),
                        "duckdb_count_s": round(count_s, 2),
                        "sync_rows_per_s": round(rows / sync_s),
                        "duckdb_ctas_rows_per_s": round(rows / ctas_s),
                        "duckdb_count_rows_per_s": round(rows / count_s),
                        "ratio_vs_ctas": round(ctas_s / sync_s, 2),
                        "ratio_vs_count": round(count_s / sync_s, 2),
                        "runs": {"sync": sync_runs, "ctas": ctas_runs, "count": count_runs},
                    }
                    results.append(entry)
                    print(json.dumps({k: v for k, v in entry.items() if k != "runs"}), flush=True)
                    shutil.rmtree(files_dir, ignore_errors=True)
            client.close()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"profile": args.profile, "results": results}, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
