"""Browser tests: a live server on a fresh SQLite file, headless Chromium through Playwright.

Fixtures (generic, for every browser test): `live_server` (.base_url, .app), `browser`,
`new_page(viewport=(w, h))`, `page` (a desktop page), `artifacts` (test-artifacts/, git-ignored,
where screenshots are kept for review). Data written through the app is committed for real:
this is not the rolled-back `db` fixture. Tests are marked `browser` and skip, saying why,
when /usr/bin/chromium or Playwright is missing.
"""
import threading
from dataclasses import dataclass
from pathlib import Path

import flask_migrate
import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import make_test_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class LiveServer:
    base_url: str
    app: Flask

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """The app on 127.0.0.1:<free port>, its own migrated SQLite file, CSRF on as in
    production (the pages' forms and fetches must carry the token). One per test module, so
    that one module's data (banks, products) never changes what another's pages show."""
    db_file = tmp_path_factory.mktemp("browser-db") / "browser.sqlite3"
    app = make_test_app(DATABASE_URL=f"sqlite:///{db_file}", WTF_CSRF_ENABLED=True,
                        SERVER_NAME=None, TESTING=False)
    with app.app_context():
        flask_migrate.upgrade()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(base_url=f"http://127.0.0.1:{server.server_port}", app=app)
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}, which is missing")
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="browser tests need the playwright package")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(viewport=(w, h)) -> a Page in its own context (own cookies), base_url set;
    console errors (a CSP violation among them) are collected in page.console_errors."""
    contexts = []

    def make(viewport=(1366, 900), **context_options):
        width, height = viewport
        context = browser.new_context(viewport={"width": width, "height": height},
                                      base_url=live_server.base_url, locale="zh-CN",
                                      **context_options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.console_errors = []
        page.on("console", lambda msg: msg.type == "error" and "Failed to load resource"
                not in msg.text and page.console_errors.append(msg.text))
        page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
        # the browser's own favicon probe is not the page's fault
        page.on("response", lambda r: r.status >= 400 and not r.url.endswith("/favicon.ico")
                and page.console_errors.append(f"{r.status} {r.url}"))
        return page

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
