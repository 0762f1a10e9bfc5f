"""The Salesforce connector: a referral becomes a Lead (upserted on `Portal_Referral_Id__c`), and
follows it into the Opportunity when the Lead is converted; the Opportunity's stage and amount come
back through the same inbound use case as HubSpot's deal."""
from __future__ import annotations

from typing import Iterator

from portal import clock
from portal.sync.connectors import base
from portal.sync.connectors.base import (AccountCandidate, Batch, Change, ConnectionReport, ConnectorContext, Planned,
                                         PushResult, Related)
from portal.sync.connectors.salesforce import client as sf
from portal.sync import entity_organizations
from portal.sync.connectors.salesforce import accounts, deals, organizations, plan, pull, push
from portal.sync.http import CrmError
from portal.sync.mapping import Mapping

# A Lead needs LastName and Company (REQUIRED_FIELD_MISSING otherwise, FACTS §2).
REQUIRED = {"deal": ("LastName", "Company"), "account": ("Name",), "partner_contact": ("LastName",)}

# Salesforce's default Opportunity stages for the default status map (pulled, never pushed: a Lead has none).
DEFAULT_STAGE_MAP = {
    "accepted": "Prospecting",
    "sent_to_reseller": "Qualification",
    "won_payment_pending": "Closed Won",
    "won_payment_completed": "Closed Won",
    "rejected": "Closed Lost",
    "lost": "Closed Lost",
}
TEXT_TYPES = ("string", "textarea", "email", "phone", "url", "picklist", "multipicklist", "combobox")
SOBJECTS = {"deal": "Lead", "contact": "Contact", "company": "Account"}
# An sObject's field names change only when an admin edits the org: pushes and pulls in this process
# reuse a describe for DESCRIBE_TTL seconds, so the pull every minute costs no describe call (a
# Developer Edition org has 15,000 calls a day). "Test connection" always reads them afresh.
DESCRIBE_TTL = 15 * 60
_DESCRIBED: dict[tuple[int, str, str], tuple[float, frozenset[str]]] = {}


def forget_describes() -> None:
    """Drop every remembered describe (a test that changes an org's schema starts from the org)."""
    _DESCRIBED.clear()
# What the portal needs in the org, and how an admin adds it.
NEEDED_FIELDS = {
    ("Lead", sf.REFERRAL_ID_FIELD): "Text(64), External ID, Unique",
    ("Lead", sf.SYNC_FIELD): "Checkbox",
    ("Opportunity", sf.REFERRAL_ID_FIELD): "Text(64), External ID, Unique",
    ("Opportunity", sf.SYNC_FIELD): "Checkbox",
    ("Contact", sf.REFERRAL_ID_FIELD): "Text(64), External ID, Unique",
    ("Contact", sf.SYNC_FIELD): "Checkbox",
    # Deal registrations (the Lead's value goes to the Opportunity in Setup → Lead → Map Lead Fields).
    ("Lead", deals.DEAL_ID_FIELD): "Text(64), External ID, Unique",
    ("Opportunity", deals.DEAL_ID_FIELD): "Text(64), External ID, Unique",
}
DEALS = "deal_registration"
CONTACT_MATCH = "opportunity_on_contact_match"   # the connection option (services/crm/registrations.py)


