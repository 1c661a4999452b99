"""bench/code_version.py: benchmark runs name the cd2 code they timed, so medians never mix versions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from extract.tests.bench_modules import load_bench

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    return load_bench("code_version")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _commit(repo: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text, encoding="utf-8")
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "c")


def test_version_follows_cd2_code_only(tmp_path: Path) -> None:
    version = _load().cd2_code_version
    _git(tmp_path, "init", "-q")
    _commit(
        tmp_path,
        {
            "extract/run.py": "a = 1\n",
            "extract/tests/test_x.py": "t = 1\n",
            "extract/fake_dap/server.py": "s = 1\n",
            "models/m.sql": "select 1\n",
            "bench/README.md": "figures\n",
        },
    )
    first = version(repo=tmp_path)
    assert len(first) == 12 and not first.endswith("+dirty")

    # tests, the fake API and the benchmark's own files are not the timed code
    _commit(tmp_path, {"extract/tests/test_x.py": "t = 2\n", "extract/fake_dap/server.py": "s = 2\n"})
    _commit(tmp_path, {"bench/README.md": "new figures\n"})
    assert version(repo=tmp_path) == first

    # an uncommitted change to the timed code marks the run dirty; committing it changes the version
    (tmp_path / "models" / "m.sql").write_text("select 2\n", encoding="utf-8")
    assert version(repo=tmp_path) == first + "+dirty"
    assert version(repo=tmp_path, check_dirty=False) == first
    _commit(tmp_path, {})
    second = version(repo=tmp_path)
    assert second != first and not second.endswith("+dirty")
    assert version("HEAD~1", repo=tmp_path, check_dirty=False) == first

    # a new file of the extractor is a new version too
    (tmp_path / "extract" / "new.py").write_text("n = 1\n", encoding="utf-8")
    assert version(repo=tmp_path) == second + "+dirty"


def _load_bench() -> ModuleType:
    return load_bench("vs_dap_client")


def test_resume_keeps_only_runs_of_this_code_and_round_size() -> None:
    bench = _load_bench()
    runs = [
        {"advance_hours": 6.0, "cd2_code": "aaaaaaaaaaaa", "n": 1},
        {"advance_hours": 6.0, "cd2_code": "bbbbbbbbbbbb", "n": 2},  # other code
        {"advance_hours": 5.5, "cd2_code": "aaaaaaaaaaaa", "n": 3},  # other round size
        {"advance_hours": 6.0, "n": 4},  # version unknown
        {"advance_hours": 6.0, "cd2_code": "aaaaaaaaaaaa", "n": 5},
    ]
    assert [r["n"] for r in bench.comparable_runs(runs, 6.0, "aaaaaaaaaaaa")] == [1, 5]
    assert bench.comparable_runs(runs, 6.0, "aaaaaaaaaaaa+dirty") == []
    dirty = [{"advance_hours": 6.0, "cd2_code": "aaaaaaaaaaaa+dirty"}]
    assert bench.comparable_runs(dirty, 6.0, "aaaaaaaaaaaa+dirty") == []


def test_resume_on_uncommitted_code_stops_before_touching_the_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = _load_bench()
    results = tmp_path / "results.json"
    results.write_text('{"profiles": {"demo": {"runs": [{"n": 1}]}}}', encoding="utf-8")
    monkeypatch.setattr(bench, "cd2_code_version", lambda: "aaaaaaaaaaaa+dirty")
    monkeypatch.setattr(bench, "shell", lambda cmd: pytest.fail(f"ran {cmd} before refusing"))
    monkeypatch.setattr(sys, "argv", ["vs_dap_client.py", "--resume", "--out", str(results)])
    with pytest.raises(SystemExit, match="uncommitted changes"):
        bench.main()
    assert results.read_text(encoding="utf-8") == '{"profiles": {"demo": {"runs": [{"n": 1}]}}}'
