"""A list's rows are plain rows of a few columns (services/*/queries.py), a row action's answer is the
model object: both show the same facts, drawn by the same template."""
from __future__ import annotations

from decimal import Decimal

from tests.factories import (DealRegistrationFactory, OrganizationFactory, ReferralFactory, ReferralLinkFactory,
                             internal_user, partner_user)


def _row(page: str, number: str) -> str:
    """The table row of `page` that holds `number`."""
    rows = [chunk for chunk in page.split("<tr")[1:] if number in chunk]
    assert len(rows) == 1, f"{number}: {len(rows)} rows"
    return rows[0].split("</tr>")[0]


def test_referral_rows_show_partner_contact_value_status_and_link(client, db):
    northwind = OrganizationFactory(name="Northwind Consulting")
    link = ReferralLinkFactory(user=partner_user("partner_admin", organization=northwind), campaign="Spring fair")
    linked = ReferralFactory(partner_org=northwind, link=link, contact_first_name="Ada", contact_last_name="Byron",
                             company_name="Analytical Engines", estimated_value=Decimal("1234.5"), currency="EUR")
    plain = ReferralFactory(partner_org=northwind, contact_first_name="Grace", contact_last_name="",
                            estimated_value=None)

    client.login(internal_user("manager"))
    listed = _row(client.get("/internal/referrals").get_data(as_text=True), linked.number)
    for fact in ("Northwind Consulting", "Ada Byron", "Analytical Engines", "1,234.50 EUR", "Submitted",
                 f"/internal/referrals/{linked.id}"):
        assert fact in listed, fact
    queued = _row(client.get("/internal/referrals/queue").get_data(as_text=True), linked.number)
    assert "Northwind Consulting" in queued and "Ada Byron" in queued
    # No last name: no trailing space; no value: a dash.
    other = _row(client.get("/internal/referrals").get_data(as_text=True), plain.number)
    assert ">Grace<" in other and "—" in other

    answer = client.submit(f"/internal/referrals/queue/{linked.id}/accept", headers={"HX-Request": "true"})
    accepted = _row(answer.get_data(as_text=True), linked.number)
    assert "Northwind Consulting" in accepted and "Ada Byron" in accepted and "Accepted" in accepted

    client.submit("/logout")
    client.login(link.user)
    mine = _row(client.get("/partner/referrals").get_data(as_text=True), linked.number)
    assert "via link “Spring fair”" in mine and "Ada Byron" in mine and "1,234.50 EUR" in mine
    assert "via link" not in _row(client.get("/partner/referrals").get_data(as_text=True), plain.number)


def test_deal_rows_show_partner_distributor_amount_and_status(client, db):
    northwind = OrganizationFactory(name="Northwind Consulting")
    atlas = OrganizationFactory(name="Atlas Distribution", distributor=True)
    through = DealRegistrationFactory(partner_org=northwind, distributor_org=atlas, customer_company="Harbour Ltd",
                                      amount=Decimal("36000"), currency="EUR")
    direct = DealRegistrationFactory(partner_org=northwind, amount=None)

    client.login(internal_user("manager"))
    listed = _row(client.get("/internal/deals").get_data(as_text=True), through.number)
    for fact in ("Northwind Consulting", "through Atlas Distribution", "Harbour Ltd", "36,000.00 EUR", "Submitted"):
        assert fact in listed, fact
    assert "through" not in _row(client.get("/internal/deals").get_data(as_text=True), direct.number)
    queued = _row(client.get("/internal/deals/queue").get_data(as_text=True), through.number)
    assert "Northwind Consulting" in queued and "Submitted" in queued and "36,000.00 EUR" in queued

    answer = client.post(f"/internal/deals/queue/{through.id}/pre_approve", headers={"HX-Request": "true"},
                         data={"csrf_token": client.csrf_token()})
    pre_approved = _row(answer.get_data(as_text=True), through.number)
    assert "Northwind Consulting" in pre_approved and "Pre-approved" in pre_approved

    client.submit("/logout")
    client.login(through.owner)
    mine = _row(client.get("/partner/deals").get_data(as_text=True), through.number)
    assert "through Atlas Distribution" in mine and "Pre-approved" in mine and "36,000.00 EUR" in mine
