"""Admin settings pages: only internal admins use them, and partners see what they chose."""
from __future__ import annotations

import pytest

from portal.extensions import db as _db
from portal.models import CustomField, Referral, ReferralStatus
from portal.services import settings, statuses

from tests.factories import ReferralFactory, internal_user, partner_user
from tests.integration.test_referral_flow import FORM

PAGES = ["/internal/settings", "/internal/settings/referral-form", "/internal/settings/custom-fields",
         "/internal/settings/statuses", "/internal/settings/duplicates", "/internal/settings/visibility"]


def test_admins_see_every_settings_page_and_the_settings_item_in_the_navigation(client, db):
    client.login(internal_user("admin"))
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
    nav = client.get("/internal/").get_data(as_text=True)
    assert 'href="/internal/settings"' in nav


@pytest.mark.parametrize("role", ["manager", "sales"])
def test_other_internal_users_are_refused_settings_and_see_no_settings_item(client, db, role):
    client.login(internal_user(role))
    for url in PAGES:
        assert client.get(url).status_code == 403, url
    assert client.submit("/internal/settings/duplicates", {"policy": "allow", "window_days": "5"}).status_code == 403
    assert settings.get("duplicates")["policy"] == "flag"
    assert 'href="/internal/settings"' not in client.get("/internal/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["partner_admin", "partner_user"])
def test_partners_get_404_for_settings_pages(client, db, role):
    client.login(partner_user(role=role))
    for url in PAGES:
        assert client.get(url).status_code == 404, url
    assert client.submit("/internal/settings/statuses/submitted/rename", {"submitted-label": "New"}).status_code == 404


def test_hiding_a_field_and_requiring_another_changes_the_partners_form(client, db):
    client.login(internal_user("admin"))
    page = client.get("/internal/settings/referral-form").get_data(as_text=True)
    assert "CRM matching finds contacts by email" in page
    chosen = {f"{name}_shown": "y" for name in settings.STANDARD_FIELDS if name != "contact_title"}
    response = client.submit("/internal/settings/referral-form", {**chosen, "contact_phone_required": "y",
                                                                   "contact_email_required": "y"})
    assert response.status_code == 303
    fields = settings.form_fields()
    assert fields["contact_title"] == {"shown": False, "required": False}
    assert fields["contact_phone"] == {"shown": True, "required": True}
    # last name and company stay required even though the form did not tick them
    assert fields["contact_last_name"] == fields["company_name"] == {"shown": True, "required": True}
    client.submit("/logout")

    client.login(partner_user())
    form = client.get("/partner/referrals/new").get_data(as_text=True)
    assert 'name="contact_title"' not in form
    missing_phone = client.submit("/partner/referrals/new", {**FORM, "contact_phone": ""})
    assert missing_phone.status_code == 422 and 'id="contact_phone-error"' in missing_phone.get_data(as_text=True)


def test_contact_email_is_required_by_default_and_can_be_made_optional(client, db):
    assert settings.form_fields()["contact_email"] == {"shown": True, "required": True}
    client.login(internal_user("admin"))
    chosen = {f"{name}_shown": "y" for name in settings.STANDARD_FIELDS}
    client.submit("/internal/settings/referral-form", chosen)
    assert settings.form_fields()["contact_email"] == {"shown": True, "required": False}


def test_admin_adds_a_select_field_that_partners_fill_in_then_deactivates_it(client, db):
    client.login(internal_user("admin"))
    too_few = client.submit("/internal/settings/custom-fields", {"label": "Region", "kind": "select", "options": "EMEA"})
    assert too_few.status_code == 422 and "at least two options" in too_few.get_data(as_text=True)
    response = client.submit("/internal/settings/custom-fields", {"label": "Region", "kind": "select",
                                                                   "options": "EMEA\r\nAmericas\r\n\r\nAPAC",
                                                                   "required": "y"})
    assert response.status_code == 303
    field = _db.session.scalars(_db.select(CustomField)).one()
    assert (field.key, field.options, field.required) == ("cf_region", ["EMEA", "Americas", "APAC"], True)
    listed = client.get("/internal/settings/custom-fields").get_data(as_text=True)
    assert "Region" in listed and "EMEA, Americas, APAC" in listed
    duplicate = client.submit("/internal/settings/custom-fields", {"label": "Region", "kind": "text"})
    assert duplicate.status_code == 422 and "exists already" in duplicate.get_data(as_text=True)
    client.submit("/logout")

    partner = partner_user()
    client.login(partner)
    assert client.submit("/partner/referrals/new", FORM).status_code == 422  # the field is required
    assert client.submit("/partner/referrals/new", {**FORM, "cf_region": "APAC"}).status_code == 303
    assert _db.session.scalars(_db.select(Referral)).one().custom_fields == {"cf_region": "APAC"}
    client.submit("/logout")

    client.login(internal_user("admin"))
    assert client.submit(f"/internal/settings/custom-fields/{field.id}/active", {"active": "0"}).status_code == 303
    assert field.active is False
    client.submit("/logout")
    client.login(partner)
    assert 'name="cf_region"' not in client.get("/partner/referrals/new").get_data(as_text=True)
    client.submit("/logout")
    client.login(internal_user("admin"))
    client.submit(f"/internal/settings/custom-fields/{field.id}/active", {"active": "1"})
    assert field.active is True


def test_renamed_status_is_what_partners_see(client, db):
    partner = partner_user()
    referral = ReferralFactory(partner_org=partner.organization, submitted_by=partner)
    client.login(internal_user("admin"))
    response = client.submit("/internal/settings/statuses/submitted/rename", {"submitted-label": "Received, thanks!"},
                             headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<tr id="status-submitted"')
    assert 'value="Received, thanks!"' in html and "Saved" in html
    empty = client.submit("/internal/settings/statuses/submitted/rename", {"submitted-label": "  "})
    assert empty.status_code == 422 and "This field is required." in empty.get_data(as_text=True)
    client.submit("/logout")

    client.login(partner)
    assert "Received, thanks!" in client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
    assert "Received, thanks!" in client.get("/partner/referrals").get_data(as_text=True)


def test_custom_status_is_added_and_a_referral_moves_to_it_which_the_partner_sees(client, db):
    partner = partner_user()
    referral = ReferralFactory(partner_org=partner.organization, submitted_by=partner, status="accepted",
                               stage="accepted")
    client.login(internal_user("admin"))
    final = client.submit("/internal/settings/statuses", {"add-label": "Paid twice", "add-stage": "lost"})
    assert final.status_code == 422  # a final meaning cannot have steps: not even offered
    response = client.submit("/internal/settings/statuses", {"add-label": "Demo scheduled", "add-stage": "accepted"})
    assert response.status_code == 303
    status = _db.session.scalar(_db.select(ReferralStatus).where(ReferralStatus.label == "Demo scheduled"))
    assert (status.key, status.stage, status.builtin) == ("demo_scheduled", "accepted", False)
    keys = [s.key for s in statuses.all_statuses()]
    assert keys.index("accepted") < keys.index("demo_scheduled") < keys.index("sent_to_reseller")

    moved = client.submit(f"/internal/referrals/{referral.id}/status", {"status-status": "demo_scheduled",
                                                                       "status-reason": "Demo on Friday"})
    assert moved.status_code == 303
    assert (referral.status, referral.stage) == ("demo_scheduled", "accepted")
    client.submit("/logout")

    client.login(partner)
    page = client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
    assert "Demo scheduled" in page and "Demo on Friday" in page


def test_duplicates_policy_and_window_are_saved_and_validated(client, db):
    client.login(internal_user("admin"))
    page = client.get("/internal/settings/duplicates").get_data(as_text=True)
    assert 'checked id="policy-1" name="policy" type="radio" value="flag"' in page and 'value="90"' in page
    bad = client.submit("/internal/settings/duplicates", {"policy": "block", "window_days": "0"})
    assert bad.status_code == 422 and "Number must be between 1 and 3650." in bad.get_data(as_text=True)
    assert settings.get("duplicates") == {"policy": "flag", "window_days": 90}
    assert client.submit("/internal/settings/duplicates", {"policy": "nope", "window_days": "30"}).status_code == 422
    assert client.submit("/internal/settings/duplicates", {"policy": "block", "window_days": "30"}).status_code == 303
    assert settings.get("duplicates") == {"policy": "block", "window_days": 30}


def test_visibility_decides_which_lead_and_deal_fields_partners_see(client, db):
    partner = partner_user()
    referral = ReferralFactory(partner_org=partner.organization, submitted_by=partner, status="lost", stage="lost",
                               lost_reason="Budget frozen until next year")
    client.login(partner)
    assert "Budget frozen" in client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
    client.submit("/logout")

    client.login(internal_user("admin"))
    bad = client.submit("/internal/settings/visibility", {"lead_deal_fields": ["lead_status"],
                                                          "respond_within_days": "120"})
    assert bad.status_code == 422 and "Number must be between 1 and 90." in bad.get_data(as_text=True)
    response = client.submit("/internal/settings/visibility", {"lead_deal_fields": ["lead_status", "owner"],
                                                               "respond_within_days": "10"})
    assert response.status_code == 303
    assert settings.get("lead_deal_visibility")["fields"] == ["lead_status", "owner"]
    assert settings.get("leads")["respond_within_days"] == 10
    client.submit("/logout")

    client.login(partner)
    assert "Budget frozen" not in client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
