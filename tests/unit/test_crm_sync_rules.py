"""Pure CRM sync logic: field mapping, qualification rules, webhook signatures."""
from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from portal.errors import DomainError
from portal.sync import entities, mapping, qualification
from portal.sync.connectors.hubspot import client as hubspot_client
from portal.sync.connectors.hubspot import webhooks as hubspot
from portal.sync.connectors.hubspot.connector import HubSpotConnector

STAGE = "dealstage"


def _validate(mappings, **kwargs):
    mapping.validate(mappings, fields=entities.REFERRAL_FIELDS, required=HubSpotConnector.required_fields, **kwargs)

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
EXAMPLE_BODY = (b'[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,'
                b'"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM",'
                b'"changeFlag":"NEW","appId":54321}]')


def _referral(**kwargs):
    values = dict(number="R-000001", company_name="Globex", status="accepted", estimated_value=Decimal("1200.00"),
                  contact_email="a@globex.example", notes=None, custom_fields={"segment": "smb"}, partner_org=None)
    values.update(kwargs)
    return SimpleNamespace(**values)


def test_default_mappings_are_valid_and_give_a_deal_its_name_pipeline_and_stage():
    mappings = HubSpotConnector.default_mappings()
    _validate(mappings)
    props = mapping.push_properties(mappings, "deal", entities.referral_values(_referral()))
    assert props == {"dealname": "Globex (R-000001)", "pipeline": "default", "dealstage": "qualifiedtobuy",
                     "amount": "1200"}


def test_an_amount_goes_without_the_trailing_zeros_of_its_stored_scale():
    # Amounts are stored with three decimals (KWD has them); a CRM gets the number, not the padding.
    props = mapping.push_properties(HubSpotConnector.default_mappings(), "deal",
                                    entities.referral_values(_referral(estimated_value=Decimal("1234.500"))))
    assert props["amount"] == "1234.5"
    assert mapping.to_crm(Decimal("0.125")) == "0.125"
    assert mapping.to_crm(Decimal("1E+3")) == "1000"


def test_a_deal_without_a_stage_mapping_is_refused():
    mappings = [m for m in HubSpotConnector.default_mappings() if m.crm_field != "dealstage"]
    with pytest.raises(DomainError, match="dealstage"):
        _validate(mappings)


def test_a_constant_needs_a_default_value_and_unknown_fields_are_refused():
    with pytest.raises(DomainError):
        _validate(HubSpotConnector.default_mappings() + [mapping.Mapping("deal", "dealtype", None)])
    with pytest.raises(DomainError, match="Unknown portal field"):
        _validate(HubSpotConnector.default_mappings() + [mapping.Mapping("deal", "x", "nope")])
    _validate(HubSpotConnector.default_mappings() + [mapping.Mapping("deal", "segment", "custom.segment")],
                     custom_keys={"segment"})


def test_pull_values_convert_and_reverse_picklists():
    mappings = HubSpotConnector.default_mappings() + [
        mapping.Mapping("deal", "dealtype", "custom.kind", "both", value_map={"new": "newbusiness"})]
    values = mapping.pull_values(mappings, "deal", {"amount": "2500.5", "dealtype": "newbusiness",
                                                    "dealstage": "closedwon"}, entities.REFERRAL_FIELDS)
    assert values == {"deal_amount": Decimal("2500.5"), "custom.kind": "new"}  # the amount writes the estimate


def test_the_stage_maps_to_a_status_unless_the_current_status_already_means_that_stage():
    mappings = HubSpotConnector.default_mappings()
    assert mapping.status_for(mappings, "closedwon", "accepted") == "won_payment_pending"
    assert mapping.status_for(mappings, "qualifiedtobuy", "sent_to_reseller") is None
    assert mapping.status_for(mappings, "unknownstage", "accepted") is None


def test_a_rule_fires_only_when_the_value_changes_into_its_list():
    rules = [qualification.Rule("stage", ["contractsent"], "accepted"),
             qualification.Rule("property", ["existingbusiness"], "lost", crm_property="dealtype")]
    assert qualification.evaluate(rules, {"dealstage": "qualifiedtobuy"}, {"dealstage": "contractsent"},
                                  stage_property=STAGE).status == \
        "accepted"
    assert qualification.evaluate(rules, {"dealstage": "contractsent"}, {"dealstage": "contractsent"},
                                  stage_property=STAGE) is None
    outcome = qualification.evaluate(rules, {"dealtype": ""}, {"dealtype": "ExistingBusiness"}, stage_property=STAGE)
    assert outcome.status == "lost"
    assert qualification.watched_properties(rules, stage_property=STAGE) == ["dealstage", "dealtype"]


def test_signature_v3_matches_the_documented_formula_and_rejects_old_or_altered_requests():
    uri, stamp = "https://www.example.com/webhook_uri", "1564113600000"
    signature = hubspot.signature_v3(SECRET, "POST", uri, EXAMPLE_BODY, stamp)
    assert signature == "DxmVAjFNa2xfF3YgQjdZP6TNcok9k1oaH7UXombPtvw="
    now = int(stamp) + 60_000
    assert hubspot.valid_signature_v3(SECRET, "POST", uri, EXAMPLE_BODY, signature, stamp, now_ms=now)
    assert not hubspot.valid_signature_v3(SECRET, "POST", uri, EXAMPLE_BODY + b" ", signature, stamp, now_ms=now)
    assert not hubspot.valid_signature_v3(SECRET, "POST", uri, EXAMPLE_BODY, signature, stamp,
                                          now_ms=int(stamp) + 301_000)
    assert not hubspot.valid_signature_v3("other", "POST", uri, EXAMPLE_BODY, signature, stamp, now_ms=now)


def test_encoded_characters_in_the_uri_are_decoded_as_hubspot_lists_them():
    a = hubspot.signature_v3(SECRET, "POST", "https://x.example/hook?a=b%3Ac", b"", "1")
    b = hubspot.signature_v3(SECRET, "POST", "https://x.example/hook?a=b:c", b"", "1")
    assert a == b


def test_the_existing_id_is_read_from_hubspots_conflict_message():
    assert hubspot_client.existing_id("Contact already exists. Existing ID: 37765128953") == "37765128953"
    assert hubspot_client.existing_id("something else") is None
