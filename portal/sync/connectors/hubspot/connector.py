"""The HubSpot connector: what the engine asks of a CRM, answered the HubSpot way."""
from __future__ import annotations

from typing import Iterator

from portal.sync.connectors import base
from portal.sync.connectors.base import (Batch, Change, ConnectionReport, ConnectorContext, Planned, PushResult,
                                         Related)
from portal.sync.connectors.hubspot import client as hubspot
from portal.sync.connectors.hubspot import plan, pull, push, webhooks
from portal.sync.http import Client, CrmError
from portal.sync.mapping import Mapping

# Each object needs these properties mapped or defaulted before a connection can sync (FACTS §1.2:
# a deal needs dealname, dealstage and pipeline; a contact is found by email, a company by domain).
REQUIRED = {"deal": ("dealname", "pipeline", "dealstage"), "contact": ("email",), "company": ("domain",)}

# HubSpot's default pipeline stages (FACTS §1.7) for the default status map.
DEFAULT_STAGE_MAP = {
    "submitted": "appointmentscheduled",
    "accepted": "qualifiedtobuy",
    "sent_to_reseller": "qualifiedtobuy",
    "won_payment_pending": "closedwon",
    "won_payment_completed": "closedwon",
    "rejected": "closedlost",
    "lost": "closedlost",
}
PLURAL = {"deal": "deals", "contact": "contacts", "company": "companies"}


@base.register("hubspot")
class HubSpotConnector:
    label = "HubSpot"
    entities = ("referral",)
    planned_entities = entities   # what `plan` (the dry run) covers
    batch_size = hubspot.BATCH_SIZE
    stage_property = "dealstage"
    amount_property = "amount"
    required_fields = REQUIRED
    object_labels = {"deal": "Deal", "contact": "Contact", "company": "Company"}

    def __init__(self, context: ConnectorContext):
        self.context = context
        options = context.options
        self.client = Client(context.base_url, context.token,
                             limits={"default": (int(options.get("burst", 100)), 10.0),
                                     "search": (int(options.get("search_per_second", 5)), 1.0)},
                             policy=hubspot.RateLimits(), storage=context.budget_storage,
                             on_event=context.on_event, **context.client_options)
        self.api = hubspot.HubSpot(self.client, version=options.get("api_version", "v3"))
        self._plan_memory = plan.Memory()

    @staticmethod
    def default_mappings() -> list[Mapping]:
        """What a new HubSpot connection starts with."""
        return [
            Mapping("deal", "dealname", "deal_name"),
            Mapping("deal", "pipeline", None, default_value=hubspot.DEFAULT_PIPELINE),
            Mapping("deal", "dealstage", "status", direction="both", value_map=dict(DEFAULT_STAGE_MAP)),
            # The amount and close date go with the stage: a won deal carries what it was won at, and when.
            Mapping("deal", "amount", "deal_amount", direction="both"),
            Mapping("deal", "closedate", "close_date"),
            Mapping("contact", "email", "contact_email"),
            Mapping("contact", "firstname", "contact_first_name"),
            Mapping("contact", "lastname", "contact_last_name"),
            Mapping("contact", "phone", "contact_phone"),
            Mapping("contact", "jobtitle", "contact_title"),
            Mapping("company", "domain", "company_domain"),
            Mapping("company", "name", "company_name"),
        ]

    @property
    def calls(self) -> int:
        return self.client.calls

    def test(self) -> ConnectionReport:
        """The account's deal pipelines, or HubSpot's own error."""
        try:
            pipelines = self.api.pipelines("deals")
        except CrmError as err:
            return ConnectionReport(False, f"HubSpot answered {err.status or 'nothing'}: {err.message}")
        labels = ", ".join(p.get("label", p.get("id", "?")) for p in pipelines) or "none"
        account = {"pipelines": [{"id": p["id"], "label": p.get("label"),
                                  "stages": [{"id": s["id"], "label": s.get("label")} for s in p.get("stages", [])]}
                                 for p in pipelines]}
        return ConnectionReport(True, f"Connected to HubSpot. Deal pipelines: {labels}.", account)

    def properties(self, crm_object: str) -> list[dict]:
        return [{"name": p["name"], "label": p.get("label", p["name"]), "type": p.get("type"),
                 "options": [o.get("value") for o in p.get("options") or []]}
                for p in self.api.properties(PLURAL[crm_object])]

    def ensure_fields(self) -> None:
        """Our unique id properties (FACTS §1.8): the upserts key on them."""
        self.api.ensure_unique_property("deals", hubspot.DEAL_ID_PROPERTY, "Portal referral ID", "dealinformation")
        self.api.ensure_unique_property("companies", hubspot.COMPANY_ID_PROPERTY, "Portal company domain",
                                        "companyinformation")

    def prepare(self, batch: Batch) -> None:
        push.prepare(batch, self.context.connection_id)

    def push(self, batch: Batch) -> list[PushResult]:
        return push.push(self.api, connection_id=self.context.connection_id, policy=self.context.existing_policy,
                         mappings=self.context.mappings, batch=batch)

    def plan(self, batch: Batch) -> list[Planned]:
        return plan.plan(self.api, policy=self.context.existing_policy, mappings=self.context.mappings, batch=batch,
                         memory=self._plan_memory)

    def associate(self, related: list[Related]) -> None:
        push.associate(self.api, related)

    def changes_since(self, entity: str, watermark_ms: int, properties: list[str]) -> Iterator[Change]:
        return pull.deal_changes(self.api, watermark_ms, properties)

    def record_url(self, crm_object: str, crm_id: str) -> str | None:
        return hubspot.record_url(self.context.base_url, {"id": crm_id}, PLURAL.get(crm_object, "deals"),
                                  self.context.options.get("hub_id"))

    @staticmethod
    def verify_webhook(secret: str, *, method: str, urls: list[str], body: bytes, headers) -> bool:
        return webhooks.verify(secret, method=method, urls=urls, body=body, headers=headers)
