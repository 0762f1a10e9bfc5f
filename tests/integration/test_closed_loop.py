"""The closed loop: a referral's lead becomes a deal registration; won pays referrer and reseller, each once."""
from __future__ import annotations

from decimal import Decimal

from portal.extensions import db as _db
from portal.models import Commission, DealRegistration, EmailMessage
from portal.services import deals, leads, referrals, settings

from tests.factories import CommissionPlanFactory, OrganizationFactory, ReferralFactory, internal_user, partner_user


def _scene():
    northwind = OrganizationFactory(name="Northwind", tier="gold")
    atlas = OrganizationFactory(name="Atlas Distribution", kind="distributor", tier="platinum")
    jane = partner_user("partner_admin", organization=northwind, name="Jane", email="jane@northwind.example")
    dora = partner_user("partner_admin", organization=atlas, name="Dora", email="dora@atlas.example")
    manager = internal_user("manager")
    CommissionPlanFactory(tier="gold", percent=Decimal("10"), name="Gold referrers")
    CommissionPlanFactory(tier="platinum", percent=Decimal("5"), name="Platinum resellers", audience="reseller")
    referral = ReferralFactory(partner_org=northwind, submitted_by=jane, company_name="Globex", contact_first_name="Hank",
                               contact_last_name="Scorpio", company_domain="globex.example",
                               contact_email="hank@globex.example", estimated_value=Decimal("48000"))
    referrals.route_to_reseller(referral, by=manager, reseller=atlas)
    return jane, dora, manager, referral


def test_lead_converted_registered_approved_won_pays_both_parties_once(client, db):
    jane, dora, manager, referral = _scene()
    lead = leads.current_for(referral)

    client.login(dora)
    client.submit(f"/partner/leads/{lead.id}/accept")
    form = client.get(f"/partner/deals/new?lead_id={lead.id}").get_data(as_text=True)
    assert 'value="Globex"' in form and 'value="hank@globex.example"' in form  # pre-filled from the referral
    response = client.submit(f"/partner/deals/new?lead_id={lead.id}", {
        "customer_company": "Globex", "customer_domain": "globex.example", "contact_name": "Hank Scorpio",
        "contact_email": "hank@globex.example", "amount": "48000", "currency": "USD"})
    assert response.status_code == 303, response.get_data(as_text=True)[:1000]
    deal = _db.session.scalars(_db.select(DealRegistration)).one()
    assert (deal.lead_id, deal.referral_id, lead.status, deal.conflict_flag) == (lead.id, referral.id, "converted", False)
    assert "referral_deal" in _db.session.scalars(_db.select(EmailMessage.event).where(
        EmailMessage.to_address == "jane@northwind.example")).all()

    deals.pre_approve(deal, by=manager)
    deals.approve(deal, by=manager)
    client.submit("/logout")
    client.login(manager)
    assert client.submit(f"/internal/deals/{deal.id}/won", {"won-amount": "50000", "won-currency": "USD"}).status_code == 303
    _db.session.refresh(referral)
    assert (deal.status, referral.stage, referral.won_amount) == ("won", "won_payment_pending", Decimal("50000.00"))
    by_org = {c.partner_org_id: c for c in _db.session.scalars(_db.select(Commission))}
    assert by_org[referral.partner_org_id].amount == Decimal("5000.00")
    assert by_org[referral.partner_org_id].referral_id == referral.id
    assert by_org[deal.partner_org_id].amount == Decimal("2500.00")
    assert by_org[deal.partner_org_id].deal_registration_id == deal.id
    assert len(by_org) == 2

    # Each is paid on its own: the reseller's first, the referrer's untouched.
    client.submit(f"/internal/deals/{deal.id}/commission-paid")
    assert (by_org[deal.partner_org_id].status, by_org[referral.partner_org_id].status) == ("paid", "pending")
    assert client.submit(f"/internal/deals/{deal.id}/commission-paid").status_code == 422  # paid already
    referrals.mark_commission_paid(referral, by=manager)
    assert by_org[referral.partner_org_id].status == "paid"

    mails = _db.session.scalars(_db.select(EmailMessage.event).where(EmailMessage.to_address == "jane@northwind.example")).all()
    assert "referral_won" in mails
    assert "deal_won" in _db.session.scalars(_db.select(EmailMessage.event).where(
        EmailMessage.to_address == "dora@atlas.example")).all()

    client.submit("/logout")
    client.login(jane)
    page = client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
    assert "5,000.00 USD" in page and "Deal registration" in page
    commissions_page = client.get("/partner/commissions").get_data(as_text=True)
    assert "5,000.00 USD" in commissions_page and "2,500.00" not in commissions_page
    client.submit("/logout")
    client.login(dora)
    commissions_page = client.get("/partner/commissions").get_data(as_text=True)
    assert "2,500.00 USD" in commissions_page and "Reseller" in commissions_page and "5,000.00" not in commissions_page


def test_a_lost_registration_loses_its_referral(db):
    jane, dora, manager, referral = _scene()
    lead = leads.current_for(referral)
    leads.accept(lead, by=dora)
    deal = deals.register(deals.input_from_lead(lead), by=dora, lead=lead)
    deals.approve(deal, by=manager)
    deals.mark_lost(deal, reason="Chose a competitor", by=manager)
    _db.session.refresh(referral)
    assert (deal.status, referral.stage) == ("lost", "lost")
    assert "Chose a competitor" in referral.lost_reason


def test_the_referrer_sees_the_reseller_only_when_the_admins_show_it(client, db):
    jane, dora, manager, referral = _scene()
    client.login(jane)
    page = client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
    assert "Atlas Distribution" not in page and "A reseller partner" in page
    settings.save("lead_deal_visibility", {"fields": ["lead_status", "lead_assigned_org", "deal_status",
                                                      "deal_amount", "deal_expected_close"]})
    _db.session.commit()
    assert "Atlas Distribution" in client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)


def test_a_partner_user_sees_only_the_commissions_of_what_they_may_see(client, db):
    org = OrganizationFactory(tier="gold")
    CommissionPlanFactory(tier="gold", percent=Decimal("10"))
    own, colleague = partner_user(organization=org), partner_user(organization=org)
    manager = internal_user("manager")
    for submitter, value in ((own, "1000"), (colleague, "3000")):
        referral = ReferralFactory(partner_org=org, submitted_by=submitter, stage="accepted", status="accepted")
        referrals.mark_won(referral, amount=Decimal(value), by=manager)
    client.login(own)
    page = client.get("/partner/commissions").get_data(as_text=True)
    assert "100.00 USD" in page and "300.00" not in page
