"""The GitHub Actions workflows: actionlint passes, and the facts the project relies on hold.

actionlint comes from PyPI (it bundles the Go binary) and runs offline. Its shellcheck/pyflakes
integrations are switched off so that the result does not depend on which of those happen to
be installed. The structural tests read the YAML: schedule, state restore/save around
``cd2 run``, secrets only through ``env``, Pages permissions, concurrency, timeouts - and what
the workflows hold no more than they need (issue 29): actions pinned to commits, no git
credentials left by checkouts, least token permissions per job, the DuckDB file (student PII)
never in a cache entry or artifact unencrypted, a job summary of nothing but ``cd2 status``.
"""

from __future__ import annotations

import fnmatch
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
# `uses: owner/repo[/path]@<full commit SHA> # v1.2.3`: the value, and the line it stands on.
PINNED_TO_COMMIT = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
PINNED_LINE = re.compile(
    r"^\s*(?:-\s+)?uses:\s*(?P<action>[\w.-]+/[\w.-]+)(?P<sub>/[\w./-]+)?@(?P<sha>[0-9a-f]{40})"
    r"\s+#\s*(?P<tag>v(?P<major>\d+)(?:\.\d+){0,2})\s*$"
)
# Steps that store files beyond the job: cache entries (restorable by pull-request runs) and artifacts.
STORING_ACTIONS = (
    "actions/cache",
    "actions/cache/save",
    "actions/upload-artifact",
    "actions/upload-pages-artifact",
)


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


def used_actions(doc: dict[str, Any]) -> list[str]:
    return [str(value) for keys, value in walk(doc["jobs"]) if keys and keys[-1] == "uses"]


def as_released(text: str) -> str:
    """The workflow with each SHA pin read as its major version (``@<sha> # v6.1.0`` -> ``@v6``).
    actionlint checks the inputs of well-known actions by version and cannot for a bare commit."""
    return re.sub(r"@[0-9a-f]{40}\s+#\s*v(\d+)(?:\.\d+){0,2}[ \t]*$", r"@v\1", text, flags=re.M)


def step_env(doc: dict[str, Any], job: dict[str, Any], step: dict[str, Any]) -> dict[str, str]:
    """The environment a step sees: workflow, job, then step ``env``."""
    return {**doc.get("env", {}), **job.get("env", {}), **step.get("env", {})}


def resolved_paths(doc: dict[str, Any], job: dict[str, Any], step: dict[str, Any]) -> list[str]:
    """``with.path`` of a step, one entry per line, with ``${{ env.NAME }}`` filled in."""
    env = step_env(doc, job, step)

    def fill(match: re.Match[str]) -> str:
        return str(env.get(match.group(1), match.group(0)))

    return [re.sub(r"\$\{\{\s*env\.(\w+)\s*\}\}", fill, p) for p in paths_of(step)]


def exposes_db(path: str, db: str) -> bool:
    """Whether storing ``path`` (a file, a folder or a glob) would store the DuckDB file ``db`` or
    its write-ahead log as they are."""
    path = path.strip()
    if "CD2_DB" in path or re.search(r"\.duckdb(\.wal)?/?$|\.duckdb\*|\*\.duckdb", path):
        return True
    for target in (db, f"{db}.wal"):
        if fnmatch.fnmatch(target, path) or fnmatch.fnmatch(target, path.rstrip("/") + "/*"):
            return True
        folder = path.rstrip("/")
        if folder in ("", ".", "*", "**") or target.startswith(folder.removeprefix("./") + "/"):
            return True
    return False


