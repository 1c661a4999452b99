"""Per-table cadence: parsed and checked like every setting (errors name the key, the value and
where it came from), due or skipped at the boundaries of its rule, skipped tables reported as such
(not failed) by the sync and its summary, and shown by ``cd2 status`` with when they are next due
and the worst watermark age their interval allows; on the DuckDB file and on a lake."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import duckdb
import pytest
from rich.console import Console

from extract import config as cfg
from extract.cadence import cadence_from_text, due_after, is_due, parse_interval
from extract.commands.status import _table
from extract.commands.sync import print_sync_summary
from extract.config_values import ConfigError
from extract.lake.layout import LakeLayout
from extract.lake.state import LakeState
from extract.landing.tables import META_SCHEMA, ensure_meta
from extract.status import table_statuses
from extract.sync.destination import LakeDestination
from extract.sync.history import TableHistory
from extract.sync.progress import LogReporter
from extract.sync.results import TableResult
from extract.sync.runner import SyncOptions, SyncRunner
from extract.synth import Institution
from extract.tests.plan_fakes import FAST_POLLS, PlanClient, RecordingDestination
from extract.tests.sync_helpers import fast_client, fresh_institution, serving

NOW = datetime(2026, 5, 4, 12, 0, 0)


# ---- parsing and validation ----------------------------------------------------------------------------
def test_intervals_and_their_shown_form() -> None:
    assert parse_interval("4h", "x") == (timedelta(hours=4), "4h")
    assert parse_interval("1.5d", "x") == (timedelta(hours=36), "1.5d")
    assert parse_interval("Daily", "x") == (timedelta(days=1), "daily")
    assert parse_interval("weekly", "x") == (timedelta(days=7), "weekly")
    assert parse_interval("hourly", "x") == (timedelta(hours=1), "hourly")


def test_the_file_environment_and_flag_layers(tmp_path: Path) -> None:
    (tmp_path / "cd2.yml").write_text("cadence:\n  canvas.roles: 24h\n  catalog.*: 12h\n")
    from_file = cfg.resolve(tmp_path, {})
    assert str(from_file.cadence) == "canvas.roles=24h,catalog.*=12h"
    assert from_file.origin("cadence") == str(tmp_path / "cd2.yml")
    from_env = cfg.resolve(tmp_path, {"CD2_CADENCE": "canvas.*=weekly"})
    assert (str(from_env.cadence), from_env.origin("cadence")) == ("canvas.*=weekly", "env CD2_CADENCE")
    none = cfg.resolve(tmp_path, {"CD2_CADENCE": "catalog.x=1d"}, {"cadence": "none"})
    assert not none.cadence and none.origin("cadence") == "flag --cadence"
    assert not cfg.resolve(tmp_path / "nowhere", {}).cadence  # off by default


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("cadence:\n  canvas.roles: 25x\n", "cadence: canvas.roles must be an interval such as 12h"),
        ("cadence:\n  canvas.roles: 24\n", "not 24 (write 24h for hours)"),
        ("cadence:\n  canvas.roles: 0h\n", "canvas.roles must be an interval"),
        ("cadence:\n  canvas.roles: -2d\n", "canvas.roles must be an interval"),
        ("cadence:\n  roles: daily\n", "key 'roles' must be a qualified table name"),
        ("cadence:\n  canvas.ro les: daily\n", "key 'canvas.ro les'"),
        ("cadence: [canvas.roles]\n", "cadence must be a mapping of table (or glob) to interval"),
        ("cadence: daily\n", "cadence must be a mapping"),
    ],
)
def test_a_bad_cadence_in_the_file_names_the_file_key_and_value(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "cd2.yml").write_text(content)
    with pytest.raises(ConfigError) as raised:
        cfg.resolve(tmp_path, {})
    assert message in str(raised.value) and str(tmp_path / "cd2.yml") in str(raised.value)


def test_a_bad_cadence_in_the_environment_or_a_flag_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape("CD2_CADENCE: 'canvas.roles' must be pattern=interval")):
        cfg.resolve(tmp_path, {"CD2_CADENCE": "canvas.roles"})
    with pytest.raises(ConfigError, match=r"--cadence: canvas\.roles must be an interval .* not '2w'"):
        cfg.resolve(tmp_path, {}, {"cadence": "canvas.roles=2w"})


def test_an_exact_name_beats_a_glob_and_the_first_glob_wins() -> None:
    cadence = cadence_from_text("canvas.*=12h,canvas.r*=weekly,canvas.roles=daily", "x")
    shown = {q: getattr(cadence.rule_for(q), "text", None) for q in ("canvas.roles", "canvas.reports", "catalog.roles")}
    assert shown == {"canvas.roles": "daily", "canvas.reports": "12h", "catalog.roles": None}


# ---- due or not ----------------------------------------------------------------------------------------
def test_due_at_the_interval_less_an_eighth() -> None:
    rule = cadence_from_text("canvas.roles=4h", "x").rules[0]
    last = NOW - timedelta(hours=3, minutes=30)  # 4 h less an eighth
    assert due_after(rule, last) == NOW
    assert is_due(rule, last, "ok", NOW)
    assert not is_due(rule, last, "ok", NOW - timedelta(seconds=1))
    assert is_due(rule, last, "failed", NOW - timedelta(seconds=1))  # its last attempt failed
    assert is_due(rule, None, None, NOW)  # never synced
    assert is_due(None, NOW, "ok", NOW)  # no cadence: every round
    daily, weekly = cadence_from_text("a.b=daily,a.c=weekly", "x").rules
    assert due_after(daily, NOW) - NOW == timedelta(hours=21)
    assert due_after(weekly, NOW) - NOW == timedelta(days=6, hours=3)


class _Recorder(LogReporter):
    def __init__(self) -> None:
        self.done: list[TableResult] = []

    def table_done(self, result: TableResult) -> None:
        self.done.append(result)


def test_a_round_skips_the_tables_not_due_and_reports_them_as_skipped(tmp_path: Path) -> None:
    past = {
        "canvas.roles": TableHistory(last_success_at=NOW - timedelta(hours=1), last_status="ok"),
        "canvas.accounts": TableHistory(last_success_at=NOW - timedelta(hours=22), last_status="ok"),
        "canvas.courses": TableHistory(last_success_at=NOW - timedelta(hours=1), last_status="failed"),
        "canvas.users": TableHistory(last_success_at=NOW - timedelta(minutes=5), last_status="ok"),
    }
    tables = [*past, "canvas.new_one"]
    cadence = cadence_from_text("canvas.roles=daily,canvas.accounts=daily,canvas.courses=daily,canvas.new_*=1h", "x")
    client = PlanClient({}, window_s=1.0, work=tmp_path / "work")
    reporter = _Recorder()
    opts = SyncOptions(tables=tables, work_dir=tmp_path / "work", fetch=FAST_POLLS, cadence=cadence)
    runner = SyncRunner(cast(Any, client), cast(Any, None), opts, reporter, RecordingDestination(past), lambda: NOW)
    report = runner.run()
    assert sorted(client.creation_order()) == ["canvas.accounts", "canvas.courses", "canvas.new_one", "canvas.users"]
    [skipped] = report.skipped
    assert skipped.qualified_name == "canvas.roles" and report.failed == [] and report.ok
    assert "daily" in (skipped.reason or "") and "2026-05-05T08:00:00Z" in (skipped.reason or "")
    assert sorted(r.qualified_name for r in reporter.done) == sorted(tables)  # the overall bar completes
    out = io.StringIO()
    print_sync_summary(report, Console(file=out, width=200))
    assert "4 tables ok (4 snapshots), 0 failed, 1 skipped (not due by their cadence)" in out.getvalue()


# ---- cd2 status ----------------------------------------------------------------------------------------
def _state_db(db: Path) -> Path:
    con = duckdb.connect(str(db))
    ensure_meta(con)
    rows = [
        ("canvas", "roles", NOW - timedelta(hours=6), NOW - timedelta(hours=2), "ok"),
        ("canvas", "accounts", NOW - timedelta(hours=30), NOW - timedelta(hours=26), "ok"),
        ("canvas", "courses", None, None, "failed"),
    ]
    for ns, table, watermark, success, status in rows:
        con.execute(
            f"INSERT INTO {META_SCHEMA}.table_state (namespace, table_name, watermark, last_success_at, last_status) "
            "VALUES (?, ?, ?, ?, ?)",
            [ns, table, watermark, success, status],
        )
    con.close()
    return db


def test_status_shows_cadence_next_due_and_the_worst_age(tmp_path: Path) -> None:
    db = _state_db(tmp_path / "cd2.duckdb")
    cadence = cadence_from_text("canvas.roles=daily,canvas.accounts=daily", "x")
    con = duckdb.connect(str(db), read_only=True)
    try:
        statuses = {s.table: s for s in table_statuses(con, cadence, NOW)}
    finally:
        con.close()
    roles, accounts, courses = statuses["canvas.roles"], statuses["canvas.accounts"], statuses["canvas.courses"]
    assert (roles.cadence, roles.due, roles.next_due_at) == ("daily", False, "2026-05-05T07:00:00Z")
    assert roles.staleness_hours == 6 and roles.max_staleness_hours == 28  # 4 h old when synced, + 24 h
    assert (accounts.due, accounts.next_due_at) == (True, "2026-05-04T07:00:00Z")
    assert (courses.cadence, courses.due, courses.next_due_at) == (None, True, None)
    text = io.StringIO()
    Console(file=text, width=250).print(_table(list(statuses.values()), with_cadence=True))
    lines = {line.split("│")[1].strip(): line for line in text.getvalue().splitlines() if "canvas." in line}
    assert "2026-05-05T07:00:00Z" in lines["canvas.roles"] and "28.0" in lines["canvas.roles"]
    assert "every round" in lines["canvas.courses"]


def test_cd2_status_json_carries_the_cadence_fields(tmp_path: Path) -> None:
    db = _state_db(tmp_path / "cd2.duckdb")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CD2_", "DAP_"))}
    shown = subprocess.run(
        [sys.executable, "-m", "extract.cli", "status", "--db", str(db), "--json", "--cadence", "canvas.roles=12h"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert shown.returncode == 0, shown.stderr
    states = {s["table"]: s for s in json.loads(shown.stdout)}
    assert states["canvas.roles"]["cadence"] == "12h"
    assert states["canvas.roles"]["next_due_at"] == "2026-05-04T20:30:00Z"  # last success + 10.5 h
    assert states["canvas.roles"]["max_staleness_hours"] == 16.0
    assert states["canvas.accounts"]["cadence"] is None and states["canvas.accounts"]["due"] is True


# ---- on a lake, against the fake API -------------------------------------------------------------------
@pytest.fixture
def institution(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Institution:
    return fresh_institution(tmp_path_factory.mktemp("synth-cache-cadence"), tmp_path / "store")


@pytest.mark.slow
def test_a_lake_round_skips_what_its_cadence_says_is_not_due(institution: Institution, tmp_path: Path) -> None:
    tables = ["canvas.accounts", "canvas.roles", "canvas.courses", "canvas_logs.web_logs"]
    lake = tmp_path / "lake"
    lake.mkdir()
    cadence = cadence_from_text("canvas.roles=daily,canvas_logs.*=12h", "x")
    with serving(institution) as server:
        kinds = []
        for _ in range(2):
            client = fast_client(server.url)
            con = duckdb.connect()
            try:
                destination = LakeDestination(con, LakeState.load(LakeLayout(lake), remove_unfinished=True))
                opts = SyncOptions(tables=tables, work_dir=tmp_path / "work", cadence=cadence, fetch=FAST_POLLS)
                server.request_log.clear()
                report = SyncRunner(client, con, opts, LogReporter(), destination).run()
                report.finish(destination.finish)
            finally:
                con.close()
                client.close()
            assert report.ok, report.failure_lines()
            kinds.append({r.qualified_name: r.status for r in report.results})
            created = {r.table for r in server.request_log.select(endpoint="create_job")}
            server.advance(4)
    assert kinds[0] == dict.fromkeys(tables, "ok")  # never synced: all due
    assert kinds[1] == {**kinds[0], "canvas.roles": "skipped", "canvas_logs.web_logs": "skipped"}
    assert created == {"canvas.accounts", "canvas.courses"}
