"""The report site's parts without a warehouse: the SVG charts, the pages' HTML, the folder swap, the
round's summary line. The site built from the demo's marts, and opened in Chromium, is tested in
``test_marts_differential_demo.py``."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import duckdb
import pytest

from extract.report import ReportResult, project_settings, queries, svg
from extract.report.pages import Page, Section, _section, table_html
from extract.report.site import MARKER, docs_href, render, write_site
from extract.run import RunSummary, format_summary
from extract.tests.dbt_helpers import ROOT
from extract.tests.marts_differential import values_in

HOSTILE = '<script>alert("x")</script> & Ö'


def _parsed(chart: str) -> ET.Element:
    return ET.fromstring(chart)  # well-formed XML, or this raises


def _marks(chart: str) -> list[ET.Element]:
    return [e for e in _parsed(chart).iter() if e.get("class") == "mark"]


def test_charts_are_well_formed_svg_with_one_mark_per_value() -> None:
    bars = svg.hbar(["a", HOSTILE, "c"], [3.0, 0.0, 12.5], "bars")
    assert len(_marks(bars)) == 3
    widths = [float(m.get("width", "0")) for m in _marks(bars)]
    assert widths[2] > widths[0] > widths[1] > 0  # a zero is a stub, not nothing
    stacked = svg.stacked_bars(["W1", "W2"], [svg.Series("on time", [5, 0]), svg.Series("late", [1, 2])], "s")
    assert len(_marks(stacked)) == 3  # the zero cell draws nothing
    line = svg.lines(["W1", "W2", "W3"], [svg.Series("x", [1.0, None, 3.0])], "l")
    assert len(_marks(line)) == 2  # a suppressed value is a gap
    assert "<script>" not in bars and "&lt;script&gt;" in bars


def test_a_chart_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError):
        svg.hbar([], [], "empty")
    with pytest.raises(ValueError):
        svg.lines(["W1"], [svg.Series("x", [None])], "all suppressed")


def test_axis_ends_on_a_round_number_above_the_largest_value() -> None:
    assert [svg._nice_max(v) for v in (0, 0.7, 3, 12.5, 99, 1001, 1_431_395)] == [
        1.0,
        1.0,
        5.0,
        20.0,
        100.0,
        2000.0,
        2_000_000.0,
    ]


def test_pages_escape_every_text_and_link_to_the_docs() -> None:
    section = Section(HOSTILE, HOSTILE, ("mart_x",), chart=svg.hbar(["a"], [1.0], "c"))
    table = Section("t", "d", (), table=table_html(("h",), [(HOSTILE,), (None,), (1234,)], HOSTILE))
    files = render([Page("p", HOSTILE, HOSTILE, [section, table])], "../static_index.html", "cd2", None)
    assert set(files) == {"index.html", "p.html"}
    page = files["p.html"]
    assert "<script>" not in page and page.count("&lt;script&gt;") >= 4
    assert 'href="../static_index.html#!/model/model.cd2.mart_x"' in page
    assert "<td>-</td>" in page and "<td>1,234</td>" in page
    assert docs_href("../index.html", "cd2", "mart_y") == "../index.html#!/model/model.cd2.mart_y"
    assert re.search(r'<a href="p.html" class="here">', page)


def test_the_site_folder_is_swapped_whole_and_only_a_report_folder_is_replaced(tmp_path: Path) -> None:
    out = tmp_path / "report"
    write_site({"index.html": "one", "a.html": "a"}, out)
    assert (out / MARKER).is_file() and (out / "a.html").read_text() == "a"
    write_site({"index.html": "two"}, out)
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "index.html"]  # the old page is gone
    assert (out / "index.html").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["report"]  # no temporary folder left behind
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        write_site({"index.html": "x"}, mine)
    assert (mine / "notes.txt").read_text() == "keep me"
    with pytest.raises(ValueError):
        write_site({"../escape.html": "x"}, tmp_path / "other")


def test_the_project_gives_the_docs_name_and_the_minimum_cell_size() -> None:
    assert project_settings(ROOT) == ("cd2", 10)


def test_the_round_summary_names_the_report_site() -> None:
    summary = RunSummary(report=ReportResult(Path("target/report/index.html"), 6, 12, 0.4))
    assert "report site: target/report/index.html (6 pages, 12 charts in 0.4s)" in format_summary(summary)
    assert summary.ok
    failed = RunSummary(report_error="OSError: disk full")
    assert "report site: FAILED: OSError: disk full" in format_summary(failed) and not failed.ok
    skipped = RunSummary(report_skipped="no marts.mart_student_risk_weekly in x.duckdb")
    assert any(line.startswith("report site: not written") for line in format_summary(skipped)) and skipped.ok


def test_the_privacy_scan_finds_every_planted_value_and_nothing_else() -> None:
    text = "<td>Jane O&#x27;Brien</td><td>42</td> jane@example.edu/x"
    values = {"Jane O&#x27;Brien", "jane@example.edu", "not-in-the-text", "Brien</td"}
    assert values_in(text, values) == {"Jane O&#x27;Brien", "jane@example.edu", "Brien</td"}
    assert values_in("", values) == set()
    with pytest.raises(ValueError):
        values_in(text, {"short"})


def test_a_section_whose_values_are_all_suppressed_says_so_instead_of_failing() -> None:
    drawn = _section("t", "d", ("m",), [("W1", None)], lambda rows: svg.lines(["W1"], [svg.Series("x", [None])], "l"))
    assert drawn.chart is None and drawn.empty
    assert _section("t", "d", ("m",), [], lambda rows: "never called").empty


def test_freshness_bands_and_rounds_from_cd2_meta() -> None:
    con = duckdb.connect()
    con.execute(
        "CREATE SCHEMA cd2_meta; CREATE TABLE cd2_meta.table_state (watermark TIMESTAMP);"
        "INSERT INTO cd2_meta.table_state VALUES ('2024-01-01 10:00'), ('2024-01-01 10:00'), ('2024-01-01 08:00'),"
        "('2023-12-30 10:00'), (NULL), ('2023-12-01 00:00');"
        "CREATE TABLE cd2_meta.batches (batch_id INTEGER, started_at TIMESTAMP, finished_at TIMESTAMP, rows BIGINT,"
        " status VARCHAR);"
        "INSERT INTO cd2_meta.batches VALUES (1, '2024-01-01 00:00', '2024-01-01 00:10', 100, 'committed'),"
        "(2, '2024-01-01 00:05', '2024-01-01 00:20', 50, 'failed'),"  # still running when 3 starts, 5 minutes idle
        "(3, '2024-01-01 00:15', '2024-01-01 00:16', 5, 'committed'),"
        "(4, '2024-01-01 04:00:00', '2024-01-01 04:01:00', 7, 'committed'),"  # nothing running: a new round
        "(5, '2024-01-01 04:00:30', '2024-01-01 04:00:40', 1, 'committed'),"
        "(6, '2024-01-01 04:01:20', NULL, 2, 'running'),"  # idle 20 s only: the same round
        "(7, '2024-01-01 04:02:00', '2024-01-01 04:02:05', 3, 'committed')"  # idle 40 s after 6 started: a new round
    )
    assert queries.freshness_bands(con) == [
        ("as fresh as the freshest", 2),
        ("under 4 h behind", 1),
        ("1 to 7 days behind", 1),
        ("over 7 days behind", 1),
        ("never synced", 1),
    ]
    rounds = queries.rows_per_round(con)
    assert [(r[1], r[2], r[3]) for r in rounds] == [(3, 155, 1), (3, 10, 1), (1, 3, 0)]
