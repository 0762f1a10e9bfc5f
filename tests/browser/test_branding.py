"""An admin uploads the logo: the chosen file shows before it is saved, the saved one right after (with
its tab icon), prospects see it, and a file it cannot use is an error next to the field."""
from __future__ import annotations

import io
import re

from PIL import Image
from playwright.sync_api import expect

from portal.cli import demo
from tests.browser.audit import axe_violations, collect_console_errors
from tests.browser.conftest import screenshot, sign_in


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 80), (15, 118, 110)).save(out, format="PNG")
    return out.getvalue()


def test_an_admin_previews_uploads_and_replaces_the_logo_and_prospects_see_it(app, page, live_server):
    with app.app_context():
        demo.seed()
    errors = collect_console_errors(page)
    sign_in(page, "admin@acme.example")
    page.goto("/internal/settings/public-page")
    preview = page.locator("[data-logo-preview]")
    expect(preview).to_be_hidden()

    page.get_by_label("Logo file").set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": _png()})
    expect(preview).to_be_visible()  # before it is saved: the file as chosen
    expect(preview).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    expect(preview).to_have_attribute("alt", "The chosen file, not saved yet")
    expect(page.locator(".logo-preview .public-wordmark")).to_have_count(0)
    expect(page.locator("[data-logo-caption]")).to_have_text("The chosen file, as prospects would see it (not saved yet)")
    screenshot(page, "branding-logo-chosen")
    page.get_by_role("button", name="Upload the logo").click()

    expect(page.locator("#flash-region")).to_contain_text("The logo is saved")
    saved = page.locator(".logo-preview__header img")
    expect(saved).to_have_attribute("src", re.compile(r"^/brand/logo\?v=[0-9a-f]{12}$"))
    assert saved.evaluate("img => img.naturalWidth") == 320  # the stored logo, served and drawn
    expect(page.locator(".logo-preview__favicon")).to_be_visible()
    expect(page.locator('link[rel="icon"]')).to_have_attribute("href", re.compile(r"^/brand/favicon\?v="))
    assert not axe_violations(page)
    screenshot(page, "branding-logo-saved")

    page.get_by_label("Logo file").set_input_files(
        {"name": "logo.svg", "mimeType": "image/svg+xml",
         "buffer": b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><script>alert(1)</script></svg>'})
    page.get_by_role("button", name="Replace the logo").click()
    expect(page.locator("#logo-error")).to_contain_text("This SVG contains a script")
    expect(page.get_by_label("Logo file")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".logo-preview__header img")).to_have_attribute("src", re.compile(r"^/brand/logo\?v="))

    page.goto("/refer")
    public_logo = page.locator("img.public-logo")
    expect(public_logo).to_have_attribute("src", re.compile(r"^/brand/logo\?v="))
    assert public_logo.evaluate("img => img.naturalWidth") == 320
    assert not errors, errors
