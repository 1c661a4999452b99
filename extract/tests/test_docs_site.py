"""The dbt docs site, opened in a real (headless) Chromium.

The site is ``target/static_index.html`` from ``dbt docs generate --static``: one HTML file
holding the manifest and the catalog, rendered by dbt's Angular app. This test builds it on a
scratch DuckDB file (``dbt build`` of the seeds and models on an empty database, then
``dbt docs generate --static``, all under a temporary target path) - or takes a site that was
already built from ``CD2_DOCS_SITE`` (CI checks the demo build's site that way) - and then
drives Chromium through the DevTools protocol over a pipe (``extract/tests/browser.py``):

* the overview renders, and its navigation lists every model of the manifest;
* typing a model's name into the search box lists it; clicking the result opens
  ``#!/model/model.<project>.<name>``, which shows the name, the description and the columns
  (with the types from the catalog);
* no JavaScript exception is thrown; screenshots land in ``.cache/test-artifacts/``.

The model is ``CD2_DOCS_MODEL`` if set, else a mart (``mart_student_risk_weekly``,
``fct_submission``) or ``stg_canvas__courses`` when they exist, else the first documented model.
A further test checks that the exposures are on the site. Chromium comes from ``scripts/chromium.sh``
(which installs Debian's package when it is missing); if it cannot be had the test fails,
unless ``CD2_SKIP_BROWSER=1``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from extract.tests.browser import ARTIFACTS, REPO_ROOT, VIEWPORT, Page, browser_tab, png_size

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

PREFERRED_MODELS = ("mart_student_risk_weekly", "fct_submission", "stg_canvas__courses")


# --- the docs site -----------------------------------------------------------------------------


@dataclass
class DocsSite:
    html: Path
    manifest: dict[str, Any] = field(repr=False)
    catalog: dict[str, Any] | None = field(repr=False)
    seconds: float = 0.0

    @property
    def project(self) -> str:
        return str(self.manifest["metadata"]["project_name"])

    @property
    def models(self) -> dict[str, dict[str, Any]]:
        return {uid: node for uid, node in self.manifest["nodes"].items() if node["resource_type"] == "model"}

    def model(self, name: str) -> dict[str, Any]:
        uid = f"model.{self.project}.{name}"
        if uid not in self.models:
            pytest.fail(f"{uid} is not in the manifest ({len(self.models)} models)")
        return self.models[uid]


def _dbt(args: list[str], scratch: Path, db: Path) -> None:
    dbt = Path(sys.executable).with_name("dbt")
    env = dict(os.environ, CD2_DB=str(db), CD2_TARGET="local", DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    env.setdefault("CD2_PSEUDONYM_SECRET", "cd2-tests-only-not-a-secret")
    command = [
        str(dbt),
        *args,
        "--project-dir",
        str(REPO_ROOT),
        "--profiles-dir",
        str(REPO_ROOT),
        "--target-path",
        str(scratch / "target"),
        "--log-path",
        str(scratch / "logs"),
    ]
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        pytest.fail(f"dbt {' '.join(args)} failed (exit {result.returncode}):\n{result.stdout[-6000:]}{result.stderr}")


def build_docs_site(scratch: Path) -> Path:
    """Seeds and models on an empty DuckDB file (data tests are `make dbt-check`'s job), then the site.

    ``CD2_DOCS_DB`` names a database where the project is already built (`make test` passes the
    one `make dbt-check` built): a copy of it is used and only the site is generated."""
    db = scratch / "docs.duckdb"
    built = os.environ.get("CD2_DOCS_DB")
    if built and Path(built).is_file():
        shutil.copyfile(built, db)
    else:
        _dbt(["build", "--resource-type", "model", "--resource-type", "seed", "--threads", "2"], scratch, db)
    _dbt(["docs", "generate", "--static"], scratch, db)
    return scratch / "target" / "static_index.html"


@pytest.fixture(scope="module")
def docs_site(tmp_path_factory: pytest.TempPathFactory) -> DocsSite:
    started = time.monotonic()
    given = os.environ.get("CD2_DOCS_SITE")
    html = Path(given).resolve() if given else build_docs_site(tmp_path_factory.mktemp("docs_site"))
    assert html.is_file(), f"no docs site at {html}"
    manifest_path = html.with_name("manifest.json")
    assert manifest_path.is_file(), f"{manifest_path} should sit beside the site"
    catalog_path = html.with_name("catalog.json")
    catalog = json.loads(catalog_path.read_text(encoding="utf-8")) if catalog_path.exists() else None
    if not given:
        assert catalog is not None, "dbt docs generate wrote no catalog.json"
    site = DocsSite(html, json.loads(manifest_path.read_text(encoding="utf-8")), catalog)
    site.seconds = time.monotonic() - started
    print(f"\ndocs site: {html} ({html.stat().st_size / 1e6:.1f} MB, {len(site.models)} models, {site.seconds:.0f}s)")
    return site


def chosen_model(site: DocsSite) -> str:
    wanted = os.environ.get("CD2_DOCS_MODEL")
    if wanted:
        return wanted
    names = {node["name"]: node for node in site.models.values()}
    for name in PREFERRED_MODELS:
        if name in names:
            return name
    documented = sorted(name for name, node in names.items() if node.get("description", "").strip())
    assert documented, "no model of the manifest has a description"
    return documented[0]


@pytest.fixture(scope="module")
def page(docs_site: DocsSite) -> Iterator[Page]:
    with browser_tab(
        docs_site.html.as_uri(), "!!document.querySelector('#search')", "the docs app to render its search box"
    ) as tab:
        yield tab


def words(markdown: str) -> list[str]:
    """The words of a description's first paragraph, as any markdown rendering shows them."""
    first = markdown.strip().split("\n\n")[0]
    first = re.sub(r"\]\([^)]*\)", "]", first)  # link targets are not shown
    return re.findall(r"[A-Za-z][A-Za-z0-9]{2,}", first)


# --- the tests ----------------------------------------------------------------------------------


def test_overview_lists_every_model(docs_site: DocsSite, page: Page) -> None:
    page.evaluate("location.hash = '#!/overview'")
    page.wait_for("location.hash", "the overview page", lambda h: h == "#!/overview")
    sidebar = page.wait_for("document.body.innerText", "the project in the sidebar", lambda t: "Projects" in t)
    assert docs_site.project in sidebar
    prefix = f"model.{docs_site.project}."
    shown = set(
        page.evaluate(
            f"""Array.from(document.querySelectorAll('[data-nav-unique-id^="{prefix}"]'))
                 .map(e => e.getAttribute('data-nav-unique-id'))"""
        )
    )
    assert len(docs_site.models) > 0
    assert shown == set(docs_site.models), (
        f"models in the manifest but not in the navigation: {sorted(set(docs_site.models) - shown)[:10]}; "
        f"in the navigation only: {sorted(shown - set(docs_site.models))[:10]}"
    )
    assert page.exceptions == []


def test_search_then_open_a_model_page(docs_site: DocsSite, page: Page) -> None:
    name = chosen_model(docs_site)
    node = docs_site.model(name)
    uid = node["unique_id"]
    description = node.get("description", "").strip()
    assert description, f"{uid} has no description: every model should be documented"

    # Type the name into the search box like a person would, and pick the result.
    page.evaluate("location.hash = '#!/overview'")
    page.click("#search")
    page.send("Input.insertText", {"text": name})
    result = f'.search-result[href="#!/model/{uid}"]'
    page.wait_for(f"!!document.querySelector({json.dumps(result)})", f"{name} among the search results")
    search_shot = page.screenshot(ARTIFACTS / "docs_site_search.png")
    page.click(f"{result} h4")
    page.wait_for("location.hash", f"the page of {uid}", lambda h: h == f"#!/model/{uid}")

    title = page.wait_for(
        "(document.querySelector('.app-title h1') || {}).innerText || ''",
        f"the title of {name}",
        lambda t: name in str(t),
    )
    assert name in title
    rendered = page.wait_for(
        "(document.querySelector('#description') || {parentElement: {}}).parentElement.innerText || ''",
        "the description section",
    )
    missing = [w for w in words(description) if w.lower() not in rendered.lower()]
    assert words(description) and not missing, f"description words not shown: {missing}\n{rendered[:500]}"

    columns_text = page.wait_for(
        "(document.querySelector('#columns') || {parentElement: {}}).parentElement.innerText || ''",
        "the columns section",
    )
    catalog_node = (docs_site.catalog or {}).get("nodes", {}).get(uid)
    expected = list(node.get("columns", {}))[:5] or list((catalog_node or {}).get("columns", {}))[:5]
    assert expected, f"{uid} has no documented columns"
    assert [c for c in expected if c.lower() not in columns_text.lower()] == []
    if catalog_node is not None:  # built relation: the catalog's column types are shown too
        first = catalog_node["columns"][next(iter(catalog_node["columns"]))]
        assert first["type"].lower() in columns_text.lower()
    elif not os.environ.get("CD2_DOCS_SITE"):
        pytest.fail(f"{uid} is missing from the catalog although it was built")

    model_shot = page.screenshot(ARTIFACTS / "docs_site.png")
    for shot in (search_shot, model_shot):
        assert png_size(shot) == VIEWPORT and shot.stat().st_size > 20_000
    assert page.exceptions == []


def test_exposures_are_on_the_site(docs_site: DocsSite, page: Page) -> None:
    """The intended consumers (dbt exposures) have their page, naming the marts they depend on."""
    exposures = docs_site.manifest.get("exposures", {})
    assert len(exposures) >= 4, sorted(exposures)
    uid = f"exposure.{docs_site.project}.early_alert_dashboard"
    exposure = exposures.get(uid) or next(iter(exposures.values()))
    uid = exposure["unique_id"]
    depends = [node.rsplit(".", 1)[-1] for node in exposure["depends_on"]["nodes"]]
    assert depends
    page.evaluate(f"location.hash = {json.dumps('#!/exposure/' + uid)}")
    text = page.wait_for(
        "document.body.innerText",
        f"the page of {uid}",
        lambda t: exposure.get("label", exposure["name"]) in str(t) and all(d in str(t) for d in depends),
    )
    assert "Depends On" in text or "depends on" in text.lower()
    page.screenshot(ARTIFACTS / "docs_site_exposure.png")
    assert page.exceptions == []


def test_the_overview_links_to_the_report_site(page: Page) -> None:
    """The project's overview (models/overview.md) links to the report site written beside the docs."""
    page.evaluate("location.hash = '#!/overview'")
    href = page.wait_for(
        "(document.querySelector('a[href=\"report/index.html\"]') || {}).href || ''",
        "the overview's link to the report site",
    )
    assert str(href).endswith("/report/index.html")
    assert page.exceptions == []
