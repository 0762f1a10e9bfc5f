"""Custom fields have an audience: internal only, partners, or partners and the public form."""
from __future__ import annotations

from portal.extensions import db as _db
from portal.models import Referral
from portal.services import custom_fields, links

from tests.factories import OrganizationFactory, internal_user, partner_user
from tests.integration.test_links import PROSPECT, instant, post_form  # noqa: F401 - fixture

PARTNER_FORM = {"contact_first_name": "Ada", "contact_last_name": "King", "contact_email": "ada@analytical.example",
                "company_name": "Analytical Engines", "consent": "y"}


def _fields():
    custom_fields.define(label="Sales region", kind="select", options=["East", "West"], required=True,
                         audience="internal")
    custom_fields.define(label="Partner relationship", kind="text", required=True, audience="partners")
    custom_fields.define(label="Industry", kind="select", options=["Retail", "Health"], audience="public")


def test_the_public_form_shows_only_public_fields_and_a_prospect_submits_without_internal_required_ones(
        client, db, instant):
    _fields()
    jane = partner_user("partner_admin", organization=OrganizationFactory(name="Northwind"))
    link = links.create(by=jane, campaign="Spring")
    html = client.get(f"/r/{link.code}").get_data(as_text=True)
    assert 'name="cf_industry"' in html
    assert "Sales region" not in html and "Partner relationship" not in html

    response = post_form(client, f"/r/{link.code}", link.code,
                         {**PROSPECT, "cf_industry": "Health", "cf_sales_region": "East"})
    assert response.status_code == 303
    referral = _db.session.scalars(_db.select(Referral)).one()
    # A value for a field the prospect was never asked is not taken from the post.
    assert referral.custom_fields == {"cf_industry": "Health"}


def test_partners_are_asked_partner_and_public_fields_never_internal_ones(client, db):
    _fields()
    partner = partner_user("partner_admin")
    client.login(partner)
    html = client.get("/partner/referrals/new").get_data(as_text=True)
    assert 'name="cf_partner_relationship"' in html and 'name="cf_industry"' in html
    assert "Sales region" not in html

    missing = client.submit("/partner/referrals/new", PARTNER_FORM)
    assert missing.status_code == 422 and 'id="cf_partner_relationship-error"' in missing.get_data(as_text=True)
    ok = client.submit("/partner/referrals/new", {**PARTNER_FORM, "cf_partner_relationship": "Long-time client"})
    assert ok.status_code == 303
    referral = _db.session.scalars(_db.select(Referral)).one()
    referral.custom_fields = {**referral.custom_fields, "cf_sales_region": "West"}
    _db.session.commit()

    page = client.get(f"/partner/referrals/{referral.id}").get_data(as_text=True)
    assert "Long-time client" in page and "Sales region" not in page and "West" not in page
    client.post("/logout", data={"csrf_token": client.csrf_token()})
    client.login(internal_user("manager"))
    page = client.get(f"/internal/referrals/{referral.id}").get_data(as_text=True)
    assert "Sales region" in page and "West" in page


def test_admins_choose_the_audience_on_the_settings_page(client, db):
    client.login(internal_user("admin"))
    page = client.get("/internal/settings/custom-fields").get_data(as_text=True)
    assert "Partners and the public form" in page and "Internal only" in page
    response = client.submit("/internal/settings/custom-fields",
                             {"label": "Deal desk notes", "kind": "text", "audience": "internal", "required": "y"})
    assert response.status_code == 303
    field = custom_fields.list_all()[0]
    assert (field.audience, field.required) == ("internal", True)
    assert "Internal only" in client.get("/internal/settings/custom-fields").get_data(as_text=True)
    refused = client.submit("/internal/settings/custom-fields", {"label": "Other", "kind": "text", "audience": "all"})
    assert refused.status_code == 422
