"""A third CRM is one connector registered under its name: the engine pushes and pulls a referral
through a fake one defined here, in the test only, with nothing outside the test knowing it."""
from __future__ import annotations

from decimal import Decimal

import pytest

from portal.models import StatusEvent
from portal.services import crm
from portal.sync import connectors, engine
from portal.sync.connectors.base import Change, ConnectionReport, PushResult
from portal.sync.mapping import Mapping
from tests.factories import ReferralFactory

OPPORTUNITIES: dict[str, dict] = {}   # the fake CRM's records, by its own id


class FakeCrm:
    label = "FakeCRM"
    entities = ("referral",)
    batch_size = 10
    stage_property = "Stage"
    amount_property = "Value"
    required_fields = {"deal": ("Title", "Stage")}
    object_labels = {"deal": "Opportunity"}

    def __init__(self, context):
        self.context, self.calls = context, 0

    @staticmethod
    def default_mappings():
        return [Mapping("deal", "Title", "deal_name"),
                Mapping("deal", "Stage", "status", "both", value_map={"submitted": "Open", "won_payment_pending": "Won"}),
                Mapping("deal", "Value", "estimated_value", "both")]

    def test(self):
        return ConnectionReport(True, "Connected to FakeCRM.")

    def properties(self, crm_object):
        return [{"name": name, "label": name, "type": "string", "options": []} for name in ("Title", "Stage", "Value")]

    def ensure_fields(self):
        pass

    def prepare(self, batch):
        pass

    def push(self, batch):
        from portal.sync import mapping
        results = []
        for item in batch.items:
            self.calls += 1
            key = item.link.crm_id or f"OPP-{item.portal_id}"
            created = key not in OPPORTUNITIES
            OPPORTUNITIES.setdefault(key, {"modified": 0, "portal_id": item.portal_id, "properties": {}})
            OPPORTUNITIES[key]["properties"].update(mapping.push_properties(self.context.mappings, "deal", item.values))
            item.link.crm_id, item.link.url = key, self.record_url("deal", key)
            item.link.pushed_values = dict(OPPORTUNITIES[key]["properties"])
            results.append(PushResult(item.link.id, "ok", "upsert opportunity", created=created, message=key))
        return results

    def associate(self, related):
        pass

    def changes_since(self, entity, watermark_ms, properties):
        self.calls += 1
        for key, record in sorted(OPPORTUNITIES.items()):
            if record["modified"] > watermark_ms:
                yield Change(key, record["portal_id"], record["modified"], dict(record["properties"]))

    def record_url(self, crm_object, crm_id):
        return f"https://fakecrm.example/opportunities/{crm_id}"

    @staticmethod
    def verify_webhook(secret, **request):
        return False


@pytest.fixture
def fake_crm():
    OPPORTUNITIES.clear()
    connectors.register("fakecrm")(FakeCrm)
    yield
    connectors.CONNECTORS.pop("fakecrm", None)
    OPPORTUNITIES.clear()


def test_the_engine_pushes_and_pulls_a_referral_through_a_connector_it_has_never_heard_of(db, fake_crm):
    connection = crm.create_connection(name="Fake", provider="fakecrm", base_url="https://fakecrm.example",
                                       token="fake-token")
    assert [p["name"] for p in crm.crm_properties(connection, "deal")] == ["Title", "Stage", "Value"]
    referral = ReferralFactory(estimated_value=Decimal("1500"))
    crm.sync_now(referral)

    stats = engine.push(connection.id)

    assert (stats.pushed, stats.created, stats.errors) == (1, 1, 0)
    [link] = crm.links_for(referral)
    assert (link.state, link.dirty, link.crm_id) == ("synced", False, f"OPP-{referral.id}")
    assert link.url == f"https://fakecrm.example/opportunities/OPP-{referral.id}"
    assert OPPORTUNITIES[link.crm_id]["properties"] == {"Title": f"{referral.company_name} ({referral.number})",
                                                        "Stage": "Open", "Value": "1500"}

    OPPORTUNITIES[link.crm_id]["properties"].update({"Stage": "Won", "Value": "2400"})
    OPPORTUNITIES[link.crm_id]["modified"] = 1_000
    pulled = engine.pull(connection.id)

    db.session.expire_all()
    assert (pulled.seen, pulled.status_changes, pulled.errors) == (1, 1, 0)
    assert referral.status == "won_payment_pending" and referral.won_amount == Decimal("2400.00")
    event = db.session.scalars(db.select(StatusEvent).where(StatusEvent.entity_id == referral.id)
                               .order_by(StatusEvent.id.desc())).first()
    assert event.actor_name == "FakeCRM" and event.reason == "Won at 2,400.00 USD"
    assert not crm.links_for(referral)[0].dirty  # the change came from that CRM: nothing goes back
    assert engine.pull(connection.id).seen == 0  # past the watermark
