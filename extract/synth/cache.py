"""A per-machine cache of generated stores, so tests and demos generate each profile once.

A cached store lives in ``<base_dir>/<profile>-seed<seed>/``. It is reused only when it is
complete, made by the current generator version from the current schemas, and pristine (never advanced, bumped or
reloaded); anything else is regenerated. Generation writes into a temporary sibling that is
renamed into place, under a lock file, so an interrupted run is never reused and concurrent
callers generate once.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from extract.schema import bundled_schemas
from extract.synth.generator import GENERATOR_VERSION, generate
from extract.synth.institution import Institution
from extract.synth.profiles import profile_named
from extract.synth.store import MANIFEST, Store, StoreError

REPO_ROOT = Path(__file__).resolve().parents[2]


def default_data_dir() -> Path:
    """``$CD2_SYNTH_DIR``, else ``<repo>/.cache/synth``."""
    configured = os.environ.get("CD2_SYNTH_DIR")
    return Path(configured) if configured else REPO_ROOT / ".cache" / "synth"


def is_pristine(root: Path, profile: str | None = None, seed: int | None = None) -> bool:
    """A complete store of this generator version (and of ``profile`` / ``seed`` when given)
    that nothing has changed since it was generated."""
    if not (root / MANIFEST).exists():
        return False
    try:
        store = Store(root)
    except (StoreError, ValueError):
        return False
    if (profile is not None and store.profile != profile) or (seed is not None and store.seed != seed):
        return False
    extra = store.extra
    if extra.get("generator_version") != GENERATOR_VERSION or extra.get("complete") is not True:
        return False
    if store.commits or store.now != store.start:
        return False
    if set(store.tables()) != set(bundled_schemas()):  # e.g. $CD2_EXTRA_SCHEMAS added a namespace
        return False
    for qname in store.tables():
        if store.reloads(qname) or len(store.schema_versions(qname)) > 1:
            return False
        if not all(store.file_path(qname, f).exists() for f in store.files(qname)):
            return False
    return True


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_generated(
    profile: str = "tiny",
    seed: int = 1,
    base_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Institution:
    """The cached pristine store of (profile, seed), generating it when missing or stale.

    Callers that advance or otherwise change the institution should work on a copy
    (``Institution.copy_to``): a changed store is no longer reused and gets regenerated.
    """
    profile_named(profile)  # fail fast on an unknown name
    base = Path(base_dir) if base_dir is not None else default_data_dir()
    base.mkdir(parents=True, exist_ok=True)
    target = base / f"{profile}-seed{seed}"
    with _locked(base / f".{target.name}.lock"):
        if is_pristine(target, profile, seed):
            return Institution.open(target)
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=base))
        try:
            generate(scratch, profile, seed, progress=progress)
            if target.exists():
                stale = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=base))
                target.rename(stale / "store")
                shutil.rmtree(stale, ignore_errors=True)
            scratch.rename(target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return Institution.open(target)
