"""One dbt command run the way ``cd2 run`` runs it, for the benchmarks: in this process, after
``parse_project`` (the parse ``cd2 run`` does once for all its dbt steps), with dbt's own
artifact writing off and the run results written by us.

Prints one JSON line: ``{"ok", "parse_s", "invoke_s", "nodes_s"}``, where ``invoke_s`` is the
dbt command itself with the parsed manifest and ``nodes_s`` dbt's own time for nodes and hooks.
``--skip-unchanged`` (first argument) leaves out the current-state models with nothing new to
merge exactly as ``cd2 run`` does. Usage (CD2_DB, DBT_TARGET_PATH, DBT_LOG_PATH from the
environment):

    .venv/bin/python bench/dbt_inprocess.py [--skip-unchanged] run --select tag:cd2_current_state [--vars ...]
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extract.run import dbt_target_dir, excluding, parse_project, run_dbt  # noqa: E402
from extract.unchanged import unchanged_models  # noqa: E402


def main(args: list[str]) -> int:
    db = Path(os.environ["CD2_DB"])
    skip_unchanged = args[:1] == ["--skip-unchanged"]
    args = args[1:] if skip_unchanged else args
    unchanged = unchanged_models(db, ROOT) if skip_unchanged else []
    vars_ = args[args.index("--vars") + 1] if "--vars" in args else None
    parsed, manifest = parse_project(ROOT, db, vars_)
    if not parsed.ok:
        print(json.dumps({"ok": False, "error": parsed.failures}))
        return 1
    with excluding(manifest, unchanged) as exclude:
        step = run_dbt([*args, *exclude], ROOT, db, manifest, run_results=dbt_target_dir(ROOT) / "run_results.json")
    print(
        json.dumps(
            {
                "ok": step.ok,
                "parse_s": round(parsed.seconds, 3),
                "invoke_s": round(step.seconds, 3),
                "nodes_s": step.nodes_seconds,
                "failures": step.failures[:5],
            }
        )
    )
    return 0 if step.ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
