"""A synthetic Canvas institution living in a change-log store: advance it, evolve a schema,
simulate a server-side reload, re-send rows with NULLs in "required" columns."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from extract.schema import Column
from extract.synth import advance as advancing
from extract.synth import evolution
from extract.synth.profiles import Profile, profile_named
from extract.synth.store import Store


class Institution:
    """The handle on a generated store; every change goes through ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(cls, root: Path) -> Institution:
        return cls(Store(root))

    @property
    def root(self) -> Path:
        return self.store.root

    @property
    def profile(self) -> Profile:
        return profile_named(self.store.profile)

    @property
    def seed(self) -> int:
        return self.store.seed

    def advance(self, hours: float) -> datetime:
        """One change batch covering ``hours`` of activity; returns the new ``now``."""
        return advancing.advance(self.store, self.profile, hours)

    def bump_schema(self, qname: str, column: Column | None = None) -> int:
        """Add a column to ``qname`` (default: a new nullable one); returns the new version."""
        return evolution.bump_schema(self.store, qname, column)

    def relax_schema(self, qname: str, columns: Sequence[str] | None = None) -> int:
        """A version bump of ``qname`` that only makes ``columns`` nullable (default: every value
        column its schema calls required); returns the new version."""
        return evolution.relax_schema(self.store, qname, columns)

    def null_required(self, qname: str, columns: Sequence[str] | None = None, rows: int = 20) -> datetime:
        """Re-send ``rows`` live rows of ``qname`` with ``columns`` NULL (default: the value columns
        its first schema version calls required); returns the commit time."""
        return evolution.null_required(self.store, self.profile, qname, columns, rows)

    def late_rows(self, qname: str, rows: int = 20, older_than_hours: float = 24) -> datetime:
        """Commit ``rows`` new records of ``qname`` with event times at least ``older_than_hours``
        old (requests logged late); returns the commit time."""
        return evolution.late_rows(self.store, self.profile, qname, rows, older_than_hours)

    def reload(self, qname: str, drop_fraction: float = 0.01) -> datetime:
        """Server-side reload of ``qname``: re-stamp live rows, silently drop a few; returns its time."""
        return evolution.reload(self.store, self.profile, qname, drop_fraction)

    def copy_to(self, dest: Path) -> Institution:
        """A private copy (e.g. of a cached store a test wants to advance)."""
        shutil.copytree(self.root, dest)
        return Institution.open(dest)
