"""The report's numbers, read from the marts (and ``cd2_meta``) with SQL in DuckDB.

Every query aggregates in the database and returns a few dozen rows at most (the at-risk list is
capped). Small cells are dropped here, where the numbers are made: a mart's own ``is_suppressed``
flag is honoured, and any count this module computes across students that covers fewer than
``min_cell`` of them is returned as ``None`` (shown as "suppressed"). Names reaching SQL are
literals of this module; the only values from outside (the term, ``min_cell``, the list cap) are
bound parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import duckdb

from extract.redact import one_line

# A batch starts a new round when no earlier batch was still running and the sync had been idle
# this long: within a round's sync a table starts while others run; between two rounds come the
# build and the schedule's pause (tens of seconds at the least).
ROUND_IDLE_SECONDS = 30
AT_RISK_LIMIT = 200
REASONS = (
    ("is_low_score", "low score"),
    ("is_score_dropping", "score dropping"),
    ("has_missing_work", "missing work"),
    ("is_inactive", "inactive"),
    ("is_low_engagement", "low engagement"),
)


@dataclass(frozen=True)
class Term:
    term_id: int
    name: str


Rows = list[tuple[Any, ...]]


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Rows:
    return con.execute(sql, params or []).fetchall()


def has_relation(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?", [schema, name]
    ).fetchone()
    return bool(found and found[0])


def report_term(con: duckdb.DuckDBPyConnection) -> Term | None:
    """The current term, else the latest term that has started."""
    row = con.execute(
        "SELECT term_id, term_name FROM marts.dim_term WHERE NOT coalesce(is_default_term, false) "
        "AND start_local_date IS NOT NULL ORDER BY is_current DESC, start_local_date DESC LIMIT 1"
    ).fetchone()
    return Term(int(row[0]), str(row[1])) if row else None


def data_as_of(con: duckdb.DuckDBPyConnection) -> datetime | None:
    row = con.execute("SELECT max(data_as_of) FROM marts.mart_student_risk_weekly").fetchone()
    return row[0] if row else None


# --- pipeline health (cd2_meta) ---------------------------------------------------------------


def freshness(con: duckdb.DuckDBPyConnection) -> Rows:
    """(table, hours between its watermark and the newest watermark, status, redacted last error),
    stalest first."""
    rows = _rows(
        con,
        "SELECT namespace || '.' || table_name, "
        "round(date_diff('second', watermark, max(watermark) OVER ()) / 3600.0, 1), last_status, last_error "
        "FROM cd2_meta.table_state ORDER BY watermark NULLS FIRST, 1",
    )
    return [(t, hours, status, one_line(error, limit=160) if error else "") for t, hours, status, error in rows]


def freshness_bands(con: duckdb.DuckDBPyConnection) -> Rows:
    """(lag band, tables) for the bands that have tables, freshest first."""
    return _rows(
        con,
        """
        WITH lag AS (
            SELECT date_diff('second', watermark, max(watermark) OVER ()) / 3600.0 AS hours FROM cd2_meta.table_state
        ), banded AS (
            SELECT CASE WHEN hours IS NULL THEN 5 WHEN hours = 0 THEN 0 WHEN hours < 4 THEN 1
                        WHEN hours < 24 THEN 2 WHEN hours < 168 THEN 3 ELSE 4 END AS band
            FROM lag
        )
        SELECT ['as fresh as the freshest', 'under 4 h behind', '4 to 24 h behind', '1 to 7 days behind',
                'over 7 days behind', 'never synced'][band + 1], count(*)
        FROM banded GROUP BY band ORDER BY band
        """,
    )


def newest_watermark(con: duckdb.DuckDBPyConnection) -> datetime | None:
    row = con.execute("SELECT max(watermark) FROM cd2_meta.table_state").fetchone()
    return row[0] if row else None


def rows_per_round(con: duckdb.DuckDBPyConnection) -> Rows:
    """(round start, batches, rows landed, batches not committed) per round, oldest first."""
    return _rows(
        con,
        f"""
        WITH b AS (
            SELECT started_at, rows, status,
                   max(coalesce(finished_at, started_at)) OVER (
                       ORDER BY started_at, batch_id ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                   ) AS busy_until
            FROM cd2_meta.batches WHERE started_at IS NOT NULL
        ), n AS (
            SELECT *, coalesce(date_diff('second', busy_until, started_at) > {ROUND_IDLE_SECONDS}, true) AS new_round
            FROM b
        ), r AS (SELECT *, sum(new_round::INTEGER) OVER (ORDER BY started_at) AS round_no FROM n)
        SELECT min(started_at), count(*), coalesce(sum(rows), 0), count(*) FILTER (WHERE status <> 'committed')
        FROM r GROUP BY round_no ORDER BY round_no
        """,
    )


def failed_batches(con: duckdb.DuckDBPyConnection) -> Rows:
    rows = _rows(
        con,
        "SELECT started_at, namespace || '.' || table_name, status, error_type, error_message "
        "FROM cd2_meta.batches WHERE status <> 'committed' ORDER BY started_at DESC LIMIT 50",
    )
    return [
        (at, table, status, kind or "", one_line(msg, limit=160) if msg else "")
        for at, table, status, kind, msg in rows
    ]


# --- enrollment and activity ------------------------------------------------------------------


def enrollments_by_term(con: duckdb.DuckDBPyConnection, min_cell: int) -> Rows:
    """(term, active student enrollments, distinct students) per term that has dates."""
    return _rows(
        con,
        """
        SELECT t.term_name, count(*) FILTER (WHERE e.is_active), count(DISTINCT e.user_key)
        FROM marts.fct_enrollment_status e JOIN marts.dim_term t USING (term_id)
        WHERE e.is_student AND t.start_local_date IS NOT NULL
        GROUP BY t.term_name, t.start_local_date HAVING count(DISTINCT e.user_key) >= ?
        ORDER BY t.start_local_date
        """,
        [min_cell],
    )


def enrolled_by_week(con: duckdb.DuckDBPyConnection, term: Term, min_cell: int) -> Rows:
    """(week start, students) per week of the term up to the data's day: students whose active or
    completed enrollment in one of the term's courses covers part of the week (the enrollments as
    they stand now: a student dropped since is not counted in earlier weeks either)."""
    return _rows(
        con,
        """
        WITH t AS (
            SELECT start_local_date AS first_day,
                   least(coalesce(end_local_date, DATE '9999-12-31'),
                         (SELECT max(data_as_of)::DATE FROM marts.fct_enrollment_status)) AS last_day
            FROM marts.dim_term WHERE term_id = ?
        ), w AS (SELECT unnest(generate_series(first_day, last_day, INTERVAL 7 DAY))::DATE AS week_start FROM t)
        SELECT w.week_start, count(DISTINCT e.user_key)
        FROM w JOIN marts.fct_enrollment_status e
          ON e.term_id = ? AND e.is_student AND e.workflow_state IN ('active', 'completed')
         AND coalesce(e.effective_start_at::DATE, w.week_start) < w.week_start + 7
         AND (e.effective_end_at IS NULL OR e.effective_end_at::DATE >= w.week_start)
        GROUP BY w.week_start HAVING count(DISTINCT e.user_key) >= ? ORDER BY w.week_start
        """,
        [term.term_id, term.term_id, min_cell],
    )


def active_by_week(con: duckdb.DuckDBPyConnection, term: Term, min_cell: int) -> Rows:
    """(week start, students with a page view, page views) in the term's courses, per week of the
    web_logs history the warehouse holds."""
    return _rows(
        con,
        """
        SELECT date_trunc('week', a.activity_date)::DATE AS week_start, count(DISTINCT a.user_key), sum(a.n_page_views)
        FROM marts.fct_web_activity_daily a JOIN marts.dim_course c USING (course_id)
        WHERE c.term_id = ? AND a.n_page_views > 0
        GROUP BY week_start HAVING count(DISTINCT a.user_key) >= ? ORDER BY week_start
        """,
        [term.term_id, min_cell],
    )


# --- submissions ------------------------------------------------------------------------------


def weekly_timeliness(con: duckdb.DuckDBPyConnection, term: Term, min_cell: int) -> Rows:
    """(week in term, on time, late, missing, excused) of the work due that week in the term's courses."""
    return _rows(
        con,
        """
        SELECT w.week_in_term, sum(w.n_on_time), sum(w.n_late), sum(w.n_missing), sum(w.n_excused)
        FROM marts.mart_student_timeliness_weekly w JOIN marts.dim_course c USING (course_id)
        WHERE c.term_id = ? AND w.n_assigned_due > 0
        GROUP BY w.week_in_term HAVING count(DISTINCT w.user_key) >= ? ORDER BY w.week_in_term
        """,
        [term.term_id, min_cell],
    )


