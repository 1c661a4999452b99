"""The benchmark's initial ``cd2 run`` under several ``memory_limit`` settings: wall, steps, peak RSS.

Uses what ``vs_dap_client.py`` uses (same fake API, institution, tables, ``cd2.yml`` and
rendered-job cache; its ``Side.cd2_run`` measures the process tree's peak RSS), without the
official client. Each setting gets a fresh DuckDB file and a warmed dbt parse; a setting other
than the first one seen by that parse file makes dbt re-parse once (a profile setting changed),
in the background thread, and that is included in the wall time.

Usage:
    .venv/bin/python bench/cd2_memory_limit.py --profile large 2GB default
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import vs_dap_client as bench  # noqa: E402

from extract.config import MEMORY_LIMIT_ENV  # noqa: E402
from extract.fake_dap import FakeDapServer  # noqa: E402
from extract.synth import ensure_generated  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="large")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("limits", nargs="+", help="memory_limit values (e.g. 2GB, 50%%), or 'default' for none")
    args = parser.parse_args()
    pristine = ensure_generated(args.profile, args.seed)
    for limit in args.limits:
        with tempfile.TemporaryDirectory(prefix="cd2-memory-", dir=ROOT / ".cache") as tmp:
            cd2_dir = Path(tmp) / "cd2"
            bench.warm_parse(cd2_dir)
            with FakeDapServer(pristine.store, bench.server_config(args.profile, args.seed)) as server:
                side = bench.Side(server.url, cd2_dir, "", "")
                if limit == "default":
                    side.env.pop(MEMORY_LIMIT_ENV, None)
                else:
                    side.env[MEMORY_LIMIT_ENV] = limit
                bench.prerender(server.url, {})
                done, steps = side.cd2_run()
                ok = "dbt build: ok" in done.output
                print(
                    f"{limit}: wall {done.seconds:.1f} s, peak RSS {done.peak_rss_mb:,.0f} MB, steps {steps}, "
                    f"build ok: {ok}, DuckDB file {side.db.stat().st_size / 1e6:,.0f} MB",
                    flush=True,
                )
                if not ok:
                    print(done.output[-3000:])
                    return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