def storing_steps(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    for name, job in doc["jobs"].items():
        for step in job.get("steps", []):
            if any(uses(step, action) for action in STORING_ACTIONS):
                yield name, job, step


def soak_cron(doc: dict[str, Any]) -> str:
    match = re.search(r"github\.event\.schedule == '([^']+)'", str(doc["jobs"]["soak"]["if"]))
    assert match, "the soak job should run on its own schedule (github.event.schedule == '<cron>')"
    return match.group(1)


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
    """Proof that the check above can fail: the same file with one deliberate mistake (pins read as
    their release, so that actionlint knows the actions' inputs)."""
    text = as_released(SCHEDULED.read_text(encoding="utf-8"))
    assert old in text, f"{name}: the workflow no longer contains {old!r}; update this test"
    broken = tmp_path / ".github" / "workflows" / f"broken-{name}.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(text.replace(old, new, 1), encoding="utf-8")
    result = actionlint(broken)
    assert result.returncode != 0, f"actionlint accepted the broken copy ({name})"
    assert rule in result.stdout, f"expected a {rule} error for {name}, got:\n{result.stdout}{result.stderr}"


def test_actionlint_checks_the_pinned_actions_inputs(tmp_path: Path) -> None:
    """actionlint knows the inputs of well-known actions by version, not by commit: with every pin
    read as its release tag's major version the workflows still pass, so no input is misspelt."""
    folder = tmp_path / ".github" / "workflows"
    folder.mkdir(parents=True)
    copies = []
    for path in (CI, SCHEDULED):
        copy = folder / path.name
        copy.write_text(as_released(path.read_text(encoding="utf-8")), encoding="utf-8")
        assert "@v" in copy.read_text(encoding="utf-8")
        copies.append(copy)
    result = actionlint(*copies)
    assert result.returncode == 0, f"actionlint found problems:\n{result.stdout}{result.stderr}"


# --- both workflows ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [CI, SCHEDULED], ids=["ci", "scheduled"])
def test_actions_pinned_to_commits_with_their_tag(path: Path) -> None:
    """Every ``uses:`` names a full 40-hex commit with the release tag in a trailing comment; a tag
    (``@v6``) can be moved to other code by whoever controls the action's repository."""
    doc = load(path)
    used = used_actions(doc)
    assert used, "no actions used at all?"
    assert [u for u in used if not PINNED_TO_COMMIT.match(u)] == []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if re.match(r"^\s*(-\s+)?uses:", line)]
    assert len(lines) == len(used), "every `uses:` on a line of its own"
    assert [line for line in lines if not PINNED_LINE.match(line)] == [], "pin without a `# vX.Y.Z` comment"


def test_pins_agree_across_workflows() -> None:
    """One action, one commit and one tag everywhere (both workflows update together); the sub-actions
    of a repository (actions/cache/save) share its commit."""
    commit_of: dict[str, set[str]] = {}
    tag_of: dict[str, set[str]] = {}
    for path in (CI, SCHEDULED):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = PINNED_LINE.match(line)
            if match:
                commit_of.setdefault(match["action"], set()).add(match["sha"])
                tag_of.setdefault(match["sha"], set()).add(match["tag"])
    assert commit_of, "no pinned actions found"
    assert {a: c for a, c in commit_of.items() if len(c) > 1} == {}
    assert {c: t for c, t in tag_of.items() if len(t) > 1} == {}


@pytest.mark.parametrize("path", [CI, SCHEDULED], ids=["ci", "scheduled"])
def test_jobs_time_out_and_run_bash(path: Path) -> None:
    doc = load(path)
    for name, job in doc["jobs"].items():
        assert isinstance(job.get("timeout-minutes"), int) and job["timeout-minutes"] > 0, f"job {name}: no timeout"
    assert doc.get("defaults", {}).get("run", {}).get("shell") == "bash", "bash -eo pipefail for every run step"


@pytest.mark.parametrize("path", [CI, SCHEDULED], ids=["ci", "scheduled"])
def test_checkouts_leave_no_credentials(path: Path) -> None:
    """actions/checkout keeps the job's token in .git/config unless told not to, where every later
    step (and anything that uploads the work tree) can read it. Nothing here pushes or fetches."""
    doc = load(path)
    checkouts = [
        (name, step)
        for name, job in doc["jobs"].items()
        for step in job.get("steps", [])
        if uses(step, "actions/checkout")
    ]
    assert checkouts, "no checkout at all?"
    for name, step in checkouts:
        assert step.get("with", {}).get("persist-credentials") is False, f"job {name}: persist-credentials: false"


