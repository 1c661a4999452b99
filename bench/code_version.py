"""Which version of the timed ``cd2`` code a benchmark run measured.

A benchmark whose runs are collected over several sessions (``vs_dap_client.py --resume``) must
not take a median over runs of different code. The version is a hash of git's object ids of
every committed file that ``cd2 run`` executes or reads: the extractor (without its tests, the
fake API and the synthetic data, which serve both sides of the comparison and whose output is
checked equal), the dbt project, and the pinned requirements. Uncommitted changes to those
files add ``+dirty``, so such runs never share a median with committed ones.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CD2_CODE = (
    "extract",
    "models",
    "macros",
    "tests",
    "seeds",
    "snapshots",
    "dbt_project.yml",
    "profiles.yml",
    "requirements.txt",
    "pyproject.toml",
)
NOT_CD2_CODE = ("extract/tests/", "extract/fake_dap/", "extract/synth/")


def _git(args: list[str], repo: Path) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def _is_cd2_code(path: str) -> bool:
    return not path.startswith(NOT_CD2_CODE)


def cd2_code_version(rev: str = "HEAD", repo: Path = ROOT, check_dirty: bool = True) -> str:
    """12 hex digits naming the cd2 code at ``rev``; with ``check_dirty`` (for ``HEAD``), ``+dirty``
    when the working tree differs from it in any of those files."""
    listing = _git(["ls-tree", "-r", "--full-tree", rev, "--", *CD2_CODE], repo).splitlines()
    # "<mode> blob <object id>\t<path>": the object id changes with the content
    kept = sorted(line for line in listing if _is_cd2_code(line.split("\t", 1)[1]))
    version = hashlib.sha256("\n".join(kept).encode()).hexdigest()[:12]
    if check_dirty:
        changed = _git(["status", "--porcelain", "--untracked-files=all", "--", *CD2_CODE], repo).splitlines()
        if any(_is_cd2_code(line[3:]) for line in changed):
            version += "+dirty"
    return version
