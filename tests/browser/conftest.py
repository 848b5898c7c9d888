"""Browser journeys: Playwright for Python driving Debian's Chromium against a live server
(the test database) with a real Celery worker rendering PDFs. A failed journey leaves a
screenshot and the page's HTML in var/test-artifacts/."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(settings.BASE_DIR) / "var" / "test-artifacts"


def _chromium_or_skip() -> None:
    if shutil.which(CHROMIUM) is None:
        if os.environ.get("OFFLABEL_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing but OFFLABEL_REQUIRE_BROWSER is set (CI)")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # around it are plain synchronous calls, which Django otherwise refuses next to a running
    # loop. Set only while the browser is up, so no subprocess of another test inherits it.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield chromium
        finally:
            chromium.close()
            if previous is None:
                os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page_for(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """New browser contexts (one per user; keyword arguments go to ``new_context``), each page
    recording CSP violations and console errors; on failure every open page is saved as a
    screenshot and HTML."""
    contexts: list[Any] = []
    problems: list[str] = []

    def open_page(**context_options: Any) -> Any:
        context = browser.new_context(
            accept_downloads=True, viewport={"width": 1280, "height": 900}, **context_options
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on(
            "console",
            lambda m: (
                problems.append(f"{page.url} {m.location.get('url', '')}: {m.text[:150]}")
                if m.type == "error" or "Content Security Policy" in m.text
                else None
            ),
        )
        return page

    open_page.problems = problems  # type: ignore[attr-defined]
    yield open_page
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        stem = f"{request.node.name}-{uuid.uuid4().hex[:6]}"
        for n, context in enumerate(contexts):
            for m, page in enumerate(context.pages):
                page.screenshot(path=str(ARTIFACTS / f"{stem}-{n}-{m}.png"), full_page=True)
                (ARTIFACTS / f"{stem}-{n}-{m}.html").write_text(page.content())
        print(f"browser artifacts: {ARTIFACTS}/{stem}-*")
    for context in contexts:
        context.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)