@pytest.mark.parametrize("path", [CI, SCHEDULED], ids=["ci", "scheduled"])
def test_token_permissions_least_per_job(path: Path) -> None:
    """None by default; each job names what it gets. Reading the repository is the most any job
    holds, except: deleting cache entries (``actions: write``) in a job that does nothing else, and
    Pages (``pages``/``id-token: write``) in the job that deploys."""
    doc = load(path)
    assert doc.get("permissions") == {}, "top-level `permissions: {}`: nothing unless a job asks"
    for name, job in doc["jobs"].items():
        granted = job.get("permissions")
        assert isinstance(granted, dict), f"job {name}: no permissions of its own (it would get the default)"
        job_steps = job.get("steps", [])
        if "actions" in granted:
            assert granted == {"actions": "write"}, f"job {name}: `actions: write` with nothing else"
            assert not any("uses" in s for s in job_steps), f"job {name}: no actions beside the cache pruning"
            commands = "\n".join(str(s.get("run", "")) for s in job_steps)
            assert "gh cache delete" in commands, f"job {name}: holds actions: write but prunes no cache"
            # Nothing else the token could be used for: gh, jq and shell plumbing only.
            assert not re.search(r"\b(git|curl|wget|make|python\S*|pip|\.venv/)\b", commands), name
            # After the save: the job waits for the job that saves the cache.
            needs = job.get("needs", [])
            needs = [needs] if isinstance(needs, str) else needs
            savers = [
                n for n, j in doc["jobs"].items() if any(uses(s, "actions/cache/save") for s in j.get("steps", []))
            ]
            assert savers and set(savers) <= set(needs), f"job {name}: prunes before the save"
        elif {"pages", "id-token"} & set(granted):
            assert granted == {"pages": "write", "id-token": "write"}, name
            assert all(uses(s, "actions/deploy-pages") for s in job_steps), f"job {name}: Pages rights, other steps"
        else:
            assert granted in ({}, {"contents": "read"}), f"job {name}: {granted}"


@pytest.mark.parametrize("path", [CI, SCHEDULED], ids=["ci", "scheduled"])
def test_no_cache_or_artifact_holds_the_duckdb_file_unencrypted(path: Path) -> None:
    """Cache entries of the default branch can be restored by pull-request runs (also ones that
    changed the workflow) and artifacts are readable by everyone who can read the repository: no
    path stored by either may be, match or contain the DuckDB file or its write-ahead log."""
    doc = load(path)
    db = str(load(SCHEDULED)["jobs"]["sync"].get("env", {}).get("CD2_DB", DB_PATH))
    stored = [(name, step) for name, _job, step in storing_steps(doc)]
    assert stored, "no caches or artifacts at all?"
    for name, job, step in storing_steps(doc):
        for stored_path in resolved_paths(doc, job, step):
            assert not exposes_db(stored_path, db), f"job {name}, step {step.get('name', step['uses'])}: {stored_path}"


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
    doc = load(SCHEDULED)
    on = triggers(doc)
    assert "workflow_dispatch" in on
    crons = [entry["cron"] for entry in on["schedule"] if entry["cron"] != soak_cron(doc)]
    assert len(crons) == 1, "one schedule for the sync (the other is the weekly soak)"
    minute, hour, day, month, weekday = crons[0].split()
    assert len(expand_cron_field(minute, 0, 59)) == 1, "one run per matching hour"
    assert expand_cron_field(hour, 0, 23) == {0, 4, 8, 12, 16, 20}
    assert (day, month, weekday) == ("*", "*", "*")


def test_scheduled_runs_never_overlap() -> None:
    """One fixed group for every run that is not a soak run: one writer of the DuckDB file. Soak
    runs (no state) queue in a group of their own, so a long soak never holds up a sync and a
    waiting sync never replaces a waiting soak (GitHub keeps one waiting run per group)."""
    doc = load(SCHEDULED)
    concurrency = doc["concurrency"]
    cron = soak_cron(doc)
    assert concurrency["group"] == (
        f"${{{{ (github.event.schedule == '{cron}' || inputs.soak) && 'cd2-soak' || 'cd2-scheduled-sync' }}}}"
    )
    assert concurrency["cancel-in-progress"] is False, "a running sync must never be cancelled by the next one"
    assert "concurrency" not in doc["jobs"]["sync"], "the whole run (save, prune, deploy) holds the group"


