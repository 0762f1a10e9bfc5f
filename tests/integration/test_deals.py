"""Deal registrations through HTTP: register, the conflict check, review, extension and expiry, two-tier."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from portal.extensions import db as _db
from portal.models import DealRegistration, DistributorAssignment, EmailMessage, Notification, StatusEvent
from portal.services import deals, settings, sweep

from tests.factories import (DealRegistrationFactory, OrganizationFactory, ReferralFactory, internal_user,
                             partner_user)

FORM = {"customer_company": "Harbour Analytics", "customer_domain": "https://harbour.example",
        "customer_country": "nl", "contact_name": "Hedy Lamarr", "contact_email": "hedy@harbour.example",
        "contact_phone": "+31 20 555 0100", "contact_title": "CIO", "products": "120 seats, premium support",
        "amount": "36000", "currency": "EUR", "expected_close": "2027-03-31"}


def switch(client, user) -> None:
    """Sign out whoever is signed in, and in as `user`."""
    client.submit("/logout")
    client.login(user)


def _policy(policy: str) -> None:
    settings.save("deals", {**settings.get("deals"), "conflict_policy": policy})
    _db.session.commit()


def _distribution(**changes) -> None:
    settings.save("distribution", {**settings.get("distribution"), "enabled": True, **changes})
    _db.session.commit()


def test_partner_registers_a_deal_the_manager_is_told_and_the_timeline_starts(client, db):
    internal_user("manager", email="max@acme.example")
    reseller = partner_user("partner_admin", name="Dora Reseller")
    client.login(reseller)
    response = client.submit("/partner/deals/new", FORM)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    deal = _db.session.scalars(_db.select(DealRegistration)).one()
    assert (deal.number, deal.status, deal.customer_domain, deal.customer_country) == (
        f"D-{deal.id:06d}", "submitted", "harbour.example", "NL")
    assert (deal.amount, deal.currency, deal.owner_id, deal.registered_by_id) == (
        Decimal("36000.00"), "EUR", reseller.id, reseller.id)
    page = client.get(f"/partner/deals/{deal.id}").get_data(as_text=True)
    assert "Harbour Analytics" in page and "Submitted" in page and "Dora Reseller" in page
    mails = _db.session.scalars(_db.select(EmailMessage).where(EmailMessage.to_address == "max@acme.example")).all()
    assert [m.event for m in mails] == ["deal_submitted"]
    listing = client.get("/partner/deals?status=submitted").get_data(as_text=True)
    assert deal.number in listing
    assert deal.number not in client.get("/partner/deals?status=approved").get_data(as_text=True)


def test_invalid_input_is_shown_next_to_its_field_and_nothing_is_stored(client, db):
    client.login(partner_user("partner_admin"))
    response = client.submit("/partner/deals/new", {**FORM, "amount": "", "customer_company": ""})
    assert response.status_code == 422
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(DealRegistration)) == 0


@pytest.mark.parametrize("policy", ["block", "flag", "allow"])
def test_conflict_check_blocks_flags_or_allows_a_second_registration_for_the_domain(client, db, policy):
    _policy(policy)
    first = OrganizationFactory(name="Secretive Resellers Ltd")
    DealRegistrationFactory(partner_org=first, customer_domain="harbour.example", customer_company="Hidden Harbour Holdings",
                            contact_email="someone@harbour.example", contact_name="Ada Secret")
    internal_user("manager")
    client.login(partner_user("partner_admin"))
    response = client.submit("/partner/deals/new", {**FORM, "contact_email": "other@harbour.example"})
    stored = _db.session.scalars(_db.select(DealRegistration).where(DealRegistration.partner_org_id != first.id)).all()
    if policy == "block":
        assert response.status_code == 422 and stored == []
        html = response.get_data(as_text=True)
        assert deals.BLOCKED_MESSAGE.split(",")[0] in html
        for secret in ("Secretive Resellers", "Hidden Harbour", "Ada Secret", "someone@harbour.example", "D-F"):
            assert secret not in html
    else:
        assert response.status_code == 303
        [deal] = stored
        assert deal.conflict_flag is (policy == "flag")


def test_an_open_referral_of_another_partner_is_a_conflict_too_free_mail_never(client, db):
    _policy("flag")
    ReferralFactory(company_domain="harbour.example", stage="accepted", status="accepted")
    client.login(partner_user("partner_admin"))
    client.submit("/partner/deals/new", FORM)
    client.submit("/partner/deals/new", {**FORM, "customer_company": "Solo Consultant", "customer_domain": "",
                                         "contact_email": "solo@gmail.com"})
    flags = dict(_db.session.execute(_db.select(DealRegistration.customer_company, DealRegistration.conflict_flag)).all())
    assert flags == {"Harbour Analytics": True, "Solo Consultant": False}


def test_flagged_conflicts_show_on_the_internal_decision_page_with_links(client, db):
    _policy("flag")
    other = DealRegistrationFactory(customer_domain="harbour.example")
    referral = ReferralFactory(company_domain="harbour.example")
    client.login(partner_user("partner_admin"))
    client.submit("/partner/deals/new", FORM)
    deal = _db.session.scalars(_db.select(DealRegistration).where(DealRegistration.id != other.id)).one()
    switch(client, internal_user("manager"))
    page = client.get(f"/internal/deals/{deal.id}").get_data(as_text=True)
    assert "Possible conflicts" in page
    assert f"/internal/deals/{other.id}" in page and f"/internal/referrals/{referral.id}" in page
    queue = client.get("/internal/deals/queue?flagged=1").get_data(as_text=True)
    assert deal.number in queue and other.number not in queue


def test_review_pre_approve_approve_reject_each_recorded_with_mail_to_the_partner(client, db, clock):
    clock.freeze(datetime(2027, 1, 10, 9, 0, tzinfo=timezone.utc))
    manager = internal_user("manager")
    owner = internal_user("sales", name="Sam Sales")
    deal = DealRegistrationFactory()
    rejected = DealRegistrationFactory()
    client.login(manager)
    assert client.submit(f"/internal/deals/{deal.id}/pre-approve").status_code == 303
    assert client.submit(f"/internal/deals/{deal.id}/approve", {"approve-owner_id": owner.id}).status_code == 303
    assert (deal.status, deal.vendor_owner_id) == ("approved", owner.id)
    assert deal.expires_at == datetime(2027, 4, 10, 9, 0, tzinfo=timezone.utc)  # 90 days by default
    response = client.submit(f"/internal/deals/{rejected.id}/reject", {"reject-reason": ""})
    assert response.status_code == 422 and rejected.status == "submitted"
    client.submit(f"/internal/deals/{rejected.id}/reject", {"reject-reason": "The customer buys direct."})
    assert rejected.status == "rejected"
    steps = _db.session.scalars(_db.select(StatusEvent.to_status).where(
        StatusEvent.entity_type == "deal", StatusEvent.entity_id == deal.id).order_by(StatusEvent.id)).all()
    assert steps == ["pre_approved", "approved"]
    events = _db.session.scalars(_db.select(EmailMessage.event).where(
        EmailMessage.to_address == deal.owner.email)).all()
    assert events == ["deal_pre_approved", "deal_approved"]
    switch(client, rejected.owner)
    assert "The customer buys direct." in client.get(f"/partner/deals/{rejected.id}").get_data(as_text=True)
    # A decided registration cannot be decided again.
    switch(client, manager)
    assert client.submit(f"/internal/deals/{rejected.id}/pre-approve").status_code == 409


def test_queue_is_oldest_first_with_one_click_and_bulk_actions(client, db):
    first, second, third = (DealRegistrationFactory() for _ in range(3))
    client.login(internal_user("manager"))
    queue = client.get("/internal/deals/queue").get_data(as_text=True)
    assert queue.index(first.number) < queue.index(second.number) < queue.index(third.number)
    row = client.post(f"/internal/deals/queue/{first.id}/pre_approve", headers={"HX-Request": "true"},
                      data={"csrf_token": client.csrf_token()})
    assert row.status_code == 200 and f'id="deal-{first.id}"' in row.get_data(as_text=True)
    assert first.status == "pre_approved"
    client.submit("/internal/deals/bulk", {"deal_ids": [second.id, third.id], "action": "reject", "reason": "Duplicate"})
    assert (second.status, third.status) == ("rejected", "rejected")
    client.submit("/internal/deals/bulk", {"deal_ids": [first.id], "action": "approve"})
    assert first.status == "approved"


def test_extension_flow_and_the_sweep_warns_once_then_expires(client, db, clock):
    clock.freeze(datetime(2027, 1, 1, 12, 0, tzinfo=timezone.utc))
    manager = internal_user("manager")
    deal = DealRegistrationFactory()
    deals.approve(deal, by=manager, expires_at=datetime(2027, 2, 1, 12, 0, tzinfo=timezone.utc))

    client.login(deal.owner)
    assert client.submit(f"/partner/deals/{deal.id}/extension", {"reason": ""}).status_code == 422
    assert client.submit(f"/partner/deals/{deal.id}/extension", {"reason": "Board meets in March."}).status_code == 303
    assert deal.extension_requested_at is not None
    assert client.submit(f"/partner/deals/{deal.id}/extension", {"reason": "Again"}).status_code == 422

    switch(client, manager)
    assert "Board meets in March." in client.get("/internal/deals/queue").get_data(as_text=True)
    assert client.submit(f"/internal/deals/{deal.id}/extension/grant",
                         {"grant-expires_on": "2027-01-15"}).status_code == 422  # before the current end
    client.submit(f"/internal/deals/{deal.id}/extension/grant", {"grant-expires_on": "2027-03-15"})
    assert deal.expires_at.date().isoformat() == "2027-03-15" and deal.extension_requested_at is None

    switch(client, deal.owner)
    client.submit(f"/partner/deals/{deal.id}/extension", {"reason": "One more month, please."})
    switch(client, manager)
    client.submit(f"/internal/deals/{deal.id}/extension/refuse", {"refuse-reason": "Three months is enough."})
    assert deal.extension_requested_at is None and deal.expires_at.date().isoformat() == "2027-03-15"

    clock.advance(timedelta(days=50))  # 2027-02-20: within the 14 days' warning? not yet (ends 03-15)
    assert sweep.run()["deals_warned"] == 0
    clock.advance(timedelta(days=10))  # 03-02: warned, once
    assert sweep.run()["deals_warned"] == 1
    assert sweep.run()["deals_warned"] == 0
    assert deal.status == "approved"
    clock.advance(timedelta(days=14))  # 03-16: expired
    assert sweep.run()["deals_expired"] == 1
    _db.session.refresh(deal)
    assert deal.status == "expired"
    events = _db.session.scalars(_db.select(EmailMessage.event).where(EmailMessage.to_address == deal.owner.email)
                                 .order_by(EmailMessage.id)).all()
    assert events == ["deal_approved", "deal_extension", "deal_extension", "deal_expiring", "deal_expired"]
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(Notification).where(
        Notification.user_id == deal.owner.id, Notification.event == "deal_expired")) == 1


def test_two_tier_a_deal_naming_atlas_is_visible_to_atlas_only_and_a_hidden_one_is_not(client, db):
    _distribution(choice="assigned")
    atlas = OrganizationFactory(distributor=True, name="Atlas Distribution")
    other = OrganizationFactory(distributor=True, name="Other Distribution")
    northwind = OrganizationFactory(name="Northwind")
    _db.session.add_all([DistributorAssignment(distributor_org_id=atlas.id, partner_org_id=northwind.id)])
    _db.session.commit()
    jane = partner_user("partner_admin", organization=northwind)
    dora = partner_user("partner_admin", organization=atlas)
    otto = partner_user("partner_admin", organization=other)

    client.login(jane)
    new_form = client.get("/partner/deals/new").get_data(as_text=True)
    assert "Atlas Distribution" in new_form and "Other Distribution" not in new_form  # only assigned ones
    assert client.submit("/partner/deals/new", {**FORM, "distributor_id": other.id}).status_code == 422
    client.submit("/partner/deals/new", {**FORM, "distributor_id": atlas.id})
    client.submit("/partner/deals/new", {**FORM, "customer_company": "Quiet Deal", "customer_domain": "quiet.example",
                                         "contact_email": "q@quiet.example", "distributor_id": atlas.id,
                                         "hidden_from_distributor": "y"})
    named, hidden = _db.session.scalars(_db.select(DealRegistration).order_by(DealRegistration.id)).all()
    assert (named.distributor_org_id, hidden.hidden_from_distributor) == (atlas.id, True)
    assert [m.event for m in _db.session.scalars(_db.select(EmailMessage).where(
        EmailMessage.to_address == dora.email))] == ["deal_submitted"]  # the key contact, for the named one only

    switch(client, dora)
    assert client.get(f"/partner/deals/{named.id}").status_code == 200
    assert client.get(f"/partner/deals/{hidden.id}").status_code == 404
    listing = client.get("/partner/deals").get_data(as_text=True)
    assert named.number in listing and hidden.number not in listing
    switch(client, otto)
    assert client.get(f"/partner/deals/{named.id}").status_code == 404
    assert named.number not in client.get("/partner/deals").get_data(as_text=True)


def test_required_distributor_and_hiding_only_when_allowed(client, db):
    _distribution(required=True, allow_hide=False)
    atlas = OrganizationFactory(distributor=True)
    client.login(partner_user("partner_admin"))
    response = client.submit("/partner/deals/new", FORM)
    assert response.status_code == 422 and "Choose the distributor you buy through." in response.get_data(as_text=True)
    client.submit("/partner/deals/new", {**FORM, "distributor_id": atlas.id, "hidden_from_distributor": "y"})
    assert _db.session.scalars(_db.select(DealRegistration.hidden_from_distributor)).one() is False


def test_distributor_registers_for_its_partner_and_the_partner_user_owns_it(client, db):
    _distribution(on_behalf="assigned")
    atlas = OrganizationFactory(distributor=True, name="Atlas Distribution")
    northwind = OrganizationFactory(name="Northwind Consulting")
    stranger = OrganizationFactory(name="Not Assigned Ltd")
    _db.session.add(DistributorAssignment(distributor_org_id=atlas.id, partner_org_id=northwind.id))
    _db.session.commit()
    jane = partner_user("partner_admin", organization=northwind, name="Jane Doe", email="jane@northwind.example")
    stranger_user = partner_user("partner_admin", organization=stranger)
    dora = partner_user("partner_admin", organization=atlas, name="Dora Atlas")

    client.login(dora)
    page = client.get("/partner/deals/new").get_data(as_text=True)
    assert "Northwind Consulting" in page and "Not Assigned Ltd" not in page
    refused = client.submit("/partner/deals/new", {**FORM, "partner_org_id": stranger.id, "owner_id": stranger_user.id})
    assert refused.status_code == 422
    wrong_owner = client.submit("/partner/deals/new", {**FORM, "partner_org_id": northwind.id, "owner_id": dora.id})
    assert wrong_owner.status_code == 422
    assert client.submit("/partner/deals/new", {**FORM, "partner_org_id": northwind.id,
                                                "owner_id": jane.id}).status_code == 303
    deal = _db.session.scalars(_db.select(DealRegistration)).one()
    assert (deal.partner_org_id, deal.owner_id, deal.registered_by_id, deal.distributor_org_id) == (
        northwind.id, jane.id, dora.id, atlas.id)
    assert [m.event for m in _db.session.scalars(_db.select(EmailMessage).where(
        EmailMessage.to_address == "jane@northwind.example"))] == ["deal_owner"]
    switch(client, jane)
    assert "Dora Atlas" in client.get(f"/partner/deals/{deal.id}").get_data(as_text=True)
    switch(client, dora)
    assert client.get(f"/partner/deals/{deal.id}").status_code == 200


def test_dashboards_count_registrations_by_status(client, db):
    partner = OrganizationFactory()
    for status in ("submitted", "submitted", "approved"):
        DealRegistrationFactory(partner_org=partner, status=status)
    DealRegistrationFactory(status="won")
    client.login(partner_user("partner_admin", organization=partner))
    html = client.get("/partner/").get_data(as_text=True)
    section = html[html.index("Deal registrations by status"):]
    assert '/partner/deals?status=submitted">Submitted</a>\n      <span class="breakdown__count">2' in section
    switch(client, internal_user("manager"))
    html = client.get("/internal/").get_data(as_text=True)
    section = html[html.index("Deal registrations by status"):]
    assert 'status=won">Won</a>\n      <span class="breakdown__count">1' in section


def test_deal_custom_fields_are_on_the_deal_form_only_and_required_ones_are_checked(client, db):
    client.login(internal_user("admin"))
    response = client.submit("/internal/settings/custom-fields", {"label": "Deal type", "kind": "select",
                                                                  "options": "New\nRenewal", "required": "y",
                                                                  "scope": "deal"})
    assert response.status_code == 303
    switch(client, partner_user("partner_admin"))
    assert "Deal type" not in client.get("/partner/referrals/new").get_data(as_text=True)
    assert "Deal type" in client.get("/partner/deals/new").get_data(as_text=True)
    assert client.submit("/partner/deals/new", FORM).status_code == 422
    assert client.submit("/partner/deals/new", {**FORM, "df_deal_type": "Renewal"}).status_code == 303
    deal = _db.session.scalars(_db.select(DealRegistration)).one()
    assert deal.custom_fields == {"df_deal_type": "Renewal"}
    assert "Renewal" in client.get(f"/partner/deals/{deal.id}").get_data(as_text=True)


def test_a_registration_posted_twice_is_stored_once(client, db):
    client.login(partner_user("partner_admin"))
    page = client.get("/partner/deals/new").get_data(as_text=True)
    import re
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', page).group(1)
    first = client.submit("/partner/deals/new", {**FORM, "submission_key": key})
    second = client.submit("/partner/deals/new", {**FORM, "submission_key": key})
    assert first.status_code == second.status_code == 303 and first.location == second.location
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(DealRegistration)) == 1


def test_partner_distributors_are_kept_on_the_organization_page(client, db):
    atlas = OrganizationFactory(distributor=True, name="Atlas Distribution")
    other = OrganizationFactory(distributor=True, name="Other Distribution")
    partner = OrganizationFactory(name="Northwind")
    client.login(internal_user("manager"))
    page = client.get(f"/internal/organizations/{partner.id}").get_data(as_text=True)
    assert "Distributors it buys through" in page and "Other Distribution" in page
    assert client.submit(f"/internal/organizations/{partner.id}/distributors",
                         {"distributor_ids": [atlas.id, other.id]}).status_code == 303
    client.submit(f"/internal/organizations/{partner.id}/distributors", {"distributor_ids": [atlas.id]})
    assert _db.session.scalars(_db.select(DistributorAssignment.distributor_org_id)).all() == [atlas.id]
    assert "Northwind" in client.get(f"/internal/organizations/{atlas.id}").get_data(as_text=True)
    switch(client, internal_user("sales"))
    assert client.submit(f"/internal/organizations/{partner.id}/distributors", {"distributor_ids": []}).status_code == 403