def course_on_time_rates(con: duckdb.DuckDBPyConnection, term: Term, min_cell: int) -> Rows:
    """(on-time band, courses): courses of the term by the share of their due work handed in on time."""
    return _rows(
        con,
        """
        WITH c AS (
            SELECT w.course_id, sum(w.n_on_time) / nullif(sum(w.n_assigned_due - w.n_excused), 0) AS rate
            FROM marts.mart_student_timeliness_weekly w JOIN marts.dim_course d USING (course_id)
            WHERE d.term_id = ? GROUP BY w.course_id HAVING count(DISTINCT w.user_key) >= ?
        )
        SELECT least(floor(rate * 10), 9)::INTEGER AS band, count(*) FROM c WHERE rate IS NOT NULL
        GROUP BY band ORDER BY band
        """,
        [term.term_id, min_cell],
    )


# --- grades -----------------------------------------------------------------------------------


def grade_bands(con: duckdb.DuckDBPyConnection, term: Term) -> Rows:
    """(grade band, students) over the term's courses whose distribution is not suppressed."""
    return _rows(
        con,
        """
        SELECT grade_band, sum(n_students) FROM marts.mart_course_grade_distribution
        WHERE term_id = ? AND NOT is_suppressed GROUP BY grade_band, band_order ORDER BY band_order
        """,
        [term.term_id],
    )


