"""Browser tests: Playwright drives Debian's Chromium against the portal served on a real port."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from portal.cli import demo

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's 'chromium' package (apt-get install chromium).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def signed_in_at_each_size(browser, live_server, email: str):
    """(size name, a page signed in as `email`) at each of the audit's sizes, its context closed after."""
    from tests.browser.audit import SIZES
    for size, viewport in SIZES.items():
        context = browser.new_context(base_url=live_server, viewport=viewport)
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            sign_in(page, email)
            yield size, page
        finally:
            context.close()


def sign_in(page, email: str, password: str = demo.DEMO_PASSWORD) -> None:
    """Sign in through the login page, as a person would, and wait for the dashboard."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Welcome", exact=False)).to_be_visible()
    # The heading shows once the HTML is parsed, before the deferred scripts run: a test that types
    # into an htmx box at once would type before htmx listens.
    page.wait_for_load_state("load")
