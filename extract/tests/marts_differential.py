"""Shared body of the differential mart tests (``test_marts_differential_*.py``).

For a synthetic institution: sync from the fake DAP API, ``dbt run`` the marts (and what they
need), then advance the institution and repeat. After every round each mart must equal, row for
row, what ``extract/tests/marts_reference`` computes straight from the generator's ground truth
(never from our SQL). The same built warehouse is then checked for privacy: no personal column
or value reaches the ``marts`` schema. The profiles live in separate test files so that
``pytest -n 2 --dist loadfile`` runs them on both cores.
"""

from __future__ import annotations

import importlib
import os
import shutil
import time
from pathlib import Path

import duckdb
import yaml

from extract.synth import Institution, ensure_generated
from extract.tests.dbt_helpers import ROOT, DbtProject
from extract.tests.marts_reference import Truth
from extract.tests.marts_reference.check import MODULES
from extract.tests.marts_reference.truth import diff_mart, load_truth
from extract.tests.sync_helpers import run_sync, serving
from extract.unchanged import unchanged_models

SECRET = "differential-test-secret"
MARTS = ("--select", "+tag:cd2_marts", "+tag:cd2_pii")
# hours the institution advances before each incremental round: a few hours, then across days
ADVANCES = (7.0, 30.0)


def _reference_modules() -> list[object]:
    return [importlib.import_module(f"extract.tests.marts_reference.{name}") for name in MODULES]


def _differences(db: Path, truth: Truth) -> list[str]:
    problems: list[str] = []
    for module in _reference_modules():
        for mart, expected in module.compute(truth).items():  # type: ignore[attr-defined]
            problems += diff_mart(db, mart, expected, truth.as_of, earlier_as_of=tuple(t.as_of for t in truth.earlier))
    return problems


def synth_cache() -> Path:
    return Path(os.environ.get("CD2_SYNTH_DIR", ROOT / ".cache" / "synth"))


def build_rounds(profile: str, seed: int, work: Path) -> tuple[Path, list[Truth], list[str]]:
    """Sync + build rounds for one institution: (db, truth of every round, differences found)."""
    template = ensure_generated(profile, seed, synth_cache())
    shutil.copytree(template.store.root, work / "store")
    institution = Institution.open(work / "store")
    db = work / "cd2.duckdb"
    dbt = DbtProject(db, work / "dbt")
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
            # as `cd2 run` does: current-state models with nothing new to merge are left out
            skipped = unchanged_models(db, ROOT)
            exclude = ("--exclude", *skipped) if skipped else ()
            # the secret goes to dbt alone: setting it in os.environ leaked into later tests of the worker
            result = dbt.run(
                "run",
                *MARTS,
                *exclude,
                "--threads",
                "2",
                "--no-write-json",
                extra_env={"CD2_PSEUDONYM_SECRET": SECRET},
            )
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
    return db, truths, failures


def check_rounds(truths: list[Truth], failures: list[str]) -> None:
    assert len(truths) == 1 + len(ADVANCES)
    assert not failures, "\n".join(failures[:40])


def _pii_column_names() -> set[str]:
    """Columns the project tags as personal (`meta.pii`, quasi-identifiers aside) in staging and pii models,
    plus raw person ids."""
    names = {"user_id", "grader_id", "real_user_id", "author_id", "associated_user_id", "session_id", "remote_ip"}
    for path in [*(ROOT / "models" / "staging").rglob("_*__models.yml"), *(ROOT / "models" / "pii").glob("*.yml")]:
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            for column in model.get("columns", []):
                klass = (column.get("config") or {}).get("meta", {}).get("pii") or column.get("meta", {}).get("pii")
                # quasi-identifiers (time zone, locale, creation time) may be in marts: suppression covers them
                if klass and klass != "quasi_identifier":
                    names.add(column["name"])
    return names