def dfw_courses(con: duckdb.DuckDBPyConnection, term: Term) -> Rows:
    """(course, students, graded, mean score, share below the DFW threshold), riskiest first."""
    return _rows(
        con,
        """
        SELECT course_id::VARCHAR, n_students, n_graded, round(mean_score, 1), round(100 * pct_below_threshold, 1)
        FROM marts.mart_course_grade_summary
        WHERE term_id = ? AND NOT is_suppressed AND pct_below_threshold IS NOT NULL
        ORDER BY pct_below_threshold DESC, course_id LIMIT 15
        """,
        [term.term_id],
    )


def risk_levels_by_week(con: duckdb.DuckDBPyConnection, term: Term, min_cell: int) -> Rows:
    """(week in term, high, medium, low, none) student-course rows of the term."""
    return _rows(
        con,
        """
        SELECT week_in_term, count(*) FILTER (WHERE risk_level = 'high'), count(*) FILTER (WHERE risk_level = 'medium'),
               count(*) FILTER (WHERE risk_level = 'low'), count(*) FILTER (WHERE risk_level = 'none')
        FROM marts.mart_student_risk_weekly WHERE term_id = ?
        GROUP BY week_in_term HAVING count(DISTINCT user_key) >= ? ORDER BY week_in_term
        """,
        [term.term_id, min_cell],
    )


# --- the weekly at-risk list ------------------------------------------------------------------


def _reasons_sql() -> str:
    flags = ", ".join(f"CASE WHEN {column} THEN '{label}' END" for column, label in REASONS)
    return f"concat_ws(', ', {flags})"


def at_risk_week(con: duckdb.DuckDBPyConnection, term: Term) -> date | None:
    row = con.execute(
        "SELECT max(week_start_local_date) FROM marts.mart_student_risk_weekly WHERE term_id = ?", [term.term_id]
    ).fetchone()
    return row[0] if row else None


def at_risk_list(con: duckdb.DuckDBPyConnection, term: Term, week: date, limit: int = AT_RISK_LIMIT) -> Rows:
    """(user key, course, risk level, points, reasons, score, missing, days since activity) of the
    week's medium and high risk, most points first."""
    return _rows(
        con,
        f"""
        SELECT user_key, course_id::VARCHAR, risk_level, risk_points, {_reasons_sql()}, round(effective_score, 1),
               n_missing, days_since_last_activity
        FROM marts.mart_student_risk_weekly
        WHERE term_id = ? AND week_start_local_date = ? AND risk_level IN ('high', 'medium')
        ORDER BY risk_points DESC, user_key, course_id LIMIT ?
        """,
        [term.term_id, week, limit],
    )


def at_risk_reasons(con: duckdb.DuckDBPyConnection, term: Term, week: date) -> Rows:
    """(reason, student-course rows at medium or high risk where it fired) for the week."""
    counts = ", ".join(f"count(*) FILTER (WHERE {column})" for column, _ in REASONS)
    row = con.execute(
        f"SELECT {counts}, count(*) FROM marts.mart_student_risk_weekly "
        "WHERE term_id = ? AND week_start_local_date = ? AND risk_level IN ('high', 'medium')",
        [term.term_id, week],
    ).fetchone()
    if row is None:
        return []
    return [(label, row[i]) for i, (_, label) in enumerate(REASONS)] + [("(all at risk)", row[-1])]


# --- course design and adoption ---------------------------------------------------------------


def adoption_by_term(con: duckdb.DuckDBPyConnection) -> Rows:
    """(term, courses with students, % published, % gradebook, % modules, % syllabus) at the root accounts."""
    return _rows(
        con,
        """
        SELECT t.term_name, sum(a.n_courses_with_students),
               round(100 * sum(a.n_published) / nullif(sum(a.n_courses), 0), 1),
               round(100 * sum(a.n_courses_using_gradebook) / nullif(sum(a.n_courses), 0), 1),
               round(100 * sum(a.n_courses_using_modules) / nullif(sum(a.n_courses), 0), 1),
               round(100 * sum(a.n_courses_with_syllabus) / nullif(sum(a.n_courses), 0), 1)
        FROM marts.mart_adoption_by_account_term a JOIN marts.dim_term t USING (term_id)
        WHERE a.account_depth = (SELECT min(account_depth) FROM marts.mart_adoption_by_account_term)
          AND NOT a.is_suppressed AND t.start_local_date IS NOT NULL
        GROUP BY t.term_name, t.start_local_date ORDER BY t.start_local_date
        """,
    )


def module_item_types(con: duckdb.DuckDBPyConnection, term: Term) -> Rows:
    """(item type, module items) over the term's published teaching courses."""
    kinds = ("assignment", "quiz", "discussion", "page", "file", "external_tool", "external_url", "subheader")
    sums = ", ".join(f"coalesce(sum(n_items_{k}), 0)" for k in kinds)
    row = con.execute(
        f"SELECT {sums} FROM marts.mart_course_design WHERE term_id = ? AND is_published AND NOT is_non_teaching",
        [term.term_id],
    ).fetchone()
    if row is None:
        return []
    return sorted(((k.replace("_", " "), v) for k, v in zip(kinds, row, strict=True)), key=lambda r: -r[1])
