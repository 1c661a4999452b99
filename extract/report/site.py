"""Writes the report's pages as static HTML files: one folder, works offline, opened from disk.

Every page carries its own small stylesheet and its charts inline (SVG), so the folder can be
copied anywhere (GitHub Pages, a share, an e-mail attachment) and opened with no server and no
network. The folder is written whole beside the old one and swapped in, so a reader never sees
half a site; a folder that is not a report site (no marker file) is never replaced.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from datetime import datetime
from html import escape
from pathlib import Path
from urllib.parse import quote

from extract.report.pages import Page, Section

MARKER = ".cd2-report"
STYLE = """
body{font-family:system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3a5f;color:#fff;padding:10px 24px}header a{color:#fff;margin-right:16px}
header a.here{font-weight:bold;text-decoration:underline}main{padding:8px 24px;max-width:1100px}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 16px;margin:16px 0}
.definition{color:#444;font-size:14px}.empty{color:#a00}
table{border-collapse:collapse;font-size:13px;margin:8px 0}caption{text-align:left;font-weight:bold}
td,th{border:1px solid #ddd;padding:2px 8px;text-align:left;white-space:nowrap}th{background:#eef}
table.at-risk td:first-child{font-family:monospace;font-size:11px}
footer{color:#666;font-size:12px;padding:8px 24px}
"""


def docs_href(docs_url: str, project: str, model: str) -> str:
    return f"{docs_url}#!/model/{quote(f'model.{project}.{model}', safe='._')}"


def _section_html(section: Section, docs_url: str, project: str) -> str:
    links = ", ".join(
        f'<a class="docs" href="{escape(docs_href(docs_url, project, m))}">{escape(m)}</a>' for m in section.models
    )
    source = f"From {links} (its definition in the docs site)." if links else "From cd2_meta, as `cd2 status` reads it."
    parts = [f"<section><h2>{escape(section.title)}</h2>"]
    parts.append(f'<p class="definition">{escape(section.definition)} {source}</p>')
    if section.chart is not None:
        parts.append(f'<figure class="chart-figure">{section.chart}</figure>')
    if section.table is not None:
        parts.append(section.table)
    if section.empty is not None:
        parts.append(f'<p class="empty">{escape(section.empty)}</p>')
    parts.append("</section>")
    return "".join(parts)


def _nav(pages: Sequence[Page], here: str) -> str:
    items = [("index", "Overview"), *((p.slug, p.title) for p in pages)]
    here_class = ' class="here"'
    return "".join(
        f'<a href="{slug}.html"{here_class if slug == here else ""}>{escape(title)}</a>' for slug, title in items
    )


def _document(title: str, body: str, pages: Sequence[Page], here: str, footer: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · cd2 report</title><style>{STYLE}</style></head><body>"
        f"<header><nav>{_nav(pages, here)}</nav></header><main><h1>{escape(title)}</h1>{body}</main>"
        f"<footer>{escape(footer)}</footer></body></html>\n"
    )


def _index_body(pages: Sequence[Page], docs_url: str) -> str:
    items = "".join(
        f'<li><a href="{p.slug}.html">{escape(p.title)}</a>: {escape(p.intro)} '
        f"({sum(s.charts for s in p.sections)} charts)</li>"
        for p in pages
    )
    return (
        "<p>Learning analytics from the marts of this warehouse. Every chart names the mart it reads and links "
        f'to its definition in the <a class="docs" href="{escape(docs_url)}">docs site</a>. Students appear only by '
        "pseudonymous keys; cells with fewer students than the minimum cell size are suppressed.</p>"
        f"<ul>{items}</ul>"
    )


def render(pages: Sequence[Page], docs_url: str, project: str, as_of: datetime | None) -> dict[str, str]:
    """File name → HTML of every page of the site."""
    footer = f"Data as of {as_of.isoformat(sep=' ', timespec='minutes') if as_of else 'unknown'}. Built by cd2 report."
    files = {"index.html": _document("Learning-analytics report", _index_body(pages, docs_url), pages, "index", footer)}
    for page in pages:
        body = f'<p class="intro">{escape(page.intro)}</p>' + "".join(
            _section_html(s, docs_url, project) for s in page.sections
        )
        files[f"{page.slug}.html"] = _document(page.title, body, pages, page.slug, footer)
    return files


def write_site(files: dict[str, str], out: Path) -> Path:
    """Write ``files`` into a new folder and swap it in for ``out`` (replaced only if it is a report site)."""
    out = out.resolve()
    if out.exists() and not (out / MARKER).is_file() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not a report site ({MARKER} missing): choose another folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for name, html in files.items():
            if Path(name).name != name or not name.endswith(".html"):
                raise ValueError(f"not a page file name: {name!r}")
            (fresh / name).write_text(html, encoding="utf-8")
        (fresh / MARKER).write_text("written by cd2 report; the folder is replaced whole\n", encoding="utf-8")
        old = out.with_name(f".{out.name}-old")
        if old.exists():
            shutil.rmtree(old)
        if out.exists():
            out.replace(old)
        fresh.replace(out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return out