def direct_identifiers(truth: Truth) -> set[str]:
    """The institution's direct identifiers: every user's name, login (unique_id) and SIS id."""
    identifiers = {u["name"] for u in truth.rows("users") if u.get("name")}
    identifiers |= {p[c] for p in truth.rows("pseudonyms") for c in ("unique_id", "sis_user_id") if p.get(c)}
    assert identifiers
    return identifiers


# Where the personal columns of the project's policy (`meta.pii` in models/staging and models/pii,
# quasi-identifiers aside) come from in CD2: the staging model's own table and column, except these.
_PII_SOURCES = {"pii_users": "users", "pii_logins": "pseudonyms"}
# Staging columns derived from a raw one (reduced IPs, stripped URLs, hashed sessions): the raw column.
_RAW_COLUMN = {
    "url_path": "url",
    "remote_ip_prefix": "remote_ip",
    "session_key": "session_id",
    "user_agent_class": "user_agent",
    "current_login_ip_prefix": "current_login_ip",
    "last_login_ip_prefix": "last_login_ip",
}
# In the policy (user_needs §4) but not modelled, so untagged: e-mail addresses and phone numbers.
_UNTAGGED_PERSONAL = {"communication_channels": {"path"}}


def _pii_columns_by_table() -> dict[str, set[str]]:
    """CD2 table (``web_logs`` for canvas_logs) → its columns the project tags as personal."""
    found: dict[str, set[str]] = {t: set(c) for t, c in _UNTAGGED_PERSONAL.items()}
    for path in [*(ROOT / "models" / "staging").rglob("_*__models.yml"), *(ROOT / "models" / "pii").glob("*.yml")]:
        for model in yaml.safe_load(path.read_text(encoding="utf-8")).get("models", []):
            name = str(model["name"])
            if name.startswith("stg_canvas_logs__"):
                table = "web_logs"
            elif name.startswith("stg_canvas__"):
                table = name.removeprefix("stg_canvas__")
            elif name in _PII_SOURCES:
                table = _PII_SOURCES[name]
            else:
                continue  # catalog: the truth holds canvas only
            for column in model.get("columns", []):
                klass = (column.get("config") or {}).get("meta", {}).get("pii") or column.get("meta", {}).get("pii")
                if klass and klass != "quasi_identifier":
                    found.setdefault(table, set()).add(_RAW_COLUMN.get(column["name"], column["name"]))
    return found


def personal_values(truth: Truth, min_length: int = 6) -> set[str]:
    """Every text value, at least ``min_length`` long, of every personal column of the institution
    (``_pii_columns_by_table``): names, logins, SIS ids, e-mail addresses, IPs, URLs, free text.
    Shorter values ("Yes", a one-word title) would match ordinary words."""
    values: set[str] = set()
    for table, columns in _pii_columns_by_table().items():
        rows = truth.web_logs if table == "web_logs" else truth.tables.get(table, [])
        for row in rows:
            values.update(v for c in columns if isinstance(v := row.get(c), str) and len(v) >= min_length)
    return values | {v for v in direct_identifiers(truth) if len(v) >= min_length}


def values_in(text: str, values: set[str], width: int = 6) -> set[str]:
    """The ``values`` (each at least ``width`` long) that occur in ``text``, in one pass over the text:
    every ``width``-character window is looked up among the values' prefixes, and only those
    candidates are compared whole (a value-by-value ``in`` over 300 k values takes half a minute)."""
    by_prefix: dict[str, list[str]] = {}
    for value in values:
        if len(value) < width:
            raise ValueError(f"{value!r} is shorter than {width}")
        by_prefix.setdefault(value[:width], []).append(value)
    found: set[str] = set()
    for i in range(len(text) - width + 1):
        for value in by_prefix.get(text[i : i + width], ()):
            if text.startswith(value, i):
                found.add(value)
    return found


def check_privacy(db: Path, truths: list[Truth]) -> None:
    tagged = _pii_column_names()
    assert {"name", "unique_id", "sis_user_id", "url_path", "session_key", "body", "message"} <= tagged
    truth = truths[-1]
    identifiers = direct_identifiers(truth)
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
