"""The static learning-analytics report site (issue 27), built from the marts by ``cd2 report``
and by ``cd2 run`` after the docs.

``queries`` reads the numbers with SQL (small cells suppressed), ``svg`` draws the charts,
``pages`` says what each page shows and where it comes from, ``site`` writes the HTML files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from extract.report import queries
from extract.report.pages import build_pages
from extract.report.site import render, write_site

SITE_DIR = "report"
# From the report folder (target/report/) to the docs site beside it (target/static_index.html).
DEFAULT_DOCS_URL = "../static_index.html"
DEFAULT_MIN_CELL = 10
# The mart whose presence says the marts are built (the report reads several).
REPORT_NEEDS = "mart_student_risk_weekly"


@dataclass(frozen=True)
class ReportResult:
    path: Path  # the site's index.html
    pages: int
    charts: int
    seconds: float


def project_settings(project_dir: Path) -> tuple[str, int]:
    """The dbt project's name (for docs links) and its minimum cell size (var ``cd2_min_cell_size``)."""
    project = yaml.safe_load((project_dir / "dbt_project.yml").read_text(encoding="utf-8")) or {}
    min_cell = int((project.get("vars") or {}).get("cd2_min_cell_size", DEFAULT_MIN_CELL))
    if min_cell < 1:
        raise ValueError(f"cd2_min_cell_size must be at least 1, not {min_cell}")
    return str(project["name"]), min_cell


def build_report(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    project: str,
    min_cell: int,
    docs_url: str = DEFAULT_DOCS_URL,
    student_rows: bool = True,
) -> ReportResult:
    """Every page from the marts ``con`` reads, written whole into ``out`` (``student_rows``:
    ``extract.report.pages.build_pages``)."""
    started = time.perf_counter()
    if not queries.has_relation(con, "marts", REPORT_NEEDS):
        raise LookupError("the marts are not built in this database: run `cd2 run` (or dbt build) first")
    pages = build_pages(con, min_cell, student_rows)
    files = render(pages, docs_url, project, queries.data_as_of(con))
    folder = write_site(files, out)
    charts = sum(s.charts for p in pages for s in p.sections)
    return ReportResult(folder / "index.html", len(pages), charts, time.perf_counter() - started)
