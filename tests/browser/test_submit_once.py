"""A create form's button is disabled while its post is in flight: htmx forms and plain ones alike."""
from __future__ import annotations

from playwright.sync_api import expect

from portal.cli import demo
from portal.extensions import db as _db
from portal.models import Referral

from tests.browser.conftest import screenshot, sign_in


def _hold_posts(page, path: str) -> list:
    """Keep every POST to `path` waiting until the test lets it go (the request is in flight)."""
    held = []

    def hold(route):
        if route.request.method == "POST":
            held.append(route)
        else:
            route.continue_()

    page.route(f"**{path}", hold)
    return held


def test_new_referral_button_is_disabled_while_the_form_is_sent_and_one_referral_results(app, page):
    with app.app_context():
        demo.seed()
        before = _db.session.scalar(_db.select(_db.func.count(Referral.id)))
    sign_in(page, "jane@northwind.example")
    page.goto("/partner/referrals/new")
    page.get_by_label("Last name").fill("Hopper")
    page.get_by_label("Email", exact=True).fill("grace@harbour-analytics.example")
    page.get_by_label("Company", exact=True).fill("Harbour Analytics")
    page.get_by_label("The customer agreed to be contacted").check()
    held = _hold_posts(page, "/partner/referrals/new")
    button = page.get_by_role("button", name="Submit the referral")
    button.click()
    expect(button).to_be_disabled()  # htmx: hx-disabled-elt
    button.click(force=True)  # a second click on a disabled button sends nothing
    screenshot(page, "submit-once-in-flight")
    assert len(held) == 1
    held[0].continue_()
    expect(page.get_by_role("heading", name="Harbour Analytics")).to_contain_text("Submitted")
    with app.app_context():
        assert _db.session.scalar(_db.select(_db.func.count(Referral.id))) == before + 1


def test_a_plain_form_disables_its_button_once_sent(app, page):
    with app.app_context():
        demo.seed()
    page.goto("/refer")
    # Send the form, and stop the navigation at the last moment (a listener on window runs after
    # app.js's on document), so the page that sent it can be looked at.
    disabled = page.evaluate("""() => new Promise((resolve) => {
        window.addEventListener("submit", (event) => event.preventDefault(), {once: true});
        const form = document.querySelector("form.public-form");
        form.requestSubmit(form.querySelector("button[type='submit']"));
        setTimeout(() => resolve(form.querySelector("button[type='submit']").disabled), 50);
    })""")
    assert disabled is True  # static/js/app.js: the public pages have no htmx
