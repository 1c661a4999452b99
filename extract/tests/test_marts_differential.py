"""The marts equal an independent Python implementation of their definitions, round after round.

For several synthetic institutions (``tiny`` at three seeds, ``demo`` at one): sync from the fake
DAP API, ``dbt run`` the marts (and what they need), then advance the institution and repeat.
After every round each mart must equal, row for row, what ``extract/tests/marts_reference``
computes straight from the generator's ground truth (never from our SQL). The same built
warehouse is then checked for privacy: no personal column or value reaches the ``marts`` schema.
"""

from __future__ import annotations

import importlib
import os
import shutil
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from extract.synth import Institution, ensure_generated
from extract.tests.dbt_helpers import ROOT, DbtProject
from extract.tests.marts_reference import Truth
from extract.tests.marts_reference.check import MODULES
from extract.tests.marts_reference.truth import diff_mart, load_truth
from extract.tests.sync_helpers import run_sync, serving

pytestmark = pytest.mark.slow

SECRET = "differential-test-secret"
MARTS = ("--select", "+tag:cd2_marts", "+tag:cd2_pii")
# hours the institution advances before each incremental round: a few hours, then across days
ADVANCES = (7.0, 30.0)
CASES = [("tiny", 1), ("tiny", 2), ("tiny", 3), ("demo", 1)]


def _reference_modules() -> list[object]:
    return [importlib.import_module(f"extract.tests.marts_reference.{name}") for name in MODULES]


def _differences(db: Path, truth: Truth) -> list[str]:
    problems: list[str] = []
    for module in _reference_modules():
        for mart, expected in module.compute(truth).items():  # type: ignore[attr-defined]
            problems += diff_mart(db, mart, expected, truth.as_of)
    return problems


@pytest.fixture(scope="module")
def synth_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(os.environ.get("CD2_SYNTH_DIR", ROOT / ".cache" / "synth"))


@pytest.fixture(scope="module", params=CASES, ids=[f"{p}-seed{s}" for p, s in CASES])
def warehouse(request: pytest.FixtureRequest, synth_cache: Path, tmp_path_factory: pytest.TempPathFactory):
    """Sync + build rounds for one institution; yields (db, truths) after checking every round."""
    profile, seed = request.param
    work = tmp_path_factory.mktemp(f"marts-{profile}-{seed}")
    template = ensure_generated(profile, seed, synth_cache)
    shutil.copytree(template.store.root, work / "store")
    institution = Institution.open(work / "store")
    db = work / "cd2.duckdb"
    dbt = DbtProject(db, work / "dbt")
    os.environ["CD2_PSEUDONYM_SECRET"] = SECRET
    truths: list[Truth] = []
    failures: list[str] = []
    with serving(institution) as server:
        for round_number, hours in enumerate((0.0, *ADVANCES)):
            if hours:
                server.advance(hours)
            began = time.perf_counter()
            report = run_sync(server, db, institution.store.tables())
            assert report.ok, [(r.qualified_name, r.error) for r in report.failed]
            synced = time.perf_counter()
            result = dbt.run("run", *MARTS, "--threads", "2")
            assert result.ok, result.output[-4000:]
            built = time.perf_counter()
            truth = load_truth(db, institution.store, secret=SECRET, earlier=truths)
            problems = _differences(db, truth)
            print(
                f"{profile} seed {seed} round {round_number}: sync {synced - began:.1f}s, "
                f"dbt {built - synced:.1f}s, compare {time.perf_counter() - built:.1f}s"
            )
            failures += [f"round {round_number}: {p}" for p in problems]
            truths.append(truth)
    yield db, truths, failures


def test_marts_equal_the_reference_after_every_round(warehouse) -> None:
    _, truths, failures = warehouse
    assert len(truths) == 1 + len(ADVANCES)
    assert not failures, "\n".join(failures[:40])


def _pii_column_names() -> set[str]:
    """Every column the project tags as personal (`meta.pii`) in staging and pii models, plus raw person ids."""
    names = {"user_id", "grader_id", "real_user_id", "author_id", "associated_user_id", "session_id", "remote_ip"}
    for path in [*(ROOT / "models" / "staging").rglob("_*__models.yml"), *(ROOT / "models" / "pii").glob("*.yml")]:
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            for column in model.get("columns", []):
                if (column.get("config") or {}).get("meta", {}).get("pii") or column.get("meta", {}).get("pii"):
                    names.add(column["name"])
    return names


def test_no_personal_column_or_value_reaches_a_mart(warehouse) -> None:
    db, truths, _ = warehouse
    tagged = _pii_column_names()
    assert {"name", "unique_id", "sis_user_id", "url_path", "session_key", "body", "message"} <= tagged
    truth = truths[-1]
    identifiers = {u["name"] for u in truth.rows("users") if u.get("name")}
    identifiers |= {p[c] for p in truth.rows("pseudonyms") for c in ("unique_id", "sis_user_id") if p.get(c)}
    assert identifiers
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'marts'"
        ).fetchall()
        assert len({t for t, _, _ in columns}) >= 15
        leaked = sorted(f"{t}.{c}" for t, c, _ in columns if c in tagged)
        assert not leaked, f"personal columns in marts: {leaked}"
        found: list[str] = []
        for table, column, data_type in columns:
            if data_type != "VARCHAR":
                continue
            values = {r[0] for r in con.execute(f'SELECT DISTINCT "{column}" FROM marts."{table}"').fetchall()}
            if values & identifiers:
                found.append(f"{table}.{column}")
        assert not found, f"direct identifiers in mart values: {found}"
        keys = {r[0] for r in con.execute("SELECT user_key FROM marts.fct_enrollment_status").fetchall()}
        user_ids = {str(e["user_id"]) for e in truth.rows("enrollments")}
        assert keys and not keys & user_ids and all(len(k) == 64 for k in keys)
    finally:
        con.close()
