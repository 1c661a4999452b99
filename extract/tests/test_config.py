"""One resolution of the settings for every command: defaults ← cd2.yml ← environment ← flags.

``cd2 sync`` honours ``cd2.yml`` like ``cd2 run`` (seen in what the fake API was asked and what
landed), ``cd2 config`` shows each setting and where it came from without a secret's value, and
profiles.yml falls back to the same DuckDB file as the extractor.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from extract import config as cfg
from extract.fake_dap import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from extract.tests.sync_helpers import fresh_institution, serving

ROOT = Path(__file__).resolve().parents[2]


def cd2(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The real CLI in ``cwd``, without the caller's cd2 settings in the environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CD2_", "DAP_"))}
    return subprocess.run(
        [sys.executable, "-m", "extract.cli", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_each_layer_beats_the_one_before(tmp_path: Path) -> None:
    assert cfg.resolve(tmp_path, {}).concurrency == 4  # the default
    (tmp_path / "cd2.yml").write_text("concurrency: 3\n")
    from_file = cfg.resolve(tmp_path, {})
    assert (from_file.concurrency, from_file.origin("concurrency")) == (3, str(tmp_path / "cd2.yml"))
    from_env = cfg.resolve(tmp_path, {"CD2_CONCURRENCY": "5"})
    assert (from_env.concurrency, from_env.origin("concurrency")) == (5, "env CD2_CONCURRENCY")
    from_flag = cfg.resolve(tmp_path, {"CD2_CONCURRENCY": "5"}, {"concurrency": 7})
    assert (from_flag.concurrency, from_flag.origin("concurrency")) == (7, "flag --concurrency")
    assert from_flag.origin("format") == "default"


def test_cd2_config_shows_values_and_origins_in_precedence(tmp_path: Path) -> None:
    (tmp_path / "cd2.yml").write_text("concurrency: 3\ndownload_concurrency: 3\nformat: csv\ndbt: {threads: 1}\n")
    shown = cd2(
        "config", "--json", "--concurrency", "7", cwd=tmp_path, CD2_CONCURRENCY="5", CD2_DOWNLOAD_CONCURRENCY="5"
    )
    assert shown.returncode == 0, shown.stderr
    rows = {row["setting"]: (row["value"], row["from"]) for row in json.loads(shown.stdout)["settings"]}
    assert rows["concurrency"] == ("7", "flag --concurrency")
    assert rows["download_concurrency"] == ("5", "env CD2_DOWNLOAD_CONCURRENCY")
    assert rows["format"] == ("csv", "cd2.yml")
    assert rows["dbt.threads"] == ("1", "cd2.yml")
    assert rows["max_retries"] == ("8", "default")
    assert set(rows) == {name for name, _ in cfg.declared_settings()}  # every setting is shown


def test_cd2_config_never_prints_a_secret(tmp_path: Path) -> None:
    client_secret, pseudonym_secret, file_secret = "client-secret-41d2a9", "pseudonym-key-77c1e0", "file-secret-9b3f"
    (tmp_path / "secret.txt").write_text(file_secret + "\n")
    for args in (["config"], ["config", "--client-secret-file", "secret.txt"], ["-v", "config", "--json"]):
        shown = cd2(*args, cwd=tmp_path, DAP_CLIENT_SECRET=client_secret, CD2_PSEUDONYM_SECRET=pseudonym_secret)
        output = shown.stdout + shown.stderr
        assert shown.returncode == 0, output
        for secret in (client_secret, pseudonym_secret, file_secret):
            assert secret not in output
        assert "****" in output
    lines = {line.split()[0]: line for line in cd2("config", cwd=tmp_path).stdout.splitlines()[1:]}
    assert "(not set)" in lines["client_secret"] and "(not set)" in lines["pseudonym_secret"]
    from_file = cd2("config", "--client-secret-file", "secret.txt", cwd=tmp_path).stdout
    assert re.search(r"client_secret +\*\*\*\* +flag --client-secret-file", from_file), from_file


def test_unknown_keys_and_wrong_types_are_one_line_naming_the_key(tmp_path: Path) -> None:
    for text, words in (
        ("concurency: 2\n", ("unknown key 'concurency'",)),
        ("dbt: {treads: 2}\n", ("unknown key 'treads'",)),
        ("download_concurrency: two\n", ("download_concurrency", "positive integer")),
        ("publish: 3\n", ("publish", "true, false or a path")),
        ("max_retries: 0\n", ("max_retries", "positive integer")),
        ("csv_null: none\n", ("csv_null", "empty or NULL")),
        ("csv_null: NULL\n", ("csv_null", 'write "NULL", quoted')),  # YAML's null, not the word
    ):
        (tmp_path / "cd2.yml").write_text(text)
        for command in ("config", "status", "sync"):
            done = cd2(command, cwd=tmp_path)
            errors = [line for line in done.stderr.splitlines() if line.startswith(f"cd2 {command}: ")]
            assert done.returncode == 2 and len(errors) == 1, done.stderr
            assert "cd2.yml" in errors[0] and all(word in errors[0] for word in words), errors[0]


def test_every_setting_has_its_own_flag_and_variable() -> None:
    settings = dict(cfg.declared_settings())
    flags = [how.flag for how in settings.values() if how.flag]
    variables = [how.env for how in settings.values() if how.env]
    assert len(flags) == len(set(flags)) and len(variables) == len(set(variables))
    assert {name for name, how in settings.items() if how.secret} == {"client_secret", "pseudonym_secret"}


def test_profiles_fallback_is_the_extractors_default_database() -> None:
    """dbt run by hand (no CD2_DB) opens the same file cd2 writes by default; cd2 always sets CD2_DB."""
    profiles = (ROOT / "profiles.yml").read_text(encoding="utf-8")
    fallback = re.search(r"env_var\('CD2_DB', '([^']+)'\)", profiles)
    assert fallback is not None and Path(fallback.group(1)) == cfg.RunConfig().db


@pytest.mark.slow
def test_sync_honours_cd2_yml_and_env_and_flags_beat_it(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """``cd2 sync`` takes the tables, namespaces and format of cd2.yml (what the API was asked for,
    the format recorded for each landed batch); the environment beats the file, a flag beats both."""
    institution = fresh_institution(tmp_path_factory.mktemp("synth-cache-config"), tmp_path / "store")
    project = tmp_path / "project"
    project.mkdir()
    (project / "cd2.yml").write_text("namespaces: [canvas]\ntables: [courses, accounts]\nformat: csv\n")
    with serving(institution) as server:
        env = {
            "DAP_API_URL": server.url,
            "DAP_CLIENT_ID": DEFAULT_CLIENT_ID,
            "DAP_CLIENT_SECRET": DEFAULT_CLIENT_SECRET,
        }
        runs = [
            cd2("sync", "--db", "cd2.duckdb", "--no-rate-limit", "--progress", "never", cwd=project, **env),
            cd2("sync", "--db", "cd2.duckdb", "--no-rate-limit", cwd=project, CD2_FORMAT="tsv", **env),
            cd2(
                "sync",
                "--db",
                "cd2.duckdb",
                "--no-rate-limit",
                "--format",
                "parquet",
                cwd=project,
                CD2_FORMAT="tsv",
                **env,
            ),
        ]
        asked = sorted(str(r.table) for r in server.request_log.select(endpoint="create_job"))
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
    assert asked == ["canvas.accounts"] * 3 + ["canvas.courses"] * 3  # cd2.yml's tables only, every run
    con = duckdb.connect(str(project / "cd2.duckdb"), read_only=True)
    try:
        formats = con.execute("SELECT batch_id, table_name, format FROM cd2_meta.batches ORDER BY batch_id").fetchall()
    finally:
        con.close()
    by_run = [sorted({fmt for _, _, fmt in formats[i : i + 2]}) for i in range(0, 6, 2)]
    assert by_run == [["csv"], ["tsv"], ["parquet"]], formats
