"""The README's tour at a desk (1280 × 800) and on a phone (390 × 844): every page passes axe-core
(no serious or critical violation), is no wider than the viewport, logs no console error, and is
saved as a screenshot in tests/browser/screenshots/ for a person to look at."""
from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from portal.cli import demo
from portal.extensions import db
from portal.models import (CommissionPlan, DealRegistration, Lead, Organization, PartnerApplication, PayoutBatch, Referral,
                           ReferralLink)
from portal.services import access, accounts, branding, leads, links
from tests.browser.audit import SIZES, axe_violations, collect_console_errors, overflow, too_wide
from tests.browser.conftest import screenshot, sign_in
from tests.crm_fixtures import make_connection

# A label no one would type but someone will paste: it must wrap, never widen the page.
LONG_LABEL = "Partner-newsletter-" + "x" * 100
LONG_REASON = "We-already-work-with-this-customer-through-another-channel-" * 8


def _logo_png() -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (360, 96), (37, 70, 200))
    ImageDraw.Draw(image).rectangle((24, 24, 72, 72), fill=(255, 255, 255))
    image.save(out, format="PNG")
    return out.getvalue()


def _seed_tour(sandbox) -> dict:
    demo.seed()
    branding.upload_logo(_logo_png())  # the branding page previews it; every page links its favicon
    connection = make_connection(sandbox.base, sync_trigger="manual")
    jane = accounts.find_by_email("jane@northwind.example")
    long_link = links.create(by=jane, campaign=LONG_LABEL)
    dora = accounts.find_by_email("dora@atlas.example")
    lead = db.session.scalar(db.select(Lead).where(Lead.assigned_org_id == dora.organization_id,
                                                   Lead.status == "new").order_by(Lead.id))
    if lead is not None:  # a long decline reason must wrap on the lead's page
        leads.decline(lead, by=dora, reason=LONG_REASON)
    else:
        lead = db.session.scalar(db.select(Lead).where(Lead.assigned_org_id == dora.organization_id))
    first = db.session.scalar(db.select(Referral).order_by(Referral.id))
    spring = db.session.scalar(db.select(ReferralLink).where(ReferralLink.campaign == "Spring campaign"))
    def deal(company: str) -> int:
        return db.session.scalar(db.select(DealRegistration.id).where(DealRegistration.customer_company == company))

    return {"referral": first.id, "link": spring.id, "long_link": long_link.id, "code": spring.code,
            "lead": lead.id, "connection": connection.id,
            "partner_deal": deal("Wonka Sweets"), "reseller_deal": deal("Globex Energy"),
            "internal_deal": deal("Umbrella Health"),
            "organization": jane.organization_id,
            "plan": db.session.scalar(db.select(CommissionPlan.id).order_by(CommissionPlan.id)),
            "batch": db.session.scalar(db.select(PayoutBatch.id).order_by(PayoutBatch.id)),
            "application": db.session.scalar(db.select(PartnerApplication.id).order_by(PartnerApplication.id))}


def _tour(ids: dict) -> list[tuple[str, str | None, str]]:
    """(screenshot name, who signs in, path) in the README's order, then every other page of the blueprints."""
    jane, dora, admin = "jane@northwind.example", "dora@atlas.example", "admin@acme.example"
    return [
        ("login", None, "/login"),
        ("forgot-password", None, "/forgot-password"),
        ("public-refer", None, "/refer"),
        ("public-partner-apply", None, "/partners/apply"),
        ("partner-dashboard", jane, "/partner/"),
        ("partner-referrals", jane, "/partner/referrals"),
        ("partner-referral", jane, f"/partner/referrals/{ids['referral']}"),
        ("partner-links", jane, "/partner/links"),
        ("partner-link", jane, f"/partner/links/{ids['link']}"),
        ("partner-link-long-label", jane, f"/partner/links/{ids['long_link']}"),
        ("partner-new-referral", jane, "/partner/referrals/new"),
        ("partner-team", jane, "/partner/team"),
        ("partner-team-invite", jane, "/partner/team/invite"),
        ("partner-deals", jane, "/partner/deals"),
        ("partner-deal", jane, f"/partner/deals/{ids['partner_deal']}"),
        ("partner-new-deal", jane, "/partner/deals/new"),
        ("partner-commissions", jane, "/partner/commissions"),
        ("partner-ledger", jane, "/partner/ledger"),
        ("partner-statement", jane, "/partner/ledger/statement"),
        ("partner-payee", jane, "/partner/ledger/payee"),
        ("partner-reports", jane, "/reports/referrals"),
        ("partner-report-commissions", jane, "/reports/commissions"),
        ("partner-search", jane, "/search?q=Globex"),
        ("account", jane, "/account"),
        ("notifications", jane, "/notifications"),
        ("public-link", None, f"/r/{ids['code']}"),
        ("reseller-leads", dora, "/partner/leads"),
        ("reseller-lead", dora, f"/partner/leads/{ids['lead']}"),
        ("reseller-deals", dora, "/partner/deals"),
        ("reseller-deal", dora, f"/partner/deals/{ids['reseller_deal']}"),
        ("internal-dashboard", admin, "/internal/"),
        ("internal-queue", admin, "/internal/referrals/queue"),
        ("internal-referrals", admin, "/internal/referrals"),
        ("internal-referral", admin, f"/internal/referrals/{ids['referral']}"),
        ("internal-deal-queue", admin, "/internal/deals/queue"),
        ("internal-deals", admin, "/internal/deals"),
        ("internal-deal", admin, f"/internal/deals/{ids['internal_deal']}"),
        ("internal-partners", admin, "/internal/organizations"),
        ("internal-partner", admin, f"/internal/organizations/{ids['organization']}"),
        ("internal-partner-edit", admin, f"/internal/organizations/{ids['organization']}/edit"),
        ("internal-partner-new", admin, "/internal/organizations/new"),
        ("internal-applications", admin, "/internal/applications"),
        ("internal-application", admin, f"/internal/applications/{ids['application']}"),
        ("internal-users", admin, "/internal/users"),
        ("internal-user-invite", admin, "/internal/users/invite"),
        ("internal-commissions", admin, "/internal/commissions"),
        ("internal-commission-plans", admin, "/internal/commissions/plans"),
        ("internal-commission-plan-new", admin, "/internal/commissions/plans/new"),
        ("internal-commission-plan-edit", admin, f"/internal/commissions/plans/{ids['plan']}/edit"),
        ("internal-exchange-rates", admin, "/internal/commissions/rates"),
        ("internal-payouts", admin, "/internal/payouts"),
        ("internal-payout", admin, f"/internal/payouts/{ids['batch']}"),
        ("internal-reports", admin, "/reports/referrals"),
        ("internal-report-deals", admin, "/reports/deals"),
        ("internal-report-leads", admin, "/reports/leads"),
        ("internal-search", admin, "/search?q=Globex"),
        ("internal-audit", admin, "/internal/audit"),
        ("settings", admin, "/internal/settings"),
        ("settings-form-fields", admin, "/internal/settings/referral-form"),
        ("settings-custom-fields", admin, "/internal/settings/custom-fields"),
        ("settings-statuses", admin, "/internal/settings/statuses"),
        ("settings-duplicates", admin, "/internal/settings/duplicates"),
        ("settings-visibility", admin, "/internal/settings/visibility"),
        ("settings-deals", admin, "/internal/settings/deals"),
        ("settings-lead-rules", admin, "/internal/settings/lead-rules"),
        ("settings-branding", admin, "/internal/settings/public-page"),
        ("integrations", admin, "/internal/integrations/"),
        ("integrations-new", admin, "/internal/integrations/new"),
        ("integrations-connection", admin, f"/internal/integrations/{ids['connection']}"),
        ("integrations-mappings", admin, f"/internal/integrations/{ids['connection']}/mappings"),
        ("integrations-dry-run", admin, f"/internal/integrations/{ids['connection']}/dry-run"),
        ("integrations-log", admin, "/internal/integrations/log"),
    ]


