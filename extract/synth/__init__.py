"""Deterministic synthetic Canvas institution, written as a change log the fake DAP server serves.

    from extract.synth import PROFILES, generate, Institution, ensure_generated, default_data_dir

* ``generate(root, profile, seed)`` builds the initial state of all 114 tables into a new store.
* ``ensure_generated(profile, seed)`` reuses a cached pristine store or generates one.
* ``Institution.advance(hours)`` / ``bump_schema`` / ``reload`` append change batches.

The ground truth is the store itself (``Store.truth_sql`` / ``Store.window_sql``).
"""

from __future__ import annotations

from extract.synth.cache import default_data_dir, ensure_generated
from extract.synth.generator import GENERATOR_VERSION, generate
from extract.synth.institution import Institution
from extract.synth.profiles import PROFILES, Profile

__all__ = [
    "GENERATOR_VERSION",
    "PROFILES",
    "Institution",
    "Profile",
    "default_data_dir",
    "ensure_generated",
    "generate",
]
