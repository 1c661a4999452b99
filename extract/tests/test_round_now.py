"""Models that read "now" only for a stamp or a local day (extract/round_now.py): the plan keeps
them while that holds, restamps what it keeps, and the project's models declare it truthfully."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest

from extract.round_now import NOW_MODEL, NOW_TABLE, Now, Stamped, bucket_of, create_table, restamp, same_bucket
from extract.round_plan import Node, downstream_of_now, fresh_nodes

MODELS = Path(__file__).resolve().parents[2] / "models"
MONDAY_9 = Now(datetime(2026, 3, 2, 14), date(2026, 3, 2))
MONDAY_13 = Now(datetime(2026, 3, 2, 18), date(2026, 3, 2))
TUESDAY = Now(datetime(2026, 3, 3, 6), date(2026, 3, 3))


def test_a_bucket_holds_for_a_stamp_always_for_a_day_within_the_day_and_never_unknown() -> None:
    assert same_bucket("stamp", MONDAY_9, TUESDAY)
    assert same_bucket("local_date", MONDAY_9, MONDAY_13)
    assert not same_bucket("local_date", MONDAY_13, TUESDAY)
    assert not same_bucket(None, MONDAY_9, MONDAY_9)  # exact: built whenever now moves
    assert not same_bucket("stamp", None, MONDAY_9)  # never recorded
    assert not same_bucket("stamp", MONDAY_9, None)  # now unreadable
    assert not same_bucket("stamp", Now(None, None), MONDAY_9)  # built before anything was synced
    assert bucket_of({"cd2_now": "stamp"}, "m") == "stamp" and bucket_of({}, "m") is None
    with pytest.raises(ValueError, match="m: meta cd2_now"):
        bucket_of({"cd2_now": "week"}, "m")


def _node(name: str, *parents: str, bucket: str | None = None) -> Node:
    return Node(f"model.cd2.{name}", "model", name, "s", name, False, False, parents, bucket)


NOW_ID = f"model.cd2.{NOW_MODEL}"
NODES = {
    n.unique_id: n
    for n in (
        _node(NOW_MODEL, "source.cd2.meta.table_state"),
        _node("dim_stamped", NOW_ID, bucket="stamp"),
        _node("daily", NOW_ID, bucket="local_date"),
        _node("exact", NOW_ID),
        _node("after_stamped", "model.cd2.dim_stamped"),
        _node("after_exact", "model.cd2.exact", "model.cd2.dim_stamped"),
        _node("elsewhere"),
    )
}
EXISTING = {("s", n.relation) for n in NODES.values()}


def _kept(now: Now, built: dict[str, Now]) -> set[str]:
    return {NODES[uid].name for uid in fresh_nodes(NODES, [], EXISTING, set(), now, built)}


def test_the_plan_keeps_what_reads_now_for_its_stamp_or_its_day_and_builds_the_rest() -> None:
    built = {name: MONDAY_9 for name in ("dim_stamped", "daily", "exact", "after_stamped", "after_exact")}
    assert _kept(MONDAY_13, built) == {"dim_stamped", "daily", "after_stamped", "elsewhere"}
    assert _kept(TUESDAY, built) == {"dim_stamped", "after_stamped", "elsewhere"}
    # a model after now with no record of its now cannot have its stamp brought up to date
    assert _kept(MONDAY_13, {k: v for k, v in built.items() if k != "after_stamped"}) == {
        "dim_stamped", "daily", "elsewhere"
    }  # fmt: skip
    assert _kept(MONDAY_13, {}) == {"elsewhere"}
    assert {NODES[uid].name for uid in downstream_of_now(NODES)} == {
        "dim_stamped", "daily", "exact", "after_stamped", "after_exact"
    }  # fmt: skip


def _stamped_db(path: Path) -> Path:
    con = duckdb.connect(str(path))
    create_table(con)
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.dim_a (id INTEGER, data_as_of TIMESTAMP)")
    con.execute("INSERT INTO marts.dim_a VALUES (1, ?), (2, ?)", [MONDAY_9.as_of_ts, MONDAY_9.as_of_ts])
    # a history table: earlier days keep the stamp they were computed with
    con.execute("CREATE TABLE marts.daily (day DATE, data_as_of TIMESTAMP)")
    con.execute(
        "INSERT INTO marts.daily VALUES ('2026-03-01', '2026-03-01 20:00'), ('2026-03-02', ?)", [MONDAY_9.as_of_ts]
    )
    con.execute("CREATE VIEW marts.v AS SELECT * FROM marts.dim_a")
    con.execute("CREATE TABLE marts.no_stamp (id INTEGER)")
    for name in ("dim_a", "daily", "v", "no_stamp"):
        con.execute(f"INSERT INTO {NOW_TABLE} VALUES (?, ?, ?)", [name, MONDAY_9.as_of_ts, MONDAY_9.as_of_local_date])
    con.close()
    return path


def test_restamp_moves_the_stamp_of_the_last_build_and_the_records(tmp_path: Path) -> None:
    db = _stamped_db(tmp_path / "cd2.duckdb")
    kept = [Stamped(name, "marts", name) for name in ("dim_a", "daily", "v", "no_stamp")]
    built = {name: MONDAY_9 for name in ("dim_a", "daily", "v", "no_stamp")}
    assert restamp(db, kept, built, MONDAY_13) == ["dim_a", "daily"]
    con = duckdb.connect(str(db))
    assert con.execute("SELECT DISTINCT data_as_of FROM marts.dim_a").fetchall() == [(MONDAY_13.as_of_ts,)]
    assert con.execute("SELECT day, data_as_of FROM marts.daily ORDER BY day").fetchall() == [
        (date(2026, 3, 1), datetime(2026, 3, 1, 20)),
        (date(2026, 3, 2), MONDAY_13.as_of_ts),
    ]
    assert set(con.execute(f"SELECT DISTINCT as_of_ts FROM {NOW_TABLE}").fetchall()) == {(MONDAY_13.as_of_ts,)}
    con.close()
    # nothing to do when the records already hold the round's now
    assert restamp(db, kept, {name: MONDAY_13 for name in built}, MONDAY_13) == []


def test_a_failed_restamp_leaves_every_stamp_and_record_as_it_was(tmp_path: Path) -> None:
    db = _stamped_db(tmp_path / "cd2.duckdb")
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE marts.refuses (data_as_of TIMESTAMP CHECK (data_as_of < '2026-03-02 15:00'))")
    con.execute("INSERT INTO marts.refuses VALUES (?)", [MONDAY_9.as_of_ts])
    con.execute(f"INSERT INTO {NOW_TABLE} VALUES ('refuses', ?, ?)", [MONDAY_9.as_of_ts, MONDAY_9.as_of_local_date])
    con.close()
    kept = [Stamped("dim_a", "marts", "dim_a"), Stamped("refuses", "marts", "refuses")]
    with pytest.raises(duckdb.Error):
        restamp(db, kept, {"dim_a": MONDAY_9, "refuses": MONDAY_9}, MONDAY_13)
    con = duckdb.connect(str(db))
    assert con.execute("SELECT DISTINCT data_as_of FROM marts.dim_a").fetchall() == [(MONDAY_9.as_of_ts,)]
    assert set(con.execute(f"SELECT DISTINCT as_of_ts FROM {NOW_TABLE}").fetchall()) == {(MONDAY_9.as_of_ts,)}
    con.close()


# --- the project's models declare how they read now truthfully -------------------------------

LEVELS = {"stamp": 0, "local_date": 1, None: 2}  # what a model's rows can depend on: more is stricter
NOW_VALUES = re.compile(r"\b(data_as_of|as_of_ts|as_of_local_ts|as_of_local_date)\b")
# a line that passes a stamp (or the day) on unchanged into the model's own columns
PASS_ON = re.compile(
    r"^(\{\{ cd2_any_value\('data_as_of'\) \}\}|(\w+\.)?(as_of_ts|data_as_of|as_of_local_date))"
    r"( as (data_as_of|as_of_ts|as_of_local_date))?,?$"
)


def _models() -> dict[str, str]:
    return {path.stem: path.read_text(encoding="utf-8") for path in MODELS.rglob("*.sql")}


def _code(sql: str) -> list[str]:
    """The model's lines without Jinja and SQL comments."""
    sql = re.sub(r"\{#.*?#\}", "", sql, flags=re.S)
    return [line.split("--", 1)[0].strip() for line in sql.splitlines()]


