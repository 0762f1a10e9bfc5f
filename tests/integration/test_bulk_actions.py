"""The review queue's bulk actions answer in place: htmx gets the rows, the flash and the bar out of band;
a plain form post gets the queue back (303), or the queue with the error next to its field (422)."""
from __future__ import annotations

from portal.models import Lead

from tests.factories import DealRegistrationFactory, OrganizationFactory, ReferralFactory, internal_user
from portal.extensions import db as _db

HTMX = {"HX-Request": "true"}


def _queue(client, n=3, factory=ReferralFactory):
    records = [factory() for _ in range(n)]
    client.login(internal_user("manager"))
    return records


def _bulk(client, data, queue="referrals", **kwargs):
    return client.submit(f"/internal/{queue}/bulk", data, **kwargs)


def test_htmx_bulk_reject_answers_with_the_rows_and_the_flash_out_of_band(client, db):
    first, second, third = _queue(client)
    response = _bulk(client, {"action": "reject", "reason": "Out of our market.",
                              "referral_ids": [first.id, second.id]}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and "<nav" not in html
    assert f'<tr id="queue-{first.id}" hx-swap-oob="true">' in html and f'id="queue-{second.id}"' in html
    assert f'id="queue-{third.id}"' not in html
    assert 'id="flash-region" role="status" aria-live="polite" hx-swap-oob="innerHTML"' in html
    assert "2 of 2 referrals rejected." in html and "Rejected" in html
    assert (first.stage, second.stage, third.stage) == ("rejected", "rejected", "submitted")


def test_bulk_reject_without_a_reason_is_an_inline_error_and_changes_nothing(client, db):
    first, second, _ = _queue(client)
    response = _bulk(client, {"action": "reject", "reason": " ", "referral_ids": [first.id]}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="bulk-bar" hx-swap-oob="true"' in html
    assert 'id="reason-error"' in html and "Give the partners a reason." in html
    assert first.stage == "submitted"

    plain = _bulk(client, {"action": "reject", "reason": "", "referral_ids": [first.id, second.id]})
    page = plain.get_data(as_text=True)
    assert plain.status_code == 422 and '<nav class="nav" aria-label="Main">' in page
    assert 'id="reason-error"' in page and "Give the partners a reason." in page
    # What was ticked stays ticked, so the reviewer only adds the reason.
    assert f'value="{first.id}" id="pick-{first.id}" aria-label="Select {first.number}" checked' in page
    assert (first.stage, second.stage) == ("submitted", "submitted")


def test_plain_bulk_accept_goes_back_to_the_queue_with_the_outcome(client, db):
    first, second, _ = _queue(client)
    response = _bulk(client, {"action": "accept", "referral_ids": [first.id, second.id], "q": "", "page": "1"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/internal/referrals/queue?page=1")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 of 2 referrals accepted." in page and first.number not in page


def test_bulk_route_sends_leads_and_needs_a_reseller(client, db):
    first, second, _ = _queue(client)
    missing = _bulk(client, {"action": "route", "referral_ids": [first.id]}, headers=HTMX)
    assert missing.status_code == 422 and "Choose the reseller to send them to." in missing.get_data(as_text=True)
    reseller = OrganizationFactory(kind="distributor", name="Atlas")
    ok = _bulk(client, {"action": "route", "reseller_id": reseller.id, "referral_ids": [first.id, second.id]},
               headers=HTMX)
    assert ok.status_code == 200 and "2 of 2 referrals sent to the reseller." in ok.get_data(as_text=True)
    assert {lead.referral_id for lead in _db.session.scalars(_db.select(Lead))} == {first.id, second.id}
    assert first.stage == "sent_to_reseller"


def test_no_ticked_referral_is_a_form_error(client, db):
    _queue(client, 1)
    response = _bulk(client, {"action": "accept"}, headers=HTMX)
    assert response.status_code == 422 and "Tick at least one referral first." in response.get_data(as_text=True)


# ---- the deal registration queue: the same answers (blueprints/internal/decisions.py) ----------------

def _deal_queue(client, n=3):
    return _queue(client, n, factory=DealRegistrationFactory)


def _deal_bulk(client, data, **kwargs):
    return _bulk(client, data, queue="deals", **kwargs)


def test_htmx_deal_bulk_reject_answers_with_the_rows_and_the_flash_out_of_band(client, db):
    first, second, third = _deal_queue(client)
    response = _deal_bulk(client, {"action": "reject", "reason": "The customer buys direct.",
                                   "deal_ids": [first.id, second.id]}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html and "<nav" not in html
    assert f'<tr id="deal-{first.id}" hx-swap-oob="true">' in html and f'id="deal-{second.id}"' in html
    assert f'id="deal-{third.id}"' not in html
    assert 'id="flash-region" role="status" aria-live="polite" hx-swap-oob="innerHTML"' in html
    assert "2 of 2 registrations rejected." in html and 'data-status="rejected"' in html
    assert 'id="bulk-bar" hx-swap-oob="true"' in html
    assert (first.status, second.status, third.status) == ("rejected", "rejected", "submitted")


def test_deal_bulk_reject_without_a_reason_is_an_inline_error_and_changes_nothing(client, db):
    first, second, _ = _deal_queue(client)
    response = _deal_bulk(client, {"action": "reject", "reason": " ", "deal_ids": [first.id]}, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="bulk-bar" hx-swap-oob="true"' in html
    assert 'id="reason-error"' in html and "Give the partners a reason." in html
    assert first.status == "submitted"

    plain = _deal_bulk(client, {"action": "reject", "reason": "", "deal_ids": [first.id, second.id],
                                "status": "submitted", "q": ""})
    page = plain.get_data(as_text=True)
    assert plain.status_code == 422 and '<nav class="nav" aria-label="Main">' in page
    assert 'id="reason-error"' in page and "Give the partners a reason." in page
    assert f'value="{first.id}" id="pick-deal-{first.id}" aria-label="Select {first.number}" checked' in page
    assert '<input type="hidden" name="status" value="submitted">' in page  # the queue's filter is kept
    assert (first.status, second.status) == ("submitted", "submitted")


def test_plain_deal_bulk_pre_approve_goes_back_to_the_filtered_queue_with_the_outcome(client, db):
    first, second, _ = _deal_queue(client)
    response = _deal_bulk(client, {"action": "pre_approve", "deal_ids": [first.id, second.id], "q": "",
                                   "page": "1", "status": "submitted"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/internal/deals/queue?page=1&status=submitted")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 of 2 registrations pre-approved." in page and first.number not in page
    assert (first.status, second.status) == ("pre_approved", "pre_approved")


def test_a_deal_that_cannot_be_decided_is_reported_and_the_others_are(client, db):
    first, second, _ = _deal_queue(client)
    response = _deal_bulk(client, {"action": "approve", "deal_ids": [first.id, second.id]}, headers=HTMX)
    assert response.status_code == 200
    assert (first.status, second.status) == ("approved", "approved")
    again = _deal_bulk(client, {"action": "pre_approve", "deal_ids": [first.id]}, headers=HTMX)
    html = again.get_data(as_text=True)
    assert "0 of 1 registration pre-approved." in html and f"{first.number}: " in html


def test_no_ticked_deal_is_a_form_error_and_a_20_digit_id_is_refused(client, db):
    _deal_queue(client, 1)
    response = _deal_bulk(client, {"action": "approve"}, headers=HTMX)
    assert response.status_code == 422 and "Tick at least one registration first." in response.get_data(as_text=True)
    huge = _deal_bulk(client, {"action": "approve", "deal_ids": "9" * 20}, headers=HTMX)
    assert huge.status_code == 422
