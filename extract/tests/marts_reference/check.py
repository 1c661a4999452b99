"""Diff reference modules against a built warehouse: ``python -m extract.tests.marts_reference.check``.

    python -m extract.tests.marts_reference.check --db .cache/dev-x/cd2.duckdb \
        --store data/demo/tiny-seed1/institution --module enrollment --module submissions
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from extract.synth.store import Store
from extract.tests.marts_reference.truth import diff_mart, load_truth, secret_from_env

MODULES = (
    "enrollment", "core", "submissions", "grades", "discussions", "activity", "courses", "risk", "adoption",
    "activity_score", "lti",
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--module", action="append", choices=MODULES, help="reference module (repeatable; all)")
    args = parser.parse_args(argv)
    began = time.monotonic()
    truth = load_truth(args.db, Store(args.store), secret=secret_from_env())
    print(f"truth loaded in {time.monotonic() - began:.1f}s (as of {truth.as_of})")
    failed = False
    for name in args.module or MODULES:
        try:
            module = importlib.import_module(f"extract.tests.marts_reference.{name}")
        except ModuleNotFoundError:
            print(f"{name}: no reference module yet")
            continue
        for mart, expected in module.compute(truth).items():
            problems = diff_mart(args.db, mart, expected, truth.as_of)
            status = "OK" if not problems else "DIFFERS"
            print(f"{name}.{mart}: {status} ({len(expected.rows)} reference rows)")
            for line in problems:
                print(f"    {line}")
            failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
