"""A referral's life, end to end through HTTP, with real mail over SMTP."""
from __future__ import annotations

import re
from decimal import Decimal

from portal.extensions import db as _db
from portal.models import Commission, Referral

from tests.factories import CommissionPlanFactory, OrganizationFactory, internal_user, partner_user
from tests.integration.conftest import body

FORM = {
    "contact_first_name": "Grace", "contact_last_name": "Hopper", "contact_email": "grace@navy.example",
    "contact_phone": "+1 555 0100", "contact_title": "CTO", "company_name": "Navy Systems",
    "company_domain": "https://www.navy.example", "company_country": "us", "company_size": "51-200",
    "notes": "Wants to move 40 servers to the cloud.", "estimated_value": "10000", "currency": "USD", "consent": "y",
}


def test_submit_accept_win_and_pay_with_mail_and_timeline(client, db, smtp_server, run_jobs):
    partner = OrganizationFactory(tier="gold", name="Northwind")
    CommissionPlanFactory(tier="gold", percent=Decimal("10"))
    submitter = partner_user(organization=partner, name="Paula Partner", email="paula@northwind.example")
    manager = internal_user("manager", name="Max Manager", email="max@acme.example")
    sales = internal_user("sales", name="Sam Sales", email="sam@acme.example")

    client.login(submitter)
    response = client.submit("/partner/referrals/new", FORM)
    assert response.status_code == 303
    referral = _db.session.scalars(_db.select(Referral)).one()
    assert (referral.company_domain, referral.company_country, referral.stage) == ("navy.example", "US", "submitted")
    detail = client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
    assert "Submitted" in detail and "Navy Systems" in detail

    run_jobs()
    [to_manager] = smtp_server.to("max@acme.example")
    assert "New referral" in to_manager["Subject"] and "Navy Systems" in body(to_manager)
    assert f"/internal/referrals/{referral.id}" in body(to_manager)
    assert smtp_server.to("sam@acme.example") == []  # sales users are told once they own it
    client.submit("/logout")

    client.login(manager)
    response = client.submit(f"/internal/referrals/{referral.id}/accept", {"accept-owner_id": sales.id})
    assert response.status_code == 303
    assert referral.stage == "accepted" and referral.owner_id == sales.id
    run_jobs()
    [accepted] = smtp_server.to("paula@northwind.example")
    assert "accepted" in accepted["Subject"] and f"/partner/referrals/{referral.id}" in body(accepted)
    assert len(smtp_server.to("sam@acme.example")) == 1

    response = client.submit(f"/internal/referrals/{referral.id}/won", {"won-amount": "10000.00", "won-currency": "USD"})
    assert response.status_code == 303
    commission = _db.session.scalars(_db.select(Commission)).one()
    assert (commission.amount, commission.currency, commission.status) == (Decimal("1000.00"), "USD", "pending")
    assert referral.stage == "won_payment_pending"

    response = client.submit(f"/internal/referrals/{referral.id}/paid")
    assert response.status_code == 303
    assert referral.stage == "won_payment_completed" and commission.status == "paid"
    run_jobs()
    subjects = [m["Subject"] for m in smtp_server.to("paula@northwind.example")]
    assert subjects == [f"Referral {referral.number} accepted", f"Referral {referral.number} won",
                        f"Commission paid for {referral.number}"]
    assert "1,000.00 USD" in body(smtp_server.to("paula@northwind.example")[1])
    client.submit("/logout")

    client.login(submitter)
    page = client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
    assert "Won, payment completed" in page and "1,000.00 USD" in page
    timeline = page[page.index('class="timeline"'):]
    for step, actor in [("Submitted", "Paula Partner"), ("Accepted", "Max Manager"),
                        ("Won, payment pending", "Max Manager"), ("Won, payment completed", "Max Manager")]:
        assert step in timeline and actor in timeline
    assert timeline.index("Submitted") < timeline.index("Accepted") < timeline.index("Won, payment pending")
    # the unread count in the navigation, and the list behind it
    assert "3<span class=\"visually-hidden\"> unread</span>" in page
    assert "Commission paid" in client.get("/notifications").get_data(as_text=True)


