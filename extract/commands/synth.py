"""``cd2 synth``, ``cd2 fake-server`` and ``cd2 demo``: a synthetic institution, the fake DAP API
serving it, and the end-to-end demo on both."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from extract.commands.common import read_secret_file
from extract.dap.ratelimit import RATE_WINDOW_S
from extract.failures import EXIT_OK, UsageError


def _progress_printer() -> Callable[[str], None]:
    def emit(message: str) -> None:
        print(f"  {message}", file=sys.stderr, flush=True)

    return emit


def generate(args: argparse.Namespace) -> int:
    from extract.synth import ensure_generated
    from extract.synth.report import describe_store

    institution = ensure_generated(args.profile, args.seed, args.data_dir, progress=_progress_printer())
    if args.advance:
        now = institution.advance(args.advance)
        print(f"advanced to {now.isoformat()}Z")
    print(describe_store(institution.store))
    return EXIT_OK


def serve(args: argparse.Namespace) -> int:
    from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, FakeDapServer, ServerConfig
    from extract.fake_dap.config import Completion
    from extract.synth import ensure_generated

    try:
        completion = Completion.parse(args.job_completion).scaled(args.time_scale)
    except ValueError as exc:
        raise UsageError(str(exc), "fix --job-completion") from None
    institution = ensure_generated(args.profile, args.seed, args.data_dir, progress=_progress_printer())
    config = ServerConfig(
        host=args.host,
        port=args.port,
        client_id=args.client_id or DEFAULT_CLIENT_ID,
        client_secret=read_secret_file(args.client_secret_file) if args.client_secret_file else DEFAULT_CLIENT_SECRET,
        rate_limits=args.rate_limits,
        rate_window_s=RATE_WINDOW_S * args.time_scale,
        job_completion=completion.spec(),
        token_lifetime_s=args.token_lifetime,
    )
    server = FakeDapServer(
        institution.store,
        config,
        advance=institution.advance,
        bump_schema=institution.bump_schema,
        reload=institution.reload,
        relax_schema=institution.relax_schema,
        null_required=institution.null_required,
    )
    server.start()
    print(f"Fake DAP API for the '{args.profile}' institution (seed {args.seed}) is listening.")
    print("Use it with these settings (the fake's demo credentials, not real ones):")
    print(f"  export DAP_API_URL={server.url}")
    print(f"  export DAP_CLIENT_ID='{config.client_id}'")
    print(f"  export DAP_CLIENT_SECRET='{config.client_secret}'")
    if args.time_scale != 1:
        print(f"Time is scaled by {args.time_scale:g}: rate limits per {config.rate_window_s:g} s, jobs alike.")
    print(f"Advance the institution's clock: curl -s -X POST {server.url}/__fake__/advance -d '{{\"hours\": 4}}'")
    print("Press Ctrl-C to stop.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
    finally:
        server.stop()
    return EXIT_OK


def demo(args: argparse.Namespace) -> int:
    from extract.demo import run_demo

    return run_demo(args.profile, args.seed, args.data_dir)