def test_soak_weekly_with_least_permissions() -> None:
    """`make soak` (and `make engines-demo`, `make marts-seeds`, `make spark-test`) once a week (or
    by hand with the `soak` input) in a job of its own: read-only token, no secrets, a timeout, and
    only the results and printed reports uploaded."""
    doc = load(SCHEDULED)
    on = triggers(doc)
    cron = soak_cron(doc)
    assert cron in [entry["cron"] for entry in on["schedule"]]
    minute, hour, day, month, weekday = cron.split()
    assert len(expand_cron_field(minute, 0, 59)) == len(expand_cron_field(hour, 0, 23)) == 1
    assert (day, month) == ("*", "*") and len(expand_cron_field(weekday, 0, 6)) == 1, "weekly"
    assert on["workflow_dispatch"]["inputs"]["soak"]["type"] == "boolean"
    soak, sync = doc["jobs"]["soak"], doc["jobs"]["sync"]
    assert soak["if"] == f"github.event.schedule == '{cron}' || inputs.soak"
    assert sync["if"] == f"github.event.schedule != '{cron}' && !inputs.soak", "a soak run does not sync"
    assert soak["permissions"] == {"contents": "read"}
    assert 0 < soak["timeout-minutes"] <= 240
    assert "secrets." not in str(soak), "the soak suite runs on synthetic data: no secrets"
    soak_steps = soak["steps"]
    run = soak_steps[index_of(soak_steps, lambda s: runs(s, "make soak"), "running make soak")]
    report = re.search(r"make soak 2>&1 \| tee (\S+)", run["run"])
    assert report, "the printed report is kept in a file"
    # beside it, weekly, the engines' differential test on the demo institution
    engines = soak_steps[index_of(soak_steps, lambda s: runs(s, "make engines-demo"), "running make engines-demo")]
    engines_report = re.search(r"make engines-demo 2>&1 \| tee (\S+)", engines["run"])
    assert engines_report, "the engines test's printed report is kept in a file"
    # the marts' differential test on more seeds than make test's
    seeds = soak_steps[index_of(soak_steps, lambda s: runs(s, "make marts-seeds"), "running make marts-seeds")]
    seeds_report = re.search(r"make marts-seeds 2>&1 \| tee (\S+)", seeds["run"])
    assert seeds_report, "the seeds' printed report is kept in a file"
    # a round equals a full rebuild, on demo (make test runs it on tiny)
    rounds = soak_steps[index_of(soak_steps, lambda s: runs(s, "make rounds-demo"), "running make rounds-demo")]
    rounds_report = re.search(r"make rounds-demo 2>&1 \| tee (\S+)", rounds["run"])
    assert rounds_report, "the rounds test's printed report is kept in a file"
    # and Spark over the lake (make test leaves it out)
    spark = soak_steps[index_of(soak_steps, lambda s: runs(s, "make spark-test"), "running make spark-test")]
    spark_report = re.search(r"make spark-test 2>&1 \| tee (\S+)", spark["run"])
    assert spark_report, "the Spark test's printed report is kept in a file"
    uploads = [s for s in soak_steps if uses(s, "actions/upload-artifact")]
    assert len(uploads) == 1 and uploads[0]["if"] == "always()"
    assert sorted(paths_of(uploads[0])) == sorted(
        [
            "bench/results/soak*.json",
            report.group(1),
            engines_report.group(1),
            seeds_report.group(1),
            rounds_report.group(1),
            spark_report.group(1),
        ]
    )


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
    sync = doc["jobs"]["sync"]
    assert sync["env"]["CD2_DB"] == DB_PATH
    archive = sync["env"]["STATE_ARCHIVE"]
    assert archive.endswith(".gpg") and not archive.startswith(DB_PATH), "the cache holds the encrypted archive"
    job_steps = steps(doc, "sync")
    restore = index_of(job_steps, lambda s: uses(s, "actions/cache/restore"), "restoring the state")
    decrypt = index_of(job_steps, lambda s: s.get("id") == "decrypt", "decrypting the state")
    run = index_of(job_steps, lambda s: runs(s, "cd2 run"), "running cd2 run")
    check = index_of(job_steps, lambda s: s.get("id") == "check", "checking the file before saving")
    encrypt = index_of(job_steps, lambda s: s.get("id") == "encrypt", "encrypting the state")
    save = index_of(job_steps, lambda s: uses(s, "actions/cache/save"), "saving the state")
    assert restore < decrypt < run < check < encrypt < save
    restore_step, save_step = job_steps[restore], job_steps[save]
    assert paths_of(restore_step) == paths_of(save_step) == [archive]
    # Unique key per run; the prefix in restore-keys finds the newest saved entry.
    key, prefix = restore_step["with"]["key"], restore_step["with"]["restore-keys"]
    assert "github.run_id" in key and key.startswith(prefix) and key != prefix
    assert save_step["with"]["key"] == key
    # Saved whatever happened to cd2 run / dbt (only a file DuckDB cannot open is held back).
    for i in (check, encrypt, save):
        assert "always()" in job_steps[i]["if"], job_steps[i].get("name")
    assert "duckdb.connect" in job_steps[check]["run"]
    assert "steps.check.outputs.ok == 'true'" in job_steps[encrypt]["if"]
    assert "steps.encrypt.outputs.ok == 'true'" in save_step["if"]