def _needed(sql: str) -> int:
    """How finely the model's own SQL uses now: 0 stamp only, 1 the local day, 2 the exact time."""
    need = 0
    for line in _code(sql):
        found = set(NOW_VALUES.findall(line))
        if not found or PASS_ON.match(line):
            continue
        need = max(need, 1 if found == {"as_of_local_date"} else 2)
    return need


def test_every_model_uses_now_no_finer_than_it_and_what_it_reads_declare() -> None:
    models = _models()
    refs = {name: set(re.findall(r"ref\('(\w+)'\)", sql)) for name, sql in models.items()}
    declared = {
        name: match.group(1) for name, sql in models.items() if (match := re.search(r"'cd2_now': '(\w+)'", sql))
    }
    assert {"dim_course", "dim_date", "fct_web_session"} <= set(declared)  # the check sees the declarations
    level: dict[str, int | None] = {}

    def level_of(name: str) -> int | None:
        """How finely the model's rows depend on now (None: they do not)."""
        if name not in level:
            level[name] = None
            found = [LEVELS[declared.get(name)]] if NOW_MODEL in refs.get(name, ()) else []
            found += [lvl for parent in refs.get(name, ()) if (lvl := level_of(parent)) is not None]
            level[name] = max(found) if found else None
        return level[name]

    wrong = []
    for name, sql in sorted(models.items()):
        if name == NOW_MODEL:
            continue
        if name in declared and NOW_MODEL not in refs[name]:
            wrong.append(f"{name}: declares cd2_now but does not read {NOW_MODEL}")
        need, has = _needed(sql), level_of(name)
        if need and (has is None or has < need):
            wrong.append(f"{name}: uses now to level {need}, but what it reads declares only {has}")
    assert not wrong, "\n".join(wrong)


def test_the_check_of_declarations_catches_a_finer_use() -> None:
    assert _needed("    dim_course.data_as_of,\n    as_of.as_of_ts as data_as_of") == 0
    assert _needed("where day <= as_of.as_of_local_date") == 1
    assert _needed("submitted_at <= submissions.data_as_of - interval '7 days' as is_week_old") == 2
    assert _needed("{#- data_as_of - 1 in a comment -#}\nselect 1 -- as_of_ts > x") == 0
