"""Crashes and faults, survived and proven: the fast part of the crash suite (``bench/soak.py`` is
the long part, with the same trials many times over and 100 rounds in a row).

* ``kill -9`` of ``cd2 sync`` (the real CLI, a subprocess) at seeded random moments, during a
  snapshot and during an incremental; a re-run lands, row for row, what a clean run lands (and
  the clean run equals the truth).
* ``kill -9`` of ``cd2 run --skip-sync`` (dbt in-process) at seeded random moments, on a first
  build and on an incremental one; a re-run builds current-state tables and tombstones equal,
  row for row, to a clean build's.
* Every fault class of the fake server (``sync_helpers.FAULT_CLASSES``): recovered, or (the
  persistent ones) a clear failure of that table only that a re-run recovers.
* A full disk (a small tmpfs; root only) during downloads and during landing: the real error
  is kept, nothing is retried as a download error, no watermark moves without its data, and a
  re-run after freeing space lands what a clean run does. DuckDB's temporary directory limit
  (``max_temp_directory_size``) gives a full "disk" anywhere.

Seeds are a fixed list (deterministic CI) and are named in every assertion message. Per fault
class, trials, passes, rows lost and rows doubled go to ``.cache/reliability/crash_fast.json``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import pytest

from extract.synth import Institution
from extract.tests.bench_modules import load_bench
from extract.tests.sync_helpers import (
    BUILD_SELECT,
    BUILD_TABLES,
    DISK_PHASES,
    FAULT_CLASSES,
    FAULT_TABLES,
    RELIABILITY_DIR,
    BuildKillBench,
    CannotMountError,
    ClassTally,
    SyncKillBench,
    TrialResult,
    disk_full_trial,
    fault_trial,
    fresh_institution,
    record_reliability,
    run_sync,
    serving,
    small_filesystem,
    temp_dir_full_trial,
)

pytestmark = pytest.mark.slow

RESULTS = RELIABILITY_DIR / "crash_fast.json"
SYNC_SEEDS = (1103, 2207, 3301, 4409)  # even positions: a snapshot, odd: an incremental
BUILD_SEEDS = (7001, 7103, 7207, 7309)  # even positions: a first build, odd: an incremental one


@pytest.fixture(scope="module")
def synth_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synth-cache-crash")


@pytest.fixture
def institution(synth_cache: Path, tmp_path: Path) -> Institution:
    return fresh_institution(synth_cache, tmp_path / "store")


@pytest.fixture
def tallies() -> Iterator[dict[str, ClassTally]]:
    """Per fault class results of one test, written (merged) to RESULTS even if the test fails."""
    found: dict[str, ClassTally] = {}
    yield found
    if found:
        record_reliability(RESULTS, found, suite="fast", institution="tiny")


# ---- kill -9 -----------------------------------------------------------------------------------------
def test_kill_9_of_sync_then_a_rerun_lands_what_a_clean_run_lands(
    institution: Institution, tmp_path: Path, tallies: dict[str, ClassTally]
) -> None:
    with serving(institution) as server:
        bench = SyncKillBench(server, tmp_path / "sync")
        results = [bench.trial(seed, SyncKillBench.KINDS[i % 2]) for i, seed in enumerate(SYNC_SEEDS)]
    for result in results:
        result.tally(tallies)
    assert [f"seed {r.seed}: {r.detail}" for r in results if not r.passed] == []
    killed = sum(r.interrupted for r in results)
    assert killed >= len(results) // 2, f"only {killed} of {len(results)} kills came while cd2 sync ran"


def test_kill_9_of_the_build_then_a_rerun_builds_what_a_clean_build_does(
    institution: Institution, tmp_path: Path, tallies: dict[str, ClassTally]
) -> None:
    with serving(institution) as server:
        bench = BuildKillBench(server, tmp_path / "build", BUILD_TABLES, BUILD_SELECT)
    results = [bench.trial(seed, BuildKillBench.KINDS[i % 2]) for i, seed in enumerate(BUILD_SEEDS)]
    for result in results:
        result.tally(tallies)
    assert [f"seed {r.seed}: {r.detail}" for r in results if not r.passed] == []
    killed = sum(r.interrupted for r in results)
    assert killed >= len(results) // 2, f"only {killed} of {len(results)} kills came while the build ran"


# ---- the fake server's faults -------------------------------------------------------------------------
def test_every_server_fault_class_is_recovered_or_fails_that_table_clearly(
    institution: Institution, tmp_path: Path, tallies: dict[str, ClassTally]
) -> None:
    db = tmp_path / "cd2.duckdb"
    failures: list[str] = []
    with serving(institution) as server:
        assert run_sync(server, db, FAULT_TABLES).ok
        for index, fault_class in enumerate(FAULT_CLASSES):
            if index % 3 == 0:
                server.advance(1)  # new rows to land (an advance costs ~1.5 s; every sync posts new queries anyway)
            outcome = fault_trial(server, db, fault_class)
            tallies.setdefault(f"server fault: {fault_class.name}", ClassTally()).add(
                outcome.passed, outcome.damage.lost, outcome.damage.doubled, outcome.detail
            )
            if not outcome.passed:
                failures.append(f"{fault_class.name}: {outcome.detail}")
    assert not failures, failures


# ---- a full disk --------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    try:
        with small_filesystem(tmp_path / "disk", 64 * 2**20) as disk:
            yield disk
    except CannotMountError as exc:
        pytest.skip(f"no small filesystem to fill (the temp-directory limit test still runs): {exc}")


def test_a_full_disk_fails_clearly_and_a_rerun_after_freeing_space_completes(
    institution: Institution, small_disk: Path, tallies: dict[str, ClassTally]
) -> None:
    with serving(institution) as server:
        results = [disk_full_trial(server, small_disk, phase) for phase in DISK_PHASES]
    for result in results:
        result.tally(tallies)
    assert [f"{r.name}: {r.detail}" for r in results if not r.passed] == []


def test_a_full_temporary_directory_fails_clearly_and_a_rerun_completes(
    institution: Institution, tmp_path: Path, tallies: dict[str, ClassTally]
) -> None:
    """Anywhere (no mount needed): DuckDB's own cap on its temporary directory, met by a load
    that spills."""
    with serving(institution) as server:
        result = temp_dir_full_trial(server, tmp_path)
    result.tally(tallies)
    assert result.passed, result.detail


# ---- the long part's script -----------------------------------------------------------------------------
def test_the_soak_scripts_arguments_and_report() -> None:
    soak = load_bench("soak")
    args = soak.parse_args(["--trials", "2", "--rounds", "5"])
    assert (args.trials, args.rounds, args.profile, args.out.name) == (2, 5, "tiny", "soak_tiny.json")
    for bad in (["--fault-rate", "2"], ["--trials", "-1"]):
        with pytest.raises(SystemExit):
            soak.parse_args(bad)
    seconds = (30.0, 10.0, 11.0, 12.0, 13.0)  # round 1 is the snapshot: not part of the steady state
    results = {
        "meta": {"profile": "tiny", "trials_per_class": 2, "rounds": 5, "code_version": "abc"},
        "classes": {
            "kill -9 of cd2 sync (snapshot)": {
                **asdict(ClassTally(trials=2, passes=1, rows_lost=3, interrupted=2, failures=["seed 5: boom"])),
                "max_rss_mb": 300.5,
            },
            "disk full (download)": {"skipped": "not root"},
        },
        "rounds": [
            {
                "round": i + 1,
                "seconds": s,
                "exit": 0,
                "ok": i != 3,
                "max_rss_mb": 280.0 + i,
                "db_bytes": (60 + i) * 2**20,
                "raw_rows": 1000 + 100 * i,
                "fault": "expired URL" if i == 2 else None,
                "rows_lost": 0,
                "rows_doubled": 0,
                "log": "/x/round-4.log",
            }
            for i, s in enumerate(seconds)
        ],
    }
    summary = soak.summarise(results)
    assert (summary["rounds"], summary["rounds_ok"], summary["window"]) == (5, 4, 2)
    assert (summary["median_seconds_first"], summary["median_seconds_last"]) == (10.5, 12.5)
    assert (summary["max_rss_mb"], summary["db_growth"], summary["data_growth"]) == (
        284.0,
        1.049,
        1.273,
    )  # from round 2: 64/61 MiB, 1400/1100 rows
    text = soak.render(results)
    assert "| kill -9 of cd2 sync (snapshot) | 2 | 1 | 3 | 0 | 2 | 300.5 |" in text
    assert "| disk full (download) | skipped: not root |" in text
    assert "seed 5: boom" in text and "round 4: see /x/round-4.log" in text
    assert "10.5 → 12.5 (medians of 2)" in text


def test_the_soak_script_tallies_trials_into_its_results_file(tmp_path: Path) -> None:
    soak = load_bench("soak")
    args = soak.parse_args(["--trials", "2", "--rounds", "0", "--out", str(tmp_path / "soak.json")])
    run = soak.Soak(args, tmp_path)
    name = "kill -9 of cd2 sync (snapshot)"
    run.tally([TrialResult(name, 1, True, interrupted=True, max_rss_kb=300 * 1024)])
    run.tally([TrialResult(name, 2, False, lost=4, detail="boom", max_rss_kb=200 * 1024)])
    saved = json.loads(args.out.read_text(encoding="utf-8"))["classes"][name]
    assert (saved["trials"], saved["passes"], saved["rows_lost"], saved["interrupted"]) == (2, 1, 4, 1)
    assert saved["max_rss_mb"] == 300.0 and saved["failures"] == ["seed 2: boom"] and run.failed