@base.register("salesforce")
class SalesforceConnector:
    label = "Salesforce"
    entities = ("referral", DEALS, *entity_organizations.NAMES)
    planned_entities = entities   # what `plan` (the dry run) covers
    batch_size = sf.COLLECTION_SIZE
    stage_property = "StageName"
    amount_property = "Amount"
    required_fields = REQUIRED
    object_labels = {"deal": "Lead", "contact": "Contact", "company": "Account", "registration": "Lead",
                     "account": "Account", "partner_contact": "Contact"}
    mapping_objects = ("deal", "contact", "company", "account", "partner_contact")
    field_noun = "field"
    contact_rules = True   # the pull reads the Contacts it syncs: a rule may watch "contact.<field>"
    # Referral Factory's "create a new Contact" option (connection option base.RECORD_OPTION).
    record_choices = ((push.LEAD, "A Lead (the default)"),
                      (push.CONTACT, "A new Contact (Referral Factory's “create a new Contact”)"))
    # The connection form's fields, stored together (encrypted) as the connection's token.
    credential_fields = ("client_id", "client_secret", "refresh_token", "username", "private_key")
    credentials_text = staticmethod(sf.credentials_text)
    # The organization matching wizard offers its flagged Accounts (`matching_candidates`).
    matches_organizations = True

    def __init__(self, context: ConnectorContext):
        self.context = context
        options = context.options
        creds = sf.parse_credentials(context.token)
        kwargs = {"limits": {"default": (int(options.get("per_second", 50)), 1.0)},
                  "storage": context.budget_storage, "on_event": context.on_event, **context.client_options}
        self.api = sf.Salesforce(context.base_url, creds, kwargs, version=options.get("api_version", sf.API_VERSION))
        self._fields: dict[str, frozenset[str]] = {}
        # Referral Factory's "create a new Contact" option: a referral becomes a Contact, not a Lead.
        self.record_sobject = push.CONTACT if options.get(base.RECORD_OPTION) == push.CONTACT else push.LEAD
        self._planned_orgs: set[str] = set()   # the dry run's organizations so far (their users follow)

    @staticmethod
    def default_mappings() -> list[Mapping]:
        return [
            Mapping("deal", "LastName", "contact_last_name", default_value="(unknown)"),
            Mapping("deal", "FirstName", "contact_first_name"),
            Mapping("deal", "Email", "contact_email"),
            Mapping("deal", "Phone", "contact_phone"),
            Mapping("deal", "Title", "contact_title"),
            Mapping("deal", "Company", "company_name", default_value="(unknown)"),
            Mapping("deal", "Website", "company_domain"),
            Mapping("deal", "Country", "company_country"),
            Mapping("deal", "Description", "notes"),
            Mapping("deal", "LeadSource", None, default_value="Partner Referral"),
            # Referral Factory's "attach information about the person referring" (custom fields
            # the admin adds; Test connection lists the ones the org lacks, the push leaves them out).
            Mapping("deal", "Referrer_Name__c", "referrer_name"),
            Mapping("deal", "Referrer_Email__c", "referrer_email"),
            Mapping("deal", "Referral_Link__c", "referral_link"),
            Mapping("deal", "Referral_Campaign__c", "referral_campaign"),
            Mapping("deal", "StageName", "status", direction="pull", value_map=dict(DEFAULT_STAGE_MAP)),
            Mapping("deal", "Amount", "estimated_value", direction="pull"),
            *organizations.default_mappings(),
        ]

    @staticmethod
    def syncs(entity: str, options: dict) -> bool:
        """Organizations and their users sync once the matching wizard turned organization sync on."""
        if entity in (entity_organizations.ORGANIZATION.name, entity_organizations.USER.name):
            return entity_organizations.enabled(options)
        return True

    @property
    def calls(self) -> int:
        return self.api.calls

    def test(self) -> ConnectionReport:
        """The org, the API version, the daily requests left, and the fields the portal needs that it lacks."""
        try:
            org = next(iter(self.api.query("SELECT Id, Name, OrganizationType, IsSandbox FROM Organization")), {})
            for sobject in {obj for obj, _ in NEEDED_FIELDS} | {self.record_sobject}:
                self._fields_of(sobject, fresh=True)  # what the org has now, for this test and the next pushes
            missing = self._missing_fields()
            org_missing = organizations.missing(self.api.describe)
        except CrmError as err:
            return ConnectionReport(False, push.explain(err))
        remaining, maximum = self.api.limits.remaining, self.api.limits.maximum
        parts = [f"Connected to Salesforce: {org.get('Name', 'the org')} (API v{self.api.version}).",
                 f"Daily API requests left: {remaining} of {maximum}." if maximum else ""]
        if missing:
            parts.append("Missing fields: " + "; ".join(
                f"{obj}.{name} — add it in Setup → Object Manager → {obj} → Fields & Relationships → New ({kind})"
                for obj, name, kind in missing) + ".")
        unmapped = self._mapped_fields_missing()
        if unmapped:
            parts.append("Mapped fields the org lacks, left out of every push: " + ", ".join(unmapped)
                         + " (add them in Setup → Object Manager → Fields & Relationships, or remove the mapping).")
        if org_missing:
            parts.append("Organization sync needs: " + "; ".join(f"{what} — add it in {how}"
                                                                 for what, how in org_missing) + ".")
        account = {"org": org.get("Name"), "org_id": org.get("Id"), "api_version": self.api.version,
                   "daily_requests_remaining": remaining, "daily_requests_max": maximum,
                   "missing_fields": [f"{obj}.{name}" for obj, name, _ in missing],
                   "org_sync_missing": [what for what, _ in org_missing],
                   "instance_url": self.api.instance_url}
        return ConnectionReport(True, " ".join(p for p in parts if p), account)

    def _mapped_fields_missing(self) -> list[str]:
        known = self._fields_of(self.record_sobject)
        return [f"{self.record_sobject}.{m.crm_field}" for m in self.context.mappings
                if m.crm_object == push.RECORD and m.pushes and m.crm_field not in known
                and (self.record_sobject == push.LEAD or m.crm_field != "Company")]

    def _missing_fields(self) -> list[tuple[str, str, str]]:
        return [(obj, name, kind) for (obj, name), kind in NEEDED_FIELDS.items() if name not in self._fields_of(obj)]

    def _fields_of(self, sobject: str, *, fresh: bool = False) -> frozenset[str]:
        if sobject in self._fields:
            return self._fields[sobject]
        key = (self.context.connection_id, self.context.base_url, sobject)
        remembered = _DESCRIBED.get(key)
        if fresh or remembered is None or remembered[0] <= clock.timestamp():
            names = frozenset(f["name"] for f in self.api.describe(sobject).get("fields", []))
            remembered = _DESCRIBED[key] = (clock.timestamp() + DESCRIBE_TTL, names)
        self._fields[sobject] = remembered[1]
        return remembered[1]

    def properties(self, crm_object: str) -> list[dict]:
        sobjects = ("Lead", "Opportunity") if crm_object == "deal" else (
            organizations.SOBJECT.get(crm_object) or SOBJECTS[crm_object],)
        found, seen = [], set()
        for sobject in sobjects:
            for f in self.api.describe(sobject).get("fields", []):
                if f["name"] in seen:
                    continue
                seen.add(f["name"])
                label = f.get("label", f["name"]) + (f" ({sobject})" if len(sobjects) > 1 else "")
                found.append({"name": f["name"], "label": label, "type": f.get("type"),
                              "options": [p.get("value") for p in f.get("picklistValues") or []
                                          if p.get("active", True)],
                              # a text field's length; a number's is not a character count
                              "length": f.get("length") if f.get("type") in TEXT_TYPES else None})
        return found

    def setup_lists(self) -> dict:
        """Setup data the settings pages choose from (no call when they render): the record types."""
        return {"_record_types": organizations.record_types(self.api)}

    def ensure_fields(self) -> None:
        """Custom fields are made by an admin in Setup (the REST API cannot): say which are missing."""
        missing = self._missing_fields()
        if missing:
            raise CrmError(400, "The Salesforce org lacks " + ", ".join(f"{o}.{n}" for o, n, _ in missing)
                           + "; add them (Test connection says how).", retryable=False)

    def prepare(self, batch: Batch) -> None:
        organizations.prepare(batch, self.context.connection_id)

    def push(self, batch: Batch) -> list[PushResult]:
        if batch.entity == DEALS:
            return deals.push(self.api, contact_match=bool(self.context.options.get(CONTACT_MATCH)), batch=batch)
        if batch.entity in entity_organizations.NAMES:
            return organizations.push(self.api, options=self.context.options, mappings=self.context.mappings,
                                      batch=batch)
        return push.push(self.api, policy=self.context.existing_policy, mappings=self.context.mappings, batch=batch,
                         sobject=self.record_sobject, fields_of=self._fields_of)

    def plan(self, batch: Batch) -> list[Planned]:
        if batch.entity == DEALS:
            return plan.plan_deals(self.api, contact_match=bool(self.context.options.get(CONTACT_MATCH)), batch=batch)
        if batch.entity in entity_organizations.NAMES:
            return plan.plan_organizations(self.api, options=self.context.options, mappings=self.context.mappings,
                                           batch=batch, planned_orgs=self._planned_orgs)
        return plan.plan(self.api, policy=self.context.existing_policy, mappings=self.context.mappings, batch=batch,
                         sobject=self.record_sobject, fields_of=self._fields_of)

    def associate(self, related: list[Related]) -> None:
        return None  # a Lead holds its person and company itself

    def changes_since(self, entity: str, watermark_ms: int, properties: list[str]) -> Iterator[Change]:
        if entity == DEALS:
            return deals.changes(self.api, watermark_ms)
        if entity in entity_organizations.NAMES:
            return organizations.changes(self.api, entity, watermark_ms, properties, self._fields_of)
        return pull.changes(self.api, watermark_ms, properties, self._fields_of)

    @staticmethod
    def record_noun(crm_id: str | None) -> str:
        """A link points at a Lead (or a Contact) until the Lead converts, then at its Opportunity."""
        return push.sobject_of(crm_id)

    @staticmethod
    def link_url(url: str | None, crm_id: str | None) -> str | None:
        """The link's page once the link moved (a converted Lead's Opportunity), from the last one
        pushed: the pull does not log in just to say where the org lives."""
        if not url or not crm_id or crm_id in url or "/lightning/" not in url:
            return url
        return push.record_url(url.split("/lightning/", 1)[0], crm_id)

    def matching_candidates(self) -> list[AccountCandidate]:
        """Every Account flagged "Sync with Portal", for the matching wizard."""
        return accounts.flagged(self.api)

    def search_candidates(self, text: str, *, limit: int = 10) -> list[AccountCandidate]:
        """Flagged Accounts whose name contains `text` (the wizard's "Please select")."""
        return accounts.search(self.api, text, limit=limit)

    def record_url(self, crm_object: str, crm_id: str) -> str | None:
        return push.record_url(self.api.instance_url, crm_id)

    # ---- import (deal registrations from Opportunities) -----------------------------------------

    importable = {DEALS: "Opportunity"}

    def search_options(self, entity: str) -> dict[str, list[tuple[str, str]]]:
        """The values a search may filter on (the org's stages and users)."""
        return deals.search_options(self.api)

    def search(self, entity: str, filters: dict, options: dict | None = None) -> list:
        """CRM records to import as `entity` (filters: name, stage, owner, close_from, close_to).
        Raises ValueError for a stage or owner the org does not have."""
        return deals.search(self.api, options=options, **filters)

    def read(self, entity: str, crm_ids: list[str]) -> list:
        return deals.read(self.api, crm_ids)
