"""The report's pages: what each chart or table shows, its definition, the mart it comes from.

``build_pages`` reads the numbers (``extract.report.queries``) and turns them into sections of
ready HTML (SVG charts from ``extract.report.svg``, escaped tables); ``extract.report.site``
wraps them in pages and writes the files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import duckdb

from extract.report import queries as q
from extract.report import svg

# Outcomes and levels keep one colour each, bad in red (svg.PALETTE: Okabe & Ito, grey added).
TIMELINESS = (("on time", "#009E73"), ("late", "#E69F00"), ("missing", "#D55E00"), ("excused", "#999999"))
RISK_LEVELS = (("high", "#D55E00"), ("medium", "#E69F00"), ("low", "#56B4E9"), ("none", "#999999"))
LAST_ROUNDS = 24  # rounds shown on the pipeline page (four days at one round every four hours)


@dataclass(frozen=True)
class Section:
    title: str
    definition: str  # plain text, escaped when written
    models: tuple[str, ...]  # the dbt models it reads (linked to their docs page); empty: cd2_meta
    chart: str | None = None  # SVG
    table: str | None = None  # HTML table
    empty: str | None = None  # why there is nothing to show

    @property
    def charts(self) -> int:
        return int(self.chart is not None)


@dataclass
class Page:
    slug: str
    title: str
    intro: str
    sections: list[Section] = field(default_factory=list)


def table_html(headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str, css: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(_cell(v))}</td>" for v in row) + "</tr>" for row in rows)
    klass = f' class="{escape(css)}"' if css else ""
    return (
        f"<table{klass}><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def _section(
    title: str, definition: str, models: tuple[str, ...], rows: q.Rows, draw: Callable[[q.Rows], str]
) -> Section:
    """A chart section, or a note that there is nothing to draw (no rows, or every cell suppressed)."""
    nothing = "No data yet, or every cell is below the minimum cell size."
    if not rows:
        return Section(title, definition, models, empty=nothing)
    try:
        return Section(title, definition, models, chart=draw(rows))
    except ValueError:  # rows, but every value in them unknown or suppressed
        return Section(title, definition, models, empty=nothing)


def _weeks(rows: q.Rows) -> list[str]:
    return [f"W{r[0]}" for r in rows]


def pipeline_page(con: duckdb.DuckDBPyConnection) -> Page:
    page = Page("pipeline", "Pipeline health", "How current each synced table is, what each round landed, what failed.")
    fresh = q.freshness(con)
    bands = q.freshness_bands(con)
    section = _section(
        "Freshness per table",
        "Tables by how far their watermark (the newest change cd2 has landed) lags the newest watermark of any "
        "table; tables never synced have no watermark. The 20 stalest tables that lag are listed. `cd2 status` "
        "shows every table with its wall-clock staleness.",
        (),
        bands,
        lambda rows: svg.hbar([r[0] for r in rows], [float(r[1]) for r in rows], "Tables by lag behind the freshest"),
    )
    lagging = [(t, hours, status) for t, hours, status, _ in fresh if hours is None or hours > 0][:20]
    if lagging:
        section = Section(
            section.title,
            section.definition,
            section.models,
            chart=section.chart,
            table=table_html(("table", "hours behind", "last status"), lagging, "The stalest tables"),
        )
    page.sections.append(section)
    rounds = q.rows_per_round(con)
    section = _section(
        "Rows landed per round",
        "Rows landed by the sync, per round (a batch that starts when none is running and the sync has been "
        f"idle more than {q.ROUND_IDLE_SECONDS} s starts a round): snapshots first, then incrementals. The last "
        f"{LAST_ROUNDS} rounds; the table gives their figures (a snapshot dwarfs the incrementals in the chart).",
        (),
        rounds[-LAST_ROUNDS:],
        lambda rows: svg.stacked_bars(
            [r[0].strftime("%m-%d %H:%M") for r in rows],
            [svg.Series("rows landed", [float(r[2]) for r in rows])],
            "Rows landed per round",
        ),
    )
    if rounds:
        shown = [
            (r[0].isoformat(sep=" ", timespec="seconds"), r[1], r[2], r[3]) for r in reversed(rounds[-LAST_ROUNDS:])
        ]
        section = Section(
            section.title,
            section.definition,
            section.models,
            chart=section.chart,
            table=table_html(("round started (UTC)", "batches", "rows", "not committed"), shown, "Newest first"),
        )
    page.sections.append(section)
    failing = [(t, s, e) for t, _, s, e in fresh if s != "ok"]
    batches = q.failed_batches(con)
    newest = q.newest_watermark(con)
    summary = [
        (
            newest.isoformat(sep=" ", timespec="minutes") if newest else None,
            len(rounds),
            sum(r[1] for r in rounds),
            sum(r[3] for r in rounds),
            len(failing),
        )
    ]
    page.sections.append(
        Section(
            "Failures",
            "Batches not committed and tables whose last attempt failed (error texts are redacted of secrets and "
            "signed URLs).",
            (),
            table=table_html(
                ("newest watermark (UTC)", "rounds", "batches", "batches not committed", "tables failing now"),
                summary,
                "Totals",
            )
            + (
                table_html(("table", "last status", "last error"), failing, "Tables whose last attempt failed")
                if failing
                else ""
            )
            + (
                table_html(("started", "table", "status", "error", "message"), batches, "Batches not committed")
                if batches
                else ""
            ),
        )
    )
    return page


def activity_page(con: duckdb.DuckDBPyConnection, term: q.Term, min_cell: int) -> Page:
    page = Page("activity", "Enrollment and activity", f"Students enrolled and active over the term ({term.name}).")
    page.sections.append(
        _section(
            "Student enrollments per term",
            "Distinct students with a student enrollment (in any state the marts keep: active, pending, inactive, "
            "concluded) in a course of the term, per term that has dates.",
            ("fct_enrollment_status",),
            q.enrollments_by_term(con, min_cell),
            lambda rows: svg.hbar([r[0] for r in rows], [float(r[2]) for r in rows], "Students per term"),
        )
    )
    page.sections.append(
        _section(
            f"Students enrolled per week, {term.name}",
            "Per week of the term up to the data's day: students whose active or completed enrollment in one of the "
            "term's courses covers part of the week (its effective dates: course, section or term). The enrollments "
            "as they stand now: a student who dropped since is not counted in earlier weeks either.",
            ("fct_enrollment_status",),
            q.enrolled_by_week(con, term, min_cell),
            lambda rows: svg.lines(
                [r[0].strftime("%m-%d") for r in rows],
                [svg.Series("students enrolled", [float(r[1]) for r in rows])],
                "Students enrolled per week",
            ),
        )
    )
    page.sections.append(
        _section(
            f"Students active per week, {term.name}",
            "Per calendar week (Monday first) of the web_logs history the warehouse holds: students with at least "
            "one page view in one of the term's courses (web_logs are best-effort data).",
            ("fct_web_activity_daily",),
            q.active_by_week(con, term, min_cell),
            lambda rows: svg.lines(
                [r[0].strftime("%m-%d") for r in rows],
                [svg.Series("students with a page view", [float(r[1]) for r in rows])],
                "Students active per week",
            ),
        )
    )
    return page


def submissions_page(con: duckdb.DuckDBPyConnection, term: q.Term, min_cell: int) -> Page:
    page = Page("submissions", "Submission timeliness", f"Work due each week of {term.name}, and when it came in.")
    page.sections.append(
        _section(
            "Due work by outcome, per week",
            "Per week of the term, the assignments due that week per student: handed in on time, late, missing or "
            "excused (Canvas's own late and missing flags, with the effective due date per student).",
            ("mart_student_timeliness_weekly",),
            q.weekly_timeliness(con, term, min_cell),
            lambda rows: svg.stacked_bars(
                _weeks(rows),
                [svg.Series(n, [float(r[i]) for r in rows], c) for i, (n, c) in enumerate(TIMELINESS, 1)],
                "Due work by outcome per week",
            ),
        )
    )
    page.sections.append(
        _section(
            "Courses by on-time rate",
            "Courses of the term by the share of their due (not excused) work handed in on time, in bands of 10 "
            f"points; courses with fewer than {min_cell} students are left out.",
            ("mart_student_timeliness_weekly",),
            q.course_on_time_rates(con, term, min_cell),
            lambda rows: svg.hbar(
                [f"{10 * r[0]} to {10 * r[0] + 10} % on time" for r in rows],
                [float(r[1]) for r in rows],
                "Courses per on-time band",
            ),
        )
    )
    return page


def grades_page(con: duckdb.DuckDBPyConnection, term: q.Term, min_cell: int) -> Page:
    page = Page(
        "grades",
        "Grades and DFW risk",
        f"Current grades in {term.name} and the courses where most students are below the DFW threshold.",
    )
    page.sections.append(
        _section(
            "Students per grade band",
            "Students' current score (posted grades only) in letter-grade bands, summed over the term's courses "
            "whose distribution is not suppressed.",
            ("mart_course_grade_distribution",),
            q.grade_bands(con, term),
            lambda rows: svg.hbar([str(r[0]) for r in rows], [float(r[1]) for r in rows], "Students per grade band"),
        )
    )
    dfw = q.dfw_courses(con, term)
    section = _section(
        "Courses with the most students below the DFW threshold",
        "Share of a course's graded students whose current score is below the DFW threshold (dbt var "
        "cd2_grade_dfw_threshold); suppressed courses are left out.",
        ("mart_course_grade_summary",),
        dfw,
        lambda rows: svg.hbar(
            [f"course {r[0]}" for r in rows], [float(r[4]) for r in rows], "Share below the DFW threshold", " %"
        ),
    )
    if dfw:
        section = Section(
            section.title,
            section.definition,
            section.models,
            chart=section.chart,
            table=table_html(
                ("course", "students", "graded", "mean score", "% below threshold"), dfw, "The same courses"
            ),
        )
    page.sections.append(section)
    page.sections.append(
        _section(
            "Risk levels per week",
            "Student-course rows per week of the term by the weekly risk composite's level.",
            ("mart_student_risk_weekly",),
            q.risk_levels_by_week(con, term, min_cell),
            lambda rows: svg.stacked_bars(
                _weeks(rows),
                [svg.Series(n, [float(r[i]) for r in rows], c) for i, (n, c) in enumerate(RISK_LEVELS, 1)],
                "Risk levels per week",
            ),
        )
    )
    return page


def at_risk_page(con: duckdb.DuckDBPyConnection, term: q.Term, student_rows: bool = True) -> Page:
    week = q.at_risk_week(con, term)
    page = Page(
        "at-risk",
        "Students at risk this week",
        "Decision support, not a decision: a starting point for a conversation. Students appear only by their "
        "pseudonymous key; names are resolved through the restricted pii schema by staff allowed to.",
    )
    if week is None:
        page.sections.append(
            Section(
                "At-risk list",
                "No week of the term has risk rows yet.",
                ("mart_student_risk_weekly",),
                empty="No data yet.",
            )
        )
        return page
    page.sections.append(
        _section(
            f"Why students are at risk, week of {week.isoformat()}",
            "Medium or high risk student-course rows of the week, by the component that fired (a row can have "
            "several).",
            ("mart_student_risk_weekly",),
            q.at_risk_reasons(con, term, week),
            lambda rows: svg.hbar([r[0] for r in rows], [float(r[1]) for r in rows], "At-risk rows per reason"),
        )
    )
    if not student_rows:
        page.sections.append(
            Section(
                "At-risk list",
                "One row per student and course at medium or high risk, with the reasons that fired.",
                ("mart_student_risk_weekly",),
                empty="Left out of this copy of the site (cd2 report --without-student-rows): it is published "
                "where people without access to student records may read it.",
            )
        )
        return page
    rows = q.at_risk_list(con, term, week)
    page.sections.append(
        Section(
            f"At-risk list, week of {week.isoformat()} (top {q.AT_RISK_LIMIT} by risk points)",
            "One row per student and course at medium or high risk, with the reasons that fired.",
            ("mart_student_risk_weekly",),
            table=table_html(
                ("user key", "course", "level", "points", "reasons", "score", "missing", "days inactive"),
                rows,
                "At-risk list",
                "at-risk",
            )
            if rows
            else None,
            empty=None if rows else "Nobody is at medium or high risk this week.",
        )
    )
    return page


def courses_page(con: duckdb.DuckDBPyConnection, term: q.Term) -> Page:
    page = Page(
        "courses", "Course design and adoption", "How courses use Canvas, per term and in the current term's design."
    )
    adoption = q.adoption_by_term(con)
    page.sections.append(
        _section(
            "Adoption per term",
            "Share of the term's courses (at the root account) that are published, use the gradebook, use modules and "
            "have a syllabus.",
            ("mart_adoption_by_account_term",),
            adoption,
            lambda rows: svg.lines(
                [str(r[0]) for r in rows],
                [
                    svg.Series(n, [r[i] for r in rows])
                    for i, n in enumerate(("published", "gradebook", "modules", "syllabus"), 2)
                ],
                "Adoption per term (%)",
            ),
        )
    )
    page.sections.append(
        _section(
            f"Module items by type, {term.name}",
            "Module items of the term's published teaching courses, by what they link to.",
            ("mart_course_design",),
            q.module_item_types(con, term),
            lambda rows: svg.hbar([str(r[0]) for r in rows], [float(r[1]) for r in rows], "Module items by type"),
        )
    )
    return page


def build_pages(con: duckdb.DuckDBPyConnection, min_cell: int, student_rows: bool = True) -> list[Page]:
    """Every page; ``student_rows=False`` leaves out the one table with a row per student (the
    at-risk list), for a copy published beyond the people allowed to read student records."""
    pages = [pipeline_page(con)]
    term = q.report_term(con)
    if term is None:
        return pages
    return [
        *pages,
        activity_page(con, term, min_cell),
        submissions_page(con, term, min_cell),
        grades_page(con, term, min_cell),
        at_risk_page(con, term, student_rows),
        courses_page(con, term),
    ]
