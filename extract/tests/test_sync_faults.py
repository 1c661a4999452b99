"""Faults end in a successful retry or a clear error for that table only; a re-run reaches the truth.

The server's fault classes, ``kill -9`` of the sync and of the build, and a full disk are tried in
``test_crash_suite.py`` (their classes in ``sync_helpers.FAULT_CLASSES``); here, running out of
memory."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from extract.synth import Institution
from extract.tests.sync_helpers import fresh_institution, replay_mismatches, run_sync, serving

pytestmark = pytest.mark.slow

TABLES = ["canvas.accounts", "canvas.courses", "canvas.submissions", "canvas_logs.web_logs"]
TARGET = "canvas.submissions"


@pytest.fixture(scope="module")
def synth_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synth-cache-faults")


@pytest.fixture
def institution(synth_cache: Path, tmp_path: Path) -> Institution:
    return fresh_institution(synth_cache, tmp_path / "store")


def test_out_of_memory_names_the_setting_and_a_rerun_with_more_memory_completes(
    institution: Institution, tmp_path: Path
) -> None:
    db = tmp_path / "cd2.duckdb"
    with serving(institution) as server:
        # too little for even one reader buffer (DuckDB's JSON reader takes 32 MiB per thread)
        report = run_sync(server, db, [TARGET], duckdb_config={"memory_limit": "16MB", "threads": "2"})
        [failed] = report.failed
        assert failed.error_type == "OutOfMemoryException"
        assert "memory_limit" in (failed.advice or "") and "CD2_MEMORY_LIMIT" in (failed.advice or "")
        con = duckdb.connect(str(db), read_only=True)
        try:
            assert con.execute("SELECT watermark, last_status FROM cd2_meta.table_state").fetchall() == [
                (None, "failed")
            ]
        finally:
            con.close()
        assert run_sync(server, db, [TARGET]).ok
    assert replay_mismatches(db, institution.store, [TARGET]) == {}