def test_reject_needs_a_reason_which_the_partner_sees(client, db, run_jobs):
    submitter = partner_user()
    referral = _submit_as(client, submitter)
    client.submit("/logout")
    client.login(internal_user("manager"))
    missing = client.submit(f"/internal/referrals/{referral.id}/reject", {"reject-reason": ""})
    assert missing.status_code == 422 and "This field is required." in missing.get_data(as_text=True)
    assert referral.stage == "submitted"
    client.submit(f"/internal/referrals/{referral.id}/reject", {"reject-reason": "Already a customer of ours."})
    client.submit("/logout")
    client.login(submitter)
    page = client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
    assert "Rejected" in page and "Already a customer of ours." in page


def test_actions_answer_htmx_with_the_decision_panel(client, db):
    referral = _submit_as(client, partner_user())
    client.submit("/logout")
    client.login(internal_user("manager"))
    response = client.submit(f"/internal/referrals/{referral.id}/accept", {"accept-owner_id": 0},
                             headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and 'id="decision-panel"' in html
    assert "Accepted" in html


def test_queue_accepts_in_one_click_and_in_bulk(client, db):
    partner = partner_user()
    first, second, third = (_submit_as(client, partner, company=f"Company {i}") for i in range(3))
    client.submit("/logout")
    client.login(internal_user("manager"))
    queue = client.get("/internal/referrals/queue").get_data(as_text=True)
    assert all(r.number in queue for r in (first, second, third))
    row = client.submit(f"/internal/referrals/queue/{first.id}/accept", headers={"HX-Request": "true"})
    assert f'id="queue-{first.id}"' in row.get_data(as_text=True) and "Accepted" in row.get_data(as_text=True)
    response = client.post("/internal/referrals/bulk", data={"csrf_token": client.csrf_token(), "action": "reject",
                                                             "reason": "Out of our market.",
                                                             "referral_ids": [second.id, third.id, first.id]})
    assert response.status_code == 303
    assert (first.stage, second.stage, third.stage) == ("accepted", "rejected", "rejected")
    flashes = client.get("/internal/referrals/queue").get_data(as_text=True)
    assert "2 of 3 referrals rejected" in flashes and f"{first.number}: A referral that is accepted cannot become rejected" in flashes


def test_send_to_reseller_creates_a_lead_the_reseller_answers(client, db, run_jobs, smtp_server):
    referral = _submit_as(client, partner_user())
    reseller = OrganizationFactory(kind="distributor", name="Atlas")
    reseller_admin = partner_user(role="partner_admin", organization=reseller, email="dora@atlas.example")
    client.submit("/logout")
    client.login(internal_user("manager"))
    response = client.submit(f"/internal/referrals/{referral.id}/route", {"route-reseller_id": reseller.id})
    assert response.status_code == 303 and referral.stage == "sent_to_reseller"
    run_jobs()
    [mail] = smtp_server.to("dora@atlas.example")
    assert "New lead for Atlas" in mail["Subject"]
    client.submit("/logout")

    client.login(reseller_admin)
    leads_page = client.get("/partner/leads").get_data(as_text=True)
    assert referral.company_name in leads_page
    from portal.models import Lead
    lead = _db.session.scalars(_db.select(Lead)).one()
    assert client.submit(f"/partner/leads/{lead.id}/decline", {"reason": ""}).status_code == 422
    assert client.submit(f"/partner/leads/{lead.id}/accept").status_code == 303
    assert lead.status == "accepted"
    late = client.submit(f"/partner/leads/{lead.id}/decline", {"reason": "changed my mind"})
    assert late.status_code == 422 and "already accepted" in late.get_data(as_text=True)
    assert lead.status == "accepted"


def test_possible_duplicates_are_flagged_and_shown_side_by_side(client, db):
    first_partner, second_partner = partner_user(), partner_user()
    earlier = _submit_as(client, first_partner, company="Acme Widgets", email="a@widgets.example")
    client.submit("/logout")
    client.login(second_partner)
    response = client.submit("/partner/referrals/new", {**FORM, "company_name": "Widgets Inc",
                                                        "contact_email": "b@widgets.example", "company_domain": ""},
                             follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "may already be known" in html
    assert earlier.number not in html and "Acme Widgets" not in html  # never another partner's data
    later = _db.session.scalars(_db.select(Referral).where(Referral.id != earlier.id)).one()
    assert later.duplicate_flag is True
    client.submit("/logout")
    client.login(internal_user("manager"))
    page = client.get(f"/internal/referrals/{later.id}").get_data(as_text=True)
    assert "Possible duplicates" in page and earlier.number in page and "Acme Widgets" in page


def test_free_mail_domains_never_match_as_duplicates(client, db):
    user = partner_user()
    _submit_as(client, user, company="One", email="one@gmail.com")
    _submit_as(client, user, company="Two", email="two@gmail.com")
    assert not any(r.duplicate_flag for r in _db.session.scalars(_db.select(Referral)))


def test_block_policy_refuses_a_duplicate_and_stores_nothing(client, db):
    from portal.services import settings
    settings.update_duplicates(policy="block", window_days=30)
    user = partner_user()
    _submit_as(client, user, company="Once", email="x@once.example")
    response = client.submit("/partner/referrals/new", {**FORM, "contact_email": "y@once.example", "company_domain": ""})
    assert response.status_code == 422 and "may already be known" in response.get_data(as_text=True)
    assert _db.session.scalar(_db.select(_db.func.count()).select_from(Referral)) == 1


def _submit_as(client, user, company: str = "Navy Systems", email: str | None = None) -> Referral:
    client.submit("/logout")
    client.login(user)
    data = {**FORM, "company_name": company, "company_domain": "",
            "contact_email": email or f"{company.lower().replace(' ', '')}@{company.lower().replace(' ', '')}.example"}
    response = client.submit("/partner/referrals/new", data)
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    return _db.session.scalar(_db.select(Referral).where(Referral.company_name == company))


def test_the_queue_pages_without_counting_the_whole_queue(client, db):
    from tests.factories import ReferralFactory
    partner = OrganizationFactory()
    for i in range(30):
        ReferralFactory(partner_org=partner, company_name=f"Queued {i:02d}")
    client.login(internal_user("manager"))
    rows = re.compile(r'id="queue-\d+"')
    first = client.get("/internal/referrals/queue").get_data(as_text=True)
    assert len(rows.findall(first)) == 25 and "Page 1" in first and "Next" in first and "in all" not in first
    second = client.get("/internal/referrals/queue?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert len(rows.findall(second)) == 5 and "Previous" in second and "Next" not in second


def test_the_unread_count_stops_at_99_plus_and_the_list_still_holds_every_notification(client, db):
    from portal.models import Notification

    manager = internal_user("manager")
    _db.session.add_all([Notification(user_id=manager.id, event="referral_submitted", title=f"Referral {n}")
                         for n in range(120)])
    _db.session.commit()
    client.login(manager)
    page = client.get("/notifications").get_data(as_text=True)
    assert "99+<span class=\"visually-hidden\"> unread</span>" in page
    assert "Mark all read" in page
    client.submit("/notifications/read")
    page = client.get("/notifications").get_data(as_text=True)
    assert "unread</span>" not in page and "Mark all read" not in page


def test_a_three_decimal_currency_keeps_its_last_decimal_from_submission_to_commission(client, db):
    from portal.services import referrals

    partner = OrganizationFactory(tier="gold", name="Gulf Partners")
    CommissionPlanFactory(tier="gold", percent=Decimal("10"), currency="KWD")
    submitter = partner_user(organization=partner)
    client.login(submitter)
    response = client.submit("/partner/referrals/new", {**FORM, "estimated_value": "1500.125", "currency": "KWD"})
    assert response.status_code == 303
    referral = _db.session.scalar(_db.select(Referral).where(Referral.partner_org_id == partner.id))
    referrals.mark_won(referral, amount=Decimal("2000.375"), by=internal_user("manager"))
    _db.session.expire_all()  # read back what the database kept
    commission = _db.session.scalar(_db.select(Commission).where(Commission.referral_id == referral.id))
    assert (referral.estimated_value, referral.won_amount) == (Decimal("1500.125"), Decimal("2000.375"))
    assert (commission.amount, commission.currency) == (Decimal("200.038"), "KWD")
    page = client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
    assert "1,500.125 KWD" in page and "2,000.375 KWD" in page