@pytest.mark.parametrize("size", SIZES)
def test_every_tour_page_passes_axe_fits_the_screen_and_logs_no_console_error(app, browser, live_server, sandbox,
                                                                               size):
    with app.app_context():
        ids = _seed_tour(sandbox)
    problems: list[str] = []
    contexts: dict[str | None, object] = {}
    try:
        for name, who, path in _tour(ids):
            if who not in contexts:
                contexts[who] = browser.new_context(base_url=live_server, viewport=SIZES[size])
                page = contexts[who].new_page()
                page.set_default_timeout(10_000)
                page.errors = collect_console_errors(page)
                if who:
                    sign_in(page, who)
            page = contexts[who].pages[0]
            page.errors.clear()
            response = page.goto(path)
            assert response.status == 200, f"{path}: {response.status}"
            screenshot(page, f"tour-{name}-{size}")
            if (wider := overflow(page)) > 0:
                problems.append(f"{name} ({path}) is {wider}px wider than the {size} viewport: {too_wide(page)}")
            for violation in axe_violations(page):
                problems.append(f"{name} ({path}): axe {violation['impact']} {violation['id']}: "
                                f"{violation['help']} at {violation['nodes']}")
            problems += [f"{name} ({path}) console: {error}" for error in page.errors]
    finally:
        for context in contexts.values():
            context.close()
    assert not problems, "\n".join(problems)


def test_at_390px_the_menu_opens_and_closes_by_button_and_keyboard_and_referrals_show_company_and_status(
        app, browser, live_server):
    with app.app_context():
        demo.seed()
        visible = db.session.scalar(db.select(db.func.count()).select_from(
            access.visible_referrals(accounts.find_by_email("jane@northwind.example")).subquery()))
    context = browser.new_context(base_url=live_server, viewport=SIZES["phone"])
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        sign_in(page, "jane@northwind.example")
        nav = page.get_by_role("navigation", name="Main")
        menu = nav.get_by_role("button", name="Menu")
        referrals_link = nav.get_by_role("link", name="Referrals")
        expect(menu).to_have_attribute("aria-expanded", "false")
        expect(referrals_link).to_be_hidden()

        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(referrals_link).to_be_visible()
        screenshot(page, "phone-menu-open")
        menu.click()
        expect(referrals_link).to_be_hidden()

        menu.focus()
        page.keyboard.press("Enter")
        expect(referrals_link).to_be_visible()
        page.keyboard.press("Tab")
        expect(nav.get_by_role("link", name="Dashboard")).to_be_focused()
        page.keyboard.press("Escape")
        expect(referrals_link).to_be_hidden()
        expect(menu).to_be_focused()
        page.keyboard.press("Space")
        expect(referrals_link).to_be_visible()
        referrals_link.click()

        expect(page.get_by_role("heading", name="Our referrals")).to_be_visible()
        rows = page.locator("#referral-results tbody tr")
        expect(rows).to_have_count(visible)
        for index in range(rows.count()):
            row = rows.nth(index)
            for cell in (row.locator("td[data-label='Company']"), row.locator("td[data-label='Status'] .badge")):
                cell.scroll_into_view_if_needed()
                expect(cell).to_be_in_viewport()
                box = cell.bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (index, box)
        assert overflow(page) == 0
    finally:
        context.close()
