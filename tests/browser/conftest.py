"""Browser fixtures: the real app on a live port, and headless Chromium driven by Playwright.

One live server per database backend is started on first use and stopped when the session
ends; tests keep apart by using fresh e-mail addresses and course codes. Without Chromium
(or the playwright package) every browser test is skipped with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from support import PG_URL

from .helpers import CHROMIUM, CHROMIUM_ARGS, missing_browser, start_live_server

BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def _servers(tmp_path_factory):
    started = {}

    def get(backend: str):
        if backend not in started:
            started[backend] = start_live_server(backend, tmp_path_factory.mktemp(f"live-{backend}"))
        return started[backend]

    yield get
    for server in started.values():
        server.stop()


@pytest.fixture(params=BACKENDS)
def live_server(request, _servers):
    """The live server for this test's backend. A server-side exception fails the test."""
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    server = _servers(request.param)
    seen = len(server.errors)
    yield server
    new = server.errors[seen:]
    assert not new, f"the server raised during this test: {new}"


@pytest.fixture(scope="session")
def browser():
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@dataclass
class PageWatch:
    """What a page reported besides its DOM."""
    page_errors: list[str] = field(default_factory=list)  # uncaught JS exceptions
    dialogs: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)  # 5xx responses
    console: list[str] = field(default_factory=list)


@pytest.fixture
def new_page(browser, live_server):
    """Opens a page in a fresh browser context (its own cookies) on the live server.

    Dialogs are recorded; confirm() is accepted (the app's "Release grades?"), others dismissed.
    The page's `watch` holds what it reported. Contexts close when the test ends."""
    contexts = []

    def _open(*, width: int = 1280, height: int = 900, **context_options):
        ctx = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height},
                                  **context_options)
        ctx.set_default_timeout(TIMEOUT_MS)
        contexts.append(ctx)
        page = ctx.new_page()
        watch = PageWatch()
        page.watch = watch
        page.on("pageerror", lambda exc: watch.page_errors.append(str(exc)))
        page.on("console", lambda msg: watch.console.append(f"{msg.type}: {msg.text}"))
        page.on("response", lambda r: r.status >= 500 and watch.server_errors.append(f"{r.status} {r.url}"))

        def on_dialog(dialog):
            watch.dialogs.append(f"{dialog.type}: {dialog.message}")
            if dialog.type == "confirm":
                dialog.accept()
            else:
                dialog.dismiss()

        page.on("dialog", on_dialog)
        return page

    yield _open
    for ctx in contexts:
        ctx.close()
