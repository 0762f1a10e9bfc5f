"""A required custom field meant for internal users never reaches the prospect's form, and the
prospect can send it."""
from __future__ import annotations

from playwright.sync_api import expect

from portal.extensions import db
from portal.models import Referral
from portal.services import custom_fields, links
from tests.browser.audit import axe_violations
from tests.browser.conftest import screenshot
from tests.factories import OrganizationFactory, internal_user, partner_user


def test_an_internal_only_required_field_is_not_on_the_public_form_and_a_prospect_submits(app, browser, live_server,
                                                                                           clock):
    with app.app_context():
        internal_user("manager")
        jane = partner_user("partner_admin", organization=OrganizationFactory(name="Northwind Consulting"))
        custom_fields.define(label="Sales region", kind="select", options=["East", "West"], required=True,
                             audience="internal")
        custom_fields.define(label="Industry", kind="select", options=["Retail", "Health"], audience="public")
        code = links.create(by=jane, campaign="Spring campaign").code

    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"/r/{code}")
        expect(page.get_by_label("Industry")).to_be_visible()
        expect(page.get_by_text("Sales region")).to_have_count(0)
        page.get_by_label("First name").fill("Grace")
        page.get_by_label("Last name").fill("Hopper")
        page.get_by_label("Work email").fill("grace@navy.example")
        page.get_by_label("Company").fill("Navy Systems")
        page.get_by_label("Industry").select_option("Health")
        page.get_by_label("I agree that").check()
        assert not axe_violations(page)
        screenshot(page, "public-form-public-fields-only")
        clock.advance(app.config["PUBLIC_FORM_MIN_SECONDS"])  # the time a person takes to fill it in
        page.get_by_role("button", name="Send my request").click()
        expect(page.get_by_role("heading", name="Thank you", exact=False)).to_be_visible()
    finally:
        context.close()
    with app.app_context():
        referral = db.session.scalars(db.select(Referral)).one()
        assert referral.custom_fields == {"cf_industry": "Health"}
