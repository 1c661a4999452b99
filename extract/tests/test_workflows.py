"""The GitHub Actions workflows: actionlint passes, and the facts the project relies on hold.

actionlint comes from PyPI (it bundles the Go binary) and runs offline. Its shellcheck/pyflakes
integrations are switched off so that the result does not depend on which of those happen to
be installed. The structural tests read the YAML: schedule, state restore/save around
``cd2 run``, secrets only through ``env``, Pages permissions, concurrency, timeouts.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO_ROOT / ".github" / "workflows"
CI = WORKFLOWS / "ci.yml"
SCHEDULED = WORKFLOWS / "scheduled.yml"
DB_PATH = "data/cd2.duckdb"
PINNED_BY_MAJOR = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@v\d+$")


# --- helpers -----------------------------------------------------------------------------------


def actionlint_binary() -> str:
    candidate = Path(sys.executable).with_name("actionlint")
    if candidate.exists():
        return str(candidate)
    found = shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is not installed: it comes with the project's requirements (make setup)")
    return found


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    command = [actionlint_binary(), "-oneline", "-no-color", "-shellcheck=", "-pyflakes=", *map(str, files)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)


def load(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(doc, dict), f"{path} is not a mapping"
    return doc


def triggers(doc: dict[str, Any]) -> dict[str, Any]:
    """``on:`` (YAML 1.1 reads the bare key as the boolean True)."""
    on = doc.get("on", doc.get(True))
    assert isinstance(on, dict), f"'on' should be a mapping, got {on!r}"
    return on


def steps(doc: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return list(doc["jobs"][job]["steps"])


def index_of(job_steps: list[dict[str, Any]], predicate: Any, what: str) -> int:
    matches = [i for i, step in enumerate(job_steps) if predicate(step)]
    assert matches, f"no step {what}"
    return matches[0]


def uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).split("@")[0] == action


def runs(step: dict[str, Any], text: str) -> bool:
    return text in str(step.get("run", ""))


def paths_of(step: dict[str, Any]) -> list[str]:
    return [line.strip() for line in str(step.get("with", {}).get("path", "")).splitlines() if line.strip()]


def walk(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, (*path, i))
    else:
        yield path, node


def expand_cron_field(field: str, low: int, high: int) -> set[int]:
    values: set[int] = set()
    for part in field.split(","):
        spec, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if spec == "*":
            start, end = low, high
        elif "-" in spec:
            start, end = (int(x) for x in spec.split("-"))
        else:
            start = end = int(spec)
            if step_text:
                end = high
        values.update(range(start, end + 1, step))
    return values


# --- actionlint --------------------------------------------------------------------------------


def test_actionlint_passes_on_both_workflows() -> None:
    assert CI.exists() and SCHEDULED.exists()
    result = actionlint(CI, SCHEDULED)
    assert result.returncode == 0, f"actionlint found problems:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize(
    ("name", "old", "new", "rule"),
    [
        ("bad-cron", '"17 */4 * * *"', '"17 */4 * * * *"', "[events]"),
        ("undefined-step", "steps.check.outputs.ok", "steps.chekc.outputs.ok", "[expression]"),
        ("unknown-job-key", "timeout-minutes: 330", "timeout_minutes: 330", "[syntax-check]"),
        (
            "bad-action-input",
            "restore-keys: ${{ env.STATE_PREFIX }}",
            "restore-key: ${{ env.STATE_PREFIX }}",
            "[action]",
        ),
    ],
)
def test_actionlint_rejects_a_broken_copy(tmp_path: Path, name: str, old: str, new: str, rule: str) -> None:
    """Proof that the check above can fail: the same file with one deliberate mistake."""
    text = SCHEDULED.read_text(encoding="utf-8")
    assert old in text, f"{name}: the workflow no longer contains {old!r}; update this test"
    broken = tmp_path / ".github" / "workflows" / f"broken-{name}.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = actionlint(broken)
    assert result.returncode != 0, f"actionlint accepted the broken copy ({name})"
    assert rule in result.stdout, f"expected a {rule} error for {name}, got:\n{result.stdout}{result.stderr}"


# --- both workflows ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [CI, SCHEDULED], ids=["ci", "scheduled"])
def test_actions_pinned_by_major_and_jobs_time_out(path: Path) -> None:
    doc = load(path)
    used = [value for keys, value in walk(doc["jobs"]) if keys and keys[-1] == "uses"]
    assert used, "no actions used at all?"
    assert [u for u in used if not PINNED_BY_MAJOR.match(str(u))] == []
    for name, job in doc["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int) and job["timeout-minutes"] > 0, f"job {name}: no timeout"
    # Read-only token by default; anything more is granted per job.
    assert doc.get("permissions") == {"contents": "read"}
    assert doc.get("defaults", {}).get("run", {}).get("shell") == "bash", "bash -eo pipefail for every run step"


@pytest.mark.parametrize("path", [CI, SCHEDULED], ids=["ci", "scheduled"])
def test_python_311_with_a_pip_cache_on_requirements(path: Path) -> None:
    doc = load(path)
    for name in doc["jobs"]:
        job_steps = doc["jobs"][name].get("steps", [])
        setups = [s for s in job_steps if uses(s, "actions/setup-python")]
        if not setups:
            continue
        options = setups[0]["with"]
        assert str(options["python-version"]) == "3.11", name
        assert options.get("cache") == "pip" and options.get("cache-dependency-path") == "requirements.txt", name


# --- ci.yml --------------------------------------------------------------------------------------


def test_ci_triggers_and_cancels_superseded_runs() -> None:
    doc = load(CI)
    on = triggers(doc)
    assert "pull_request" in on
    assert on["push"]["branches"] == ["main"]
    concurrency = doc["concurrency"]
    assert "github.ref" in concurrency["group"] and concurrency["cancel-in-progress"] is True


def test_ci_runs_lint_tests_and_builds_the_docs_artifact() -> None:
    doc = load(CI)
    all_runs = "\n".join(str(s.get("run", "")) for job in doc["jobs"].values() for s in job["steps"])
    for command in ("make lint", "make dbt-check", "make pytest", "make demo"):
        assert command in all_runs, f"CI does not run {command}"
    docs_steps = steps(doc, "docs")
    build = index_of(docs_steps, lambda s: runs(s, "make demo"), "building the demo and its docs site")
    upload = index_of(
        docs_steps,
        lambda s: uses(s, "actions/upload-artifact") and "target/static_index.html" in paths_of(s),
        "uploading target/static_index.html",
    )
    assert build < upload
    assert docs_steps[upload]["with"].get("if-no-files-found") == "error", "a missing docs site must fail the job"
    # `make demo`'s last `cd2 run` builds the docs site (`dbt docs generate --static` in extract/run.py).
    demo = (REPO_ROOT / "extract" / "demo.py").read_text(encoding="utf-8")
    assert "docs=last" in demo and '["--no-docs"]' in demo
    assert '"docs", "generate", "--static"' in (REPO_ROOT / "extract" / "run.py").read_text(encoding="utf-8")


# --- scheduled.yml ---------------------------------------------------------------------------------


def test_scheduled_every_four_hours_and_by_hand() -> None:
    on = triggers(load(SCHEDULED))
    assert "workflow_dispatch" in on
    crons = [entry["cron"] for entry in on["schedule"]]
    assert len(crons) == 1
    minute, hour, day, month, weekday = crons[0].split()
    assert len(expand_cron_field(minute, 0, 59)) == 1, "one run per matching hour"
    assert expand_cron_field(hour, 0, 23) == {0, 4, 8, 12, 16, 20}
    assert (day, month, weekday) == ("*", "*", "*")


def test_scheduled_runs_never_overlap() -> None:
    doc = load(SCHEDULED)
    concurrency = doc["concurrency"]
    assert concurrency["group"] and "${{" not in concurrency["group"], "one fixed group: one writer of the DuckDB file"
    assert concurrency["cancel-in-progress"] is False, "a running sync must never be cancelled by the next one"


def test_secrets_only_through_env() -> None:
    doc = load(SCHEDULED)
    secret_uses = [(keys, value) for keys, value in walk(doc) if "secrets." in str(value)]
    assert secret_uses, "the scheduled workflow should use the DAP secrets"
    for keys, value in secret_uses:
        assert len(keys) >= 2 and keys[-2] == "env", f"secret outside an env mapping at {keys}: {value}"
        assert re.fullmatch(r"\$\{\{ secrets\.[A-Z0-9_]+ \}\}", str(value)), f"{keys}: {value}"
    job_steps = steps(doc, "sync")
    run = job_steps[index_of(job_steps, lambda s: runs(s, "cd2 run"), "running cd2 run")]
    env = run["env"]
    assert env["DAP_CLIENT_ID"] == "${{ secrets.DAP_CLIENT_ID }}"
    assert env["DAP_CLIENT_SECRET"] == "${{ secrets.DAP_CLIENT_SECRET }}"
    assert env["DAP_API_URL"] == "${{ vars.DAP_API_URL }}"
    assert not run.get("continue-on-error"), "a failed cd2 run must fail the job"


def test_state_restored_before_cd2_run_and_saved_always() -> None:
    doc = load(SCHEDULED)
    assert doc["env"]["CD2_DB"] == DB_PATH
    job_steps = steps(doc, "sync")
    restore = index_of(job_steps, lambda s: uses(s, "actions/cache/restore"), "restoring the DuckDB file")
    run = index_of(job_steps, lambda s: runs(s, "cd2 run"), "running cd2 run")
    save = index_of(job_steps, lambda s: uses(s, "actions/cache/save"), "saving the DuckDB file")
    assert restore < run < save
    restore_step, save_step = job_steps[restore], job_steps[save]
    assert DB_PATH in paths_of(restore_step) and f"{DB_PATH}.wal" in paths_of(restore_step)
    assert paths_of(save_step) == paths_of(restore_step)
    # Unique key per run; the prefix in restore-keys finds the newest saved entry.
    key, prefix = restore_step["with"]["key"], restore_step["with"]["restore-keys"]
    assert "github.run_id" in key and key.startswith(prefix) and key != prefix
    assert save_step["with"]["key"] == key
    # Saved whatever happened to cd2 run / dbt (only a file DuckDB cannot open is held back).
    assert "always()" in save_step["if"]
    check = job_steps[index_of(job_steps, lambda s: s.get("id") == "check", "checking the file before saving")]
    assert "always()" in check["if"] and "duckdb.connect" in check["run"]
    assert run < job_steps.index(check) < save


def test_logs_uploaded_always() -> None:
    doc = load(SCHEDULED)
    job_steps = steps(doc, "sync")
    run = job_steps[index_of(job_steps, lambda s: runs(s, "cd2 run"), "running cd2 run")]
    tee = re.search(r"\|\s*tee\s+(\S+)", run["run"])
    assert tee, "cd2 run's output should be kept in a file"
    upload = job_steps[
        index_of(job_steps, lambda s: uses(s, "actions/upload-artifact") and "logs/" in paths_of(s), "uploading logs")
    ]
    assert upload["if"] == "always()"
    assert "target/run_results.json" in paths_of(upload)
    assert tee.group(1).startswith("logs/"), "the cd2 output file is inside the uploaded logs/ folder"


def test_docs_published_to_pages() -> None:
    doc = load(SCHEDULED)
    jobs = doc["jobs"]
    sync_steps = steps(doc, "sync")
    upload = sync_steps[
        index_of(sync_steps, lambda s: uses(s, "actions/upload-pages-artifact"), "uploading the Pages artifact")
    ]
    site = upload["with"]["path"]
    assert any(runs(s, "target/static_index.html") and runs(s, f"{site}/index.html") for s in sync_steps)
    deployers = [name for name, job in jobs.items() if any(uses(s, "actions/deploy-pages") for s in job["steps"])]
    assert len(deployers) == 1
    deploy = jobs[deployers[0]]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert "steps.deployment.outputs.page_url" in deploy["environment"]["url"]
    assert deploy["needs"] == "sync" or "sync" in deploy["needs"]
    # Only the deploy job may write to Pages.
    for name, job in jobs.items():
        if name != deployers[0]:
            assert "pages" not in job.get("permissions", {}), name
