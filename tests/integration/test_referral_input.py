"""Bad input gets a clear error next to its field and stores nothing; markup is escaped."""
from __future__ import annotations

import pytest

from portal.extensions import db as _db
from portal.models import Referral
from portal.services import custom_fields, settings

from tests.factories import partner_user
from tests.integration.test_referral_flow import FORM


def _count() -> int:
    return _db.session.scalar(_db.select(_db.func.count()).select_from(Referral))


@pytest.mark.parametrize("field, value, message", [
    ("contact_email", "not-an-email", "Enter a valid email address."),
    ("contact_email", "", "This field is required."),
    ("company_name", "x" * 201, "Field cannot be longer than 200 characters."),
    ("notes", "y" * 5001, "Field cannot be longer than 5000 characters."),
    ("contact_last_name", "Evil\u202eoverride", "invisible or control characters"),
    ("contact_first_name", "Null\x00byte", "invisible or control characters"),
    ("contact_phone", "call me maybe", "Use digits"),
    ("estimated_value", "-5", "Number must be between 0 and"),
    ("estimated_value", "lots", "Not a valid decimal value."),
    ("currency", "XXX", "Not a valid choice."),
    ("consent", "", "Confirm that the customer agreed"),
])
def test_invalid_input_shows_a_field_error_and_stores_nothing(client, db, field, value, message):
    client.login(partner_user())
    data = {**FORM, field: value}
    if field == "consent":
        data.pop("consent")
    response = client.submit("/partner/referrals/new", data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert f'id="{field}-error"' in html
    assert _count() == 0


def test_markup_and_unusual_unicode_are_stored_as_text_and_escaped(client, db):
    client.login(partner_user())
    response = client.submit("/partner/referrals/new", {**FORM, "company_name": "<img src=x onerror=alert(1)>",
                                                        "contact_last_name": "Zoë 山田 🚀", "notes": "<b>bold</b>\nline"})
    assert response.status_code == 303
    referral = _db.session.scalars(_db.select(Referral)).one()
    assert referral.company_name == "<img src=x onerror=alert(1)>"
    html = client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "Zoë 山田 🚀" in html and "<b>bold</b>" not in html


def test_admins_choose_shown_and_required_fields_and_custom_fields(client, db):
    fields = settings.form_fields()
    fields["contact_phone"] = {"shown": True, "required": True}
    fields["contact_title"] = {"shown": False, "required": False}
    settings.update_form_fields(fields)
    custom_fields.define(label="Industry", kind="select", options=["Retail", "Health"], required=True)
    custom_fields.define(label="Seats", kind="number")
    client.login(partner_user())
    page = client.get("/partner/referrals/new").get_data(as_text=True)
    assert 'name="contact_title"' not in page and 'name="cf_industry"' in page and "Seats" in page

    missing = client.submit("/partner/referrals/new", {**FORM, "contact_phone": ""})
    html = missing.get_data(as_text=True)
    assert missing.status_code == 422 and 'id="contact_phone-error"' in html and 'id="cf_industry-error"' in html

    ok = client.submit("/partner/referrals/new", {**FORM, "cf_industry": "Health", "cf_seats": "250"})
    assert ok.status_code == 303
    referral = _db.session.scalars(_db.select(Referral)).one()
    assert referral.custom_fields == {"cf_industry": "Health", "cf_seats": "250"}
    assert referral.contact_title is None
    assert "Health" in client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
    filtered = client.get("/partner/referrals?cf_industry=Retail", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert referral.number not in filtered
    filtered = client.get("/partner/referrals?cf_industry=Health", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert referral.number in filtered


def test_list_filters_by_status_text_and_dates_with_server_pagination(client, db):
    user = partner_user()
    from tests.factories import ReferralFactory
    for i in range(30):
        ReferralFactory(partner_org=user.organization, submitted_by=user, company_name=f"Bulk {i:02d}",
                        status="accepted" if i % 3 == 0 else "submitted", stage="accepted" if i % 3 == 0 else "submitted")
    client.login(user)
    page = client.get("/partner/referrals").get_data(as_text=True)
    assert "Page 1 of 2" in page
    accepted = client.get("/partner/referrals?status=accepted", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert accepted.count("<tr>") == 11 and "<html" not in accepted  # header + 10 rows
    text = client.get("/partner/referrals?q=bulk 07", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Bulk 07" in text and "Bulk 08" not in text
    future = client.get("/partner/referrals?date_from=2999-01-01", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "No referral matches" in future