def test_state_encrypted_with_a_repository_secret() -> None:
    """tar | zstd | gpg --symmetric AES-256 with CD2_STATE_KEY (from fd 3, never on a command line);
    the plain file is deleted once the archive reads back; a missing key stops the run before
    anything is restored; a saved state that does not decrypt is treated like none."""
    doc = load(SCHEDULED)
    job_steps = steps(doc, "sync")
    key_env = "${{ secrets.CD2_STATE_KEY }}"
    precheck = job_steps[index_of(job_steps, lambda s: "CD2_STATE_KEY" in s.get("env", {}), "checking the key")]
    assert job_steps.index(precheck) < index_of(job_steps, lambda s: uses(s, "actions/cache/restore"), "restore")
    assert precheck["env"]["CD2_STATE_KEY"] == key_env
    assert "${#CD2_STATE_KEY}" in precheck["run"] and "::error::" in precheck["run"] and "exit 1" in precheck["run"]
    encrypt = job_steps[index_of(job_steps, lambda s: s.get("id") == "encrypt", "encrypting the state")]
    decrypt = job_steps[index_of(job_steps, lambda s: s.get("id") == "decrypt", "decrypting the state")]
    assert encrypt["env"] == {"CD2_STATE_KEY": key_env}
    assert decrypt["env"] == {
        "CD2_STATE_KEY": key_env,
        "CD2_STATE_KEY_PREVIOUS": "${{ secrets.CD2_STATE_KEY_PREVIOUS }}",
    }
    for step in (encrypt, decrypt):
        assert "--passphrase-fd 3" in step["run"] and "--passphrase " not in step["run"]
        assert "--pinentry-mode loopback" in step["run"] and "--batch" in step["run"]
    assert re.search(r"gpg .*--symmetric --cipher-algo AES256", encrypt["run"].replace("\\\n", " "))
    assert encrypt["run"].count("--decrypt") == 1, "the archive is read back before it is saved"
    assert 'rm -f "$CD2_DB" "$CD2_DB.wal"' in encrypt["run"], "the plain file goes once it is encrypted"
    assert encrypt["run"].index("--decrypt") < encrypt["run"].index('rm -f "$CD2_DB"')
    assert "ok=false" in decrypt["run"] and "::warning::" in decrypt["run"]
    assert 'rm -f "$STATE_ARCHIVE"' in decrypt["run"]
    report = job_steps[index_of(job_steps, lambda s: "DECRYPTED" in s.get("env", {}), "reporting the state")]
    assert report["env"]["DECRYPTED"] == "${{ steps.decrypt.outputs.ok }}"
    assert "REQUIRE_STATE" in report["env"]


