"""The HTML report in a real browser: headless Chromium, driven by Playwright, from file://.

The site is built from ``tests/fixtures/results_small.json`` (a trimmed real run, see
``tests/fixtures/make_fixture.py``) and opened straight from the file system. Every page
reachable from the index must load without console errors, script errors, dialogs or
requests that leave the file system; the Plotly charts must actually render; and a
hostile implementation name from the results file must show up as text.

Playwright's own browser downloads are never used: the test launches the system's
Chromium (``OPSHOOTOUT_CHROMIUM`` or ``chromium`` on PATH). Without Playwright or Chromium
the tests skip with the reason, except under ``CI=true``, where they fail instead.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urldefrag, urlparse

import pytest

from reports.site import build_site

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Request

pytestmark = pytest.mark.browser

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "results_small.json"
EVIL = "<script>alert(1)</script>"
CHROMIUM_ENV = "OPSHOOTOUT_CHROMIUM"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 20_000


def unavailable(reason: str) -> NoReturn:
    """Skip for want of a browser; under CI=true that is a failure, since CI must run this."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


def find_chromium() -> str:
    override = os.environ.get(CHROMIUM_ENV)
    if override:
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            unavailable(f"{CHROMIUM_ENV}={override} is not an executable file")
        return override
    found = shutil.which("chromium")
    if found is None:
        unavailable(f"no chromium on PATH (install Debian's chromium or set {CHROMIUM_ENV})")
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    executable = find_chromium()
    with sync_playwright() as playwright:
        # launch() gives the browser a fresh temporary profile and removes it on close.
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site built from the fixture run; returns its index.html."""
    return build_site([FIXTURE], tmp_path_factory.mktemp("browser") / "site")


@dataclass
class Watch:
    """Everything a page did that an offline, static report must never do."""

    problems: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.problems.append(f"console error: {message.text} ({message.location})")

    def on_page_error(self, error: Any) -> None:
        self.problems.append(f"uncaught page error: {error}")

    def on_dialog(self, dialog: Dialog) -> None:
        self.problems.append(f"a {dialog.type} dialog opened: {dialog.message!r}")
        dialog.dismiss()

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)
        if urlparse(request.url).scheme != "file":
            self.problems.append(f"request leaves the file system: {request.url}")

    def on_request_failed(self, request: Request) -> None:
        self.problems.append(f"request failed: {request.url} ({request.failure})")

    def check(self) -> None:
        if self.problems:
            pytest.fail("\n".join(self.problems))


@pytest.fixture
def tab(browser: Browser) -> Iterator[tuple[Page, Watch]]:
    """A fresh context and page whose every misstep is recorded in the Watch."""
    context = browser.new_context()
    watch = Watch()
    context.on("request", watch.on_request)
    context.on("requestfailed", watch.on_request_failed)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.on("console", watch.on_console)
    page.on("pageerror", watch.on_page_error)
    page.on("dialog", watch.on_dialog)
    try:
        yield page, watch
    finally:
        context.close()


def open_page(page: Page, url: str) -> None:
    page.goto(url, wait_until="load")
    assert page.locator("h1").count() >= 1, f"{url} has no <h1>"
    scripts = page.locator("script[src*='plotly']").count()
    assert scripts <= 1, f"{url} loads plotly.js {scripts} times"


def local_pages(page: Page) -> list[str]:
    """Absolute URLs of the local .html pages the current page links to, in order."""
    hrefs: list[str] = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    found: list[str] = []
    for href in hrefs:
        url = urldefrag(href).url
        parsed = urlparse(url)
        if parsed.scheme == "file" and parsed.path.endswith(".html") and url not in found:
            found.append(url)
    return found


def crawl(page: Page, start: str, visit: Callable[[str], None] | None = None) -> list[str]:
    """Visit the start page and every local page reachable by links; returns them in order.

    ``visit(url)`` runs on each page once it has loaded.
    """
    seen = [start]
    queue = [start]
    while queue:
        url = queue.pop(0)
        open_page(page, url)
        if visit is not None:
            visit(url)
        for target in local_pages(page):
            if target not in seen:
                seen.append(target)
                queue.append(target)
    return seen


def test_every_linked_page_loads_offline_without_errors(
    site: Path, tab: tuple[Page, Watch]
) -> None:
    page, watch = tab
    index = site.as_uri()
    open_page(page, index)
    linked = local_pages(page)
    assert len(linked) >= 2, f"the index links to too few pages: {linked}"
    for url in linked:
        assert Path(urlparse(url).path).is_file(), f"the index links to a missing page: {url}"
    visited = crawl(page, index)
    assert set(linked) <= set(visited)
    assert watch.requests, "no request was recorded at all"
    watch.check()


def test_charts_render_on_algorithm_pages(site: Path, tab: tuple[Page, Watch]) -> None:
    page, watch = tab
    open_page(page, site.as_uri())
    charted = 0
    for url in local_pages(page):
        if urlparse(url).path == urlparse(site.as_uri()).path:
            continue
        open_page(page, url)
        containers = page.locator("div.plotly-graph-div")
        expected = containers.count()
        if expected == 0:
            continue
        assert page.locator("script[src*='plotly']").count() == 1, f"{url} lacks plotly.js"
        for number in range(expected):
            svg = containers.nth(number).locator("svg.main-svg").first
            svg.wait_for(state="attached", timeout=TIMEOUT_MS)
        drawn = page.locator("div.js-plotly-plot").count()
        assert drawn == expected, f"{url}: {drawn} charts drawn of {expected}"
        charted += 1
    assert charted >= 1, "no algorithm page has a chart"
    watch.check()


def test_hostile_names_render_as_text(site: Path, tab: tuple[Page, Watch]) -> None:
    page, watch = tab
    shown: list[str] = []

    def visit(url: str) -> None:
        if EVIL in page.locator("body").inner_text():
            shown.append(url)
        # an injected element would be a <script> whose whole text is the payload
        injected = page.eval_on_selector_all(
            "script", "scripts => scripts.filter(s => s.text.trim() === 'alert(1)').length"
        )
        assert injected == 0, f"{url} has the hostile name as a live <script>"

    crawl(page, site.as_uri(), visit)
    assert shown, f"{EVIL!r} is not visible as text on any page"
    watch.check()
