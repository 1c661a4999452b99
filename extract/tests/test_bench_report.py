"""bench/vs_dap_report.py: the README's benchmark tables are rendered from the results file."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from extract.tests.bench_modules import load_bench


def _load() -> ModuleType:
    return load_bench("vs_dap_report")


def _run(initdb: float, cd2_initial: float, syncdb: float, cd2_round: float) -> dict[str, Any]:
    return {
        "initial": {"dap_initdb_s": initdb, "cd2_total_s": cd2_initial, "pg_disk_mb": 300.0, "duckdb_disk_mb": 200.0},
        "incremental": {"dap_syncdb_s": syncdb, "cd2_total_s": cd2_round, "pg_disk_mb": 310.0, "duckdb_disk_mb": 210.0},
    }


def _entry(
    rows: dict[str, int],
    runs: list[dict[str, Any]],
    initial: tuple[float, float],
    rnd: tuple[float, float],
    code: str = "0123456789ab",
) -> dict[str, Any]:
    return {
        "runs": runs,
        "summary": {
            "runs": len(runs),
            "rows": rows,
            "equal": True,
            "advance_hours": 6.0,
            "cd2_code": code,
            "initial": {
                "dap_initdb_s": initial[0],
                "cd2_total_s": initial[1],
                "dap_rss_mb": 330.0,
                "cd2_rss_mb": 860.0,
                "pg_disk_mb": 300.0,
                "duckdb_disk_mb": 200.0,
                "cd2_steps_s": {"sync": 6.8, "dbt parse": 2.3, "dbt build": 7.1},
            },
            "incremental": {
                "changed_rows": 1000.0,
                "changed_pct": 1.0,
                "dap_syncdb_s": rnd[0],
                "cd2_total_s": rnd[1],
                "dap_rss_mb": 70.0,
                "cd2_rss_mb": 270.0,
                "cd2_steps_s": {"dbt build": 3.2, "sync": 0.4},
            },
        },
    }


def test_tables_carry_the_results_figures_and_ratios() -> None:
    report = _load().report(
        {
            "profiles": {
                "large": _entry(
                    {"t": 90_000, "u": 10_000}, [_run(1000.0, 40.0, 60.0, 12.0)], (1000.0, 40.0), (60.0, 12.0)
                ),
                "demo": _entry(
                    {"t": 9_000, "u": 1_000}, [_run(100.0, 20.0, 5.0, 10.0)] * 3, (100.0, 20.0), (5.0, 10.0)
                ),
                "tiny": {"runs": []},  # no finished run: left out
            }
        }
    )
    report = report.replace("\u00d7", "x")  # the multiplication sign, spelled x in these asserts
    demo_at, large_at = report.index("`demo`: 10,000 rows"), report.index("`large`: 100,000 rows")
    assert demo_at < large_at
    assert "`tiny`" not in report
    assert "| `initdb` 100.0 s | 20.0 s (sync 6.8, parse 2.3, build 7.1) | **5.0x** faster |" in report
    assert "| `syncdb` 5.0 s | 10.0 s (sync 0.4, build 3.2) | 0.5x (slower) |" in report
    assert "1 run (of the 3 the issue asks for); equal data: yes, every run; cd2 code version 0123456789ab." in report
    assert "| 310 MB (tables + indexes) | 210 MB (raw change logs + current state) |" in report
    # scaling: rows per second of each side, and both ratios, per profile in size order
    assert "| `demo` (3) | 10,000 | 100.0 s | 100 | 20.0 s | 500 | 5.0x | 1,000 | 5.0 s | 10.0 s | 0.5x |" in report
    assert (
        "| `large` (1) | 100,000 | 1,000.0 s | 100 | 40.0 s | 2,500 | 25.0x | 1,000 | 60.0 s | 12.0 s | 5.0x |"
        in report
    )
    assert "different versions" not in report  # both profiles timed the same code


def test_profiles_of_different_code_versions_are_flagged() -> None:
    run = [_run(100.0, 20.0, 5.0, 10.0)]
    report = _load().report(
        {
            "profiles": {
                "demo": _entry({"t": 10}, run, (100.0, 20.0), (5.0, 10.0), code="aaaaaaaaaaaa"),
                "large": _entry({"t": 10}, run, (100.0, 20.0), (5.0, 10.0), code="bbbbbbbbbbbb"),
            }
        }
    )
    assert "different versions of the cd2 code (`demo` aaaaaaaaaaaa, `large` bbbbbbbbbbbb)" in report


def test_no_finished_run_is_an_error() -> None:
    with pytest.raises(SystemExit, match="no finished runs"):
        _load().report({"profiles": {"demo": {"runs": []}}})


def test_a_run_resumed_across_invocations_says_when_each_step_ran_and_at_what_speed() -> None:
    report = _load()
    resumed = {
        **_run(100.0, 10.0, 20.0, 5.0),
        "invocations": 2,
        "steps": {
            "dap_initdb:canvas": {"started_at": "2026-11-28T02:50:00Z", "invocation": 1, "cpu_calibration_s": 0.281},
            "dap_initdb:canvas_logs": {
                "started_at": "2026-11-29T01:00:00Z",
                "invocation": 2,
                "cpu_calibration_s": 0.14,
            },
        },
    }
    whole = _run(100.0, 10.0, 20.0, 5.0)
    entry = _entry({"canvas.users": 10}, [whole, resumed], (100.0, 10.0), (20.0, 5.0))
    text = "\n".join(report.profile_table("large", entry))
    assert "Run 1 was resumed" not in text
    assert (
        "Run 2 was resumed: 2 invocations of the benchmark timed its steps: "
        "dap_initdb:canvas 2026-11-28T02:50:00Z (invocation 1, loop 0.28 s); "
        "dap_initdb:canvas_logs 2026-11-29T01:00:00Z (invocation 2, loop 0.14 s)." in text
    )


def test_each_run_with_step_records_states_its_machine_speed_and_ratios() -> None:
    report = _load()
    timed = {
        **_run(1000.0, 40.0, 60.0, 12.0),
        "steps": {
            "dap_initdb:canvas": {"started_at": "2026-11-28T19:43:42Z", "invocation": 1, "cpu_calibration_s": 0.121}
        },
    }
    older = _run(100.0, 10.0, 20.0, 5.0)  # recorded before steps had start times
    entry = _entry({"canvas.users": 50_000}, [older, timed], (1000.0, 40.0), (60.0, 12.0))
    text = "\n".join(report.profile_table("large", entry)).replace("\u00d7", "x")
    assert (
        "(shorter is faster): run 2 from 2026-11-28T19:43:42Z, loop 0.12 s, `initdb` 50 rows/s, 25.0x / 5.0x." in text
    )
    assert "run 1 from" not in text
    assert "Machine speed" not in "\n".join(
        report.profile_table("large", _entry({"t": 1}, [older], (1.0, 1.0), (1.0, 1.0)))
    )
