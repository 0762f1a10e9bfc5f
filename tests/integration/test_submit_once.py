"""A create form posted twice makes one record: its one-time submission key (portal/web/forms.py)."""
from __future__ import annotations

import re
import threading

import pytest
import requests

from portal.extensions import db as _db
from portal.models import CommissionPlan, Referral, SubmissionKey

from tests.conftest import TEST_PASSWORD
from tests.factories import OrganizationFactory, internal_user, partner_user

REFERRAL = {
    "contact_first_name": "Grace", "contact_last_name": "Hopper", "contact_email": "grace@navy.example",
    "company_name": "Navy Systems", "company_domain": "navy.example", "company_country": "US",
    "estimated_value": "10000", "currency": "USD", "consent": "y",
}
PLAN = {"name": "Gold 10 %", "kind": "percent", "percent": "10", "flat_amount": "", "cap_amount": "",
        "currency": "USD", "tier": "gold", "organization_id": "0"}
HIDDEN = re.compile(r'<input[^>]*name="([^"]*submission_key|csrf_token)"[^>]*value="([^"]*)"')


def hidden_values(page: str) -> dict[str, str]:
    return dict(HIDDEN.findall(page))


def _count(model) -> int:
    _db.session.rollback()  # a fresh read: SQLite would still show an old snapshot
    return _db.session.scalar(_db.select(_db.func.count()).select_from(model))


def test_two_posts_of_the_same_new_referral_form_at_once_make_one_referral(live_server, committed_db):
    """Acceptance (#11): a double click, the two posts truly at once over HTTP, on this run's database."""
    user = partner_user("partner_admin", organization=OrganizationFactory())
    http = requests.Session()
    login = hidden_values(http.get(f"{live_server}/login", timeout=10).text)
    assert http.post(f"{live_server}/login", data={**login, "email": user.email, "password": TEST_PASSWORD},
                     allow_redirects=False, timeout=10).status_code == 303
    form = hidden_values(http.get(f"{live_server}/partner/referrals/new", timeout=10).text)
    assert "submission_key" in form and len(form["submission_key"]) >= 32

    barrier, answers = threading.Barrier(2), []

    def post():
        barrier.wait()
        answer = http.post(f"{live_server}/partner/referrals/new", data={**REFERRAL, **form},
                           allow_redirects=False, timeout=60)
        answers.append((answer.status_code, answer.headers.get("Location")))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert sorted(status for status, _ in answers) == [303, 303], answers
    assert answers[0][1] == answers[1][1]  # the second answers with the first one's redirect
    assert _count(Referral) == 1
    [referral] = committed_db.session.scalars(_db.select(Referral)).all()
    assert answers[0][1].endswith(f"/partner/referrals/{referral.id}")


def test_a_form_sent_again_answers_with_the_first_redirect_and_creates_nothing(client, db):
    client.login(partner_user("partner_admin"))
    form = hidden_values(client.get("/partner/referrals/new").get_data(as_text=True))
    first = client.post("/partner/referrals/new", data={**REFERRAL, **form})
    again = client.post("/partner/referrals/new", data={**REFERRAL, **form})
    assert (first.status_code, again.status_code) == (303, 303)
    assert first.headers["Location"] == again.headers["Location"]
    assert _db.session.scalar(_db.select(_db.func.count(Referral.id))) == 1
    # htmx asks for the same: the same place, as HX-Location.
    third = client.post("/partner/referrals/new", data={**REFERRAL, **form}, headers={"HX-Request": "true"})
    assert third.headers["HX-Location"] == first.headers["Location"]
    # A fresh form is a fresh key: a new referral, as the partner meant.
    fresh = hidden_values(client.get("/partner/referrals/new").get_data(as_text=True))
    assert fresh["submission_key"] != form["submission_key"]
    assert client.post("/partner/referrals/new", data={**REFERRAL, **fresh, "contact_email": "ada@navy.example",
                                                       "company_name": "Other"}).status_code == 303
    assert _db.session.scalar(_db.select(_db.func.count(Referral.id))) == 2


def test_a_form_with_errors_gives_its_key_back_so_the_corrected_form_goes_through(client, db):
    client.login(internal_user("admin"))
    form = hidden_values(client.get("/internal/commissions/plans/new").get_data(as_text=True))
    wrong = client.post("/internal/commissions/plans/new", data={**PLAN, **form, "percent": "250"})
    assert wrong.status_code == 422
    # The page that comes back carries the same key: sending the corrected form is the same submission.
    assert hidden_values(wrong.get_data(as_text=True))["submission_key"] == form["submission_key"]
    assert _db.session.get(SubmissionKey, form["submission_key"]) is None
    right = client.post("/internal/commissions/plans/new", data={**PLAN, **form})
    twice = client.post("/internal/commissions/plans/new", data={**PLAN, **form})
    assert (right.status_code, twice.status_code) == (303, 303)
    assert _db.session.scalar(_db.select(_db.func.count(CommissionPlan.id))) == 1


def test_another_users_key_is_not_their_result(client, db):
    client.login(partner_user("partner_admin"))
    form = hidden_values(client.get("/partner/referrals/new").get_data(as_text=True))
    first = client.post("/partner/referrals/new", data={**REFERRAL, **form})
    client.submit("/logout")
    client.login(partner_user("partner_admin"))
    other = client.post("/partner/referrals/new", data={**REFERRAL, "csrf_token": client.csrf_token(),
                                                        "submission_key": form["submission_key"]})
    assert other.status_code == 303 and other.headers["Location"] != first.headers["Location"]


@pytest.mark.parametrize("role, path", [
    ("partner_admin", "/partner/referrals/new"),
    ("partner_admin", "/partner/links"),
    ("partner_admin", "/partner/team/invite"),
    ("admin", "/internal/organizations/new"),
    ("admin", "/internal/users/invite"),
    ("admin", "/internal/commissions/plans/new"),
    ("admin", "/internal/commissions/rates"),
    ("admin", "/internal/settings/custom-fields"),
    ("admin", "/internal/settings/statuses"),
])
def test_every_create_form_carries_a_one_time_key(client, db, role, path):
    client.login(internal_user(role) if role == "admin" else partner_user(role))
    page = client.get(path)
    assert page.status_code == 200, path
    assert re.search(r'name="(add-)?submission_key"[^>]*value="[A-Za-z0-9_-]{32,}"', page.get_data(as_text=True))


def test_the_public_forms_carry_a_key_and_the_buttons_say_they_are_in_flight(client, db):
    client.login(partner_user("partner_admin"))
    page = client.get("/partner/referrals/new").get_data(as_text=True)
    assert "hx-disabled-elt=\"find button[type='submit']\"" in page
    client.submit("/logout")
    refer = client.get("/refer").get_data(as_text=True)
    assert 'name="submission_key"' in refer and "js/app.js" in refer
    script = client.get("/static/js/app.js").get_data(as_text=True)
    assert "button.disabled = true" in script
