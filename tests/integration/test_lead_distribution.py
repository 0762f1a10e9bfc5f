"""Lead distribution: round robin by rule, declined and expired leads, reminders, closing a lead."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from portal.extensions import db as _db
from portal.models import EmailMessage, Lead, LeadRule
from portal.services import custom_fields, lead_distribution, settings, sweep

from tests.factories import OrganizationFactory, ReferralFactory, internal_user, partner_user


def _auto_reassign(on: bool) -> None:
    settings.save("leads", {**settings.get("leads"), "auto_reassign": on})
    _db.session.commit()


def _scene(count_referrals: int = 6):
    referrer = OrganizationFactory(tier="silver", name="Referrer Co")
    resellers = [OrganizationFactory(tier="gold", name=f"Gold Reseller {i}") for i in range(3)]
    OrganizationFactory(tier="silver", name="Not Eligible")  # wrong tier
    for org in resellers:
        partner_user("partner_admin", organization=org)
    rule = lead_distribution.save_rule(name="Gold in turn", tiers=["gold"], countries=[], partner_countries=[],
                                       field_key=None, field_values=[])
    referrals = [ReferralFactory(partner_org=referrer, company_country="US") for _ in range(count_referrals)]
    return referrer, resellers, rule, referrals


def test_round_robin_hands_six_leads_to_three_eligible_resellers_two_each(db):
    manager = internal_user("manager")
    _, resellers, _, referrals = _scene()
    for referral in referrals:
        lead_distribution.route_by_rule(referral, by=manager)
    got = [lead.assigned_org_id for lead in _db.session.scalars(_db.select(Lead).order_by(Lead.id))]
    assert got == [r.id for r in resellers] * 2
    assert all(r.stage == "sent_to_reseller" for r in referrals)


def test_a_rule_matches_by_country_and_a_select_field(client, db):
    manager = internal_user("manager")
    field = custom_fields.define(label="Industry", kind="select", options=["Health", "Retail"])
    rule = lead_distribution.save_rule(name="US health", tiers=["gold"], countries=["us"], partner_countries=["US"],
                                       field_key=field.key, field_values=["Health"])
    us_reseller = OrganizationFactory(tier="gold", country="US")
    OrganizationFactory(tier="gold", country="DE")
    health = ReferralFactory(company_country="US", custom_fields={field.key: "Health"})
    retail = ReferralFactory(company_country="US", custom_fields={field.key: "Retail"})
    assert lead_distribution.rule_for(health) == rule and lead_distribution.rule_for(retail) is None
    assert [o.id for o in lead_distribution.eligible(rule)] == [us_reseller.id]
    client.login(manager)
    page = client.get(f"/internal/referrals/{health.id}").get_data(as_text=True)
    assert "Send by rule “US health”" in page
    assert client.submit(f"/internal/referrals/{health.id}/route-by-rule").status_code == 303
    assert _db.session.scalars(_db.select(Lead.assigned_org_id)).all() == [us_reseller.id]
    assert client.submit(f"/internal/referrals/{retail.id}/route-by-rule").status_code == 422


def test_declined_lead_goes_to_the_next_never_the_referrer_nor_a_decliner(client, db):
    _auto_reassign(True)
    manager = internal_user("manager")
    referrer = OrganizationFactory(tier="gold", name="Gold Referrer")  # eligible by tier, but it referred
    resellers = [OrganizationFactory(tier="gold") for _ in range(2)]
    admins = [partner_user("partner_admin", organization=org) for org in resellers]
    lead_distribution.save_rule(name="Gold", tiers=["gold"], countries=[], partner_countries=[], field_key=None,
                                field_values=[])
    referral = ReferralFactory(partner_org=referrer)
    first = lead_distribution.route_by_rule(referral, by=manager)
    assert first.assigned_org_id == resellers[0].id

    client.login(admins[0])
    assert client.submit(f"/partner/leads/{first.id}/decline", {"reason": "No capacity"}).status_code == 303
    second = _db.session.scalars(_db.select(Lead).where(Lead.id != first.id)).one()
    assert second.assigned_org_id == resellers[1].id and first.needs_reseller is False

    client.submit("/logout")
    client.login(admins[1])
    client.submit(f"/partner/leads/{second.id}/decline", {"reason": "Not our market"})
    # Nobody is left (the referrer never gets it, nor a decliner): back to the vendor's queue.
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(Lead)) == 2
    _db.session.refresh(second)
    assert second.needs_reseller is True
    assert [m.event for m in _db.session.scalars(_db.select(EmailMessage).where(
        EmailMessage.to_address == manager.email))][-1] == "lead_returned"
    client.submit("/logout")
    client.login(manager)
    queue = client.get("/internal/referrals/queue").get_data(as_text=True)
    assert "Needs a new reseller" in queue and referral.number in queue


def test_an_expired_lead_returns_to_the_queue_and_the_reminder_is_sent_once(db, clock):
    clock.freeze(datetime(2027, 1, 4, 8, 0, tzinfo=timezone.utc))
    _auto_reassign(False)
    manager = internal_user("manager")
    _, resellers, _, referrals = _scene(1)
    lead = lead_distribution.route_by_rule(referrals[0], by=manager)  # respond by in 5 days
    admin = resellers[0].users[0]

    clock.advance(timedelta(days=3, hours=12))  # 36 h left: no reminder yet (24 h before)
    assert sweep.run()["leads_reminded"] == 0
    clock.advance(timedelta(hours=13))  # 23 h left
    assert sweep.run()["leads_reminded"] == 1
    assert sweep.run()["leads_reminded"] == 0
    reminders = _db.session.scalars(_db.select(EmailMessage).where(EmailMessage.to_address == admin.email,
                                                                   EmailMessage.event == "lead_reminder")).all()
    assert len(reminders) == 1 and "Reminder" in reminders[0].subject

    clock.advance(timedelta(days=1))
    assert sweep.run()["leads_expired"] == 1
    _db.session.refresh(lead)
    assert (lead.status, lead.needs_reseller) == ("expired", True)
    assert lead_distribution.needing_reseller() == [lead]
    # Sending it on by hand answers the returned lead.
    from portal.services import referrals as referral_service
    referral_service.route_to_reseller(referrals[0], by=manager, reseller=resellers[1])
    _db.session.refresh(lead)
    assert lead.needs_reseller is False and lead_distribution.needing_reseller() == []


def test_an_expired_lead_with_auto_reassign_goes_to_the_next_reseller(db, clock):
    clock.freeze(datetime(2027, 1, 4, 8, 0, tzinfo=timezone.utc))
    _auto_reassign(True)
    _, resellers, _, referrals = _scene(1)
    lead_distribution.route_by_rule(referrals[0], by=internal_user("manager"))
    clock.advance(timedelta(days=6))
    sweep.run()
    leads = _db.session.scalars(_db.select(Lead).order_by(Lead.id)).all()
    assert [(l.assigned_org_id, l.status) for l in leads] == [(resellers[0].id, "expired"), (resellers[1].id, "new")]


def test_an_accepted_lead_is_closed_with_no_business_and_a_reason(client, db):
    _, resellers, _, referrals = _scene(1)
    lead = lead_distribution.route_by_rule(referrals[0], by=internal_user("manager"))
    client.login(resellers[0].users[0])
    client.submit(f"/partner/leads/{lead.id}/accept")
    page = client.get(f"/partner/leads/{lead.id}").get_data(as_text=True)
    assert "Convert to deal registration" in page
    assert client.submit(f"/partner/leads/{lead.id}/close", {"close-reason": ""}).status_code == 422
    assert client.submit(f"/partner/leads/{lead.id}/close", {"close-reason": "Budget frozen"}).status_code == 303
    assert (lead.status, lead.close_reason) == ("closed", "Budget frozen")


def test_lead_rules_settings_page_adds_a_rule_and_switches_it_off(client, db):
    client.login(internal_user("admin"))
    assert client.get("/internal/settings/lead-rules").status_code == 200
    response = client.submit("/internal/settings/lead-rules", {
        "rule-name": "EU gold", "rule-countries": "de, nl", "rule-tiers": ["gold", "platinum"],
        "rule-partner_countries": "", "rule-field_key": "", "rule-field_values": ""})
    assert response.status_code == 303
    rule = _db.session.scalars(_db.select(LeadRule)).one()
    assert (rule.countries, rule.tiers) == (["DE", "NL"], ["gold", "platinum"])
    bad = client.submit("/internal/settings/lead-rules", {"rule-name": "Bad", "rule-countries": "Germany"})
    assert bad.status_code == 422 and "two-letter country codes" in bad.get_data(as_text=True)
    client.submit(f"/internal/settings/lead-rules/{rule.id}/active", {"active": "0"})
    assert rule.active is False
    client.submit("/internal/settings/lead-rules/handling", {"handling-reminder_hours": "12",
                                                             "handling-auto_reassign": "y"})
    assert (settings.get("leads")["reminder_hours"], settings.get("leads")["auto_reassign"]) == (12, True)