def test_cache_pruned_by_a_job_of_its_own_after_the_save() -> None:
    """Only this job holds ``actions: write``; it runs after the sync job saved a new entry and
    deletes all but the two newest encrypted entries of the branch, and any unencrypted entry of
    the lineage an earlier version of this workflow saved."""
    doc = load(SCHEDULED)
    holders = [name for name, job in doc["jobs"].items() if "actions" in job.get("permissions", {})]
    assert holders == ["prune-state"]
    prune = doc["jobs"]["prune-state"]
    assert prune["needs"] == "sync"
    assert "needs.sync.outputs.state_saved == 'true'" in prune["if"] and "!cancelled()" in prune["if"]
    assert doc["jobs"]["sync"]["outputs"]["state_saved"] == "${{ steps.save.outcome == 'success' }}"
    (step,) = prune["steps"]
    assert 'gh cache list --key "$STATE_LINEAGE"' in step["run"] and 'gh cache delete "$id"' in step["run"]
    assert ".[2:]" in step["run"] and "startswith($keep) | not" in step["run"]
    assert [n for n, j in doc["jobs"].items() if "gh cache" in str(j.get("steps"))] == ["prune-state"]
    assert doc["env"]["STATE_PREFIX"].startswith(doc["env"]["STATE_LINEAGE"])
    assert doc["env"]["STATE_PREFIX"] != doc["env"]["STATE_LINEAGE"]


def test_job_summary_shows_only_cd2_status() -> None:
    """What goes to $GITHUB_STEP_SUMMARY: the restored-state line and what `cd2 status` prints to
    stdout (it redacts its errors). No log lines, no stderr, nothing from the environment."""
    doc = load(SCHEDULED)
    writers = [
        (name, step)
        for name, job in doc["jobs"].items()
        for step in job.get("steps", [])
        if "GITHUB_STEP_SUMMARY" in str(step.get("run", ""))
    ]
    assert writers, "the sync job should write a summary"
    for name, step in writers:
        text = step["run"]
        assert not re.search(r"\.log\b|\btail\b|\bprintenv\b|\benv\b|\bset -x\b|toJSON", text), (
            f"job {name}, step {step.get('name')}: only cd2 status output in the summary"
        )
    sync_steps = steps(doc, "sync")
    summary = sync_steps[index_of(sync_steps, lambda s: runs(s, "cd2 status"), "summarising with cd2 status")]
    assert summary["if"] == "always()"
    calls = re.findall(r"\.venv/bin/cd2 status[^\n]*", summary["run"])
    assert len(calls) == 1 and "2>" not in calls[0] and "&>" not in calls[0], "cd2 status's stderr stays in the job log"
    assert re.search(r"\.venv/bin/cd2 status [^\n]*>logs/cd2-status\.txt", summary["run"])


def test_logs_uploaded_always() -> None:
    """The logs artifact holds named files that cd2 wrote (its run log, `cd2 status`, and dbt's log
    of the build cd2 ran) and dbt's JSON artifacts: no folders that could pick up anything else."""
    doc = load(SCHEDULED)
    job_steps = steps(doc, "sync")
    run = job_steps[index_of(job_steps, lambda s: runs(s, "cd2 run"), "running cd2 run")]
    tee = re.search(r"\|\s*tee\s+(\S+)", run["run"])
    assert tee, "cd2 run's output should be kept in a file"
    assert re.search(r"\.venv/bin/cd2 run [^|]*\|\s*tee", run["run"]), "the run log is cd2's output"
    upload = job_steps[
        index_of(
            job_steps, lambda s: uses(s, "actions/upload-artifact") and tee.group(1) in paths_of(s), "uploading logs"
        )
    ]
    assert upload["if"] == "always()"
    assert "target/run_results.json" in paths_of(upload)
    allowed = {"logs/cd2-run.log", "logs/cd2-status.txt", "logs/dbt.log"} | {
        "target/run_results.json",
        "target/manifest.json",
        "target/static_index.html",
    }
    assert set(paths_of(upload)) <= allowed, set(paths_of(upload)) - allowed
    all_runs = "\n".join(str(s.get("run", "")) for job in doc["jobs"].values() for s in job.get("steps", []))
    assert not re.search(r"\bprintenv\b|^\s*env\b|toJSON\((env|secrets|github)\)", all_runs, flags=re.M)


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
