"""The sObjects the sandbox serves and their fields (FACTS §2.8), incl. the portal's `__c` fields.

A field is required on create when createable, not nillable and not defaulted on create,
which is exactly how `describe` lets a client find out (FACTS §2.7).

Salesforce's REST API cannot create custom fields, so an org either has the fields the portal's
integration needs or lacks them. Each sandbox process has a *schema*: the full one below minus
the `missing` fields and picklist values of its configuration (SANDBOX_SALESFORCE_MISSING_FIELDS
or `POST /_admin/schema`), so "Test connection" can be tested against an org that lacks some.
Setup objects (RecordType, LeadStatus, User, OpportunityStage, Organization) are read-only and
generated from the same schema, never stored.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from crm_sandbox import runtime
from crm_sandbox.salesforce import ids

LEAD_STATUSES = [("Open - Not Contacted", False), ("Working - Contacted", False),
                 ("Closed - Converted", True), ("Closed - Not Converted", False)]
CONVERTED_STATUS = "Closed - Converted"
# (stage, probability, closed, won, forecast category)
OPPORTUNITY_STAGES = [
    ("Prospecting", 10, False, False, "Pipeline"), ("Qualification", 10, False, False, "Pipeline"),
    ("Needs Analysis", 20, False, False, "Pipeline"), ("Value Proposition", 50, False, False, "Pipeline"),
    ("Id. Decision Makers", 60, False, False, "Pipeline"),
    ("Perception Analysis", 70, False, False, "Pipeline"),
    ("Proposal/Price Quote", 75, False, False, "Pipeline"),
    ("Negotiation/Review", 90, False, False, "Commit"),
    ("Closed Won", 100, True, True, "Closed"), ("Closed Lost", 0, True, False, "Omitted"),
]
OPPORTUNITY_CONTACT_ROLES = ["Business User", "Decision Maker", "Economic Buyer", "Economic Decision Maker",
                             "Evaluator", "Executive Sponsor", "Influencer", "Technical Buyer", "Other"]
# Issue #14: the Account picklist the organization sync reads and writes.
PARTNER_STATUSES = ["Active Partner", "Inactive Partner", "Active Distributor", "Inactive Distributor"]
# The org's users (queryable as User; every record's OwnerId is one of them).
USERS = [(1, "Sandbox", "Admin", "sandbox@crm-sandbox.example", True),
         (2, "Sam", "Seller", "sam.seller@crm-sandbox.example", True),
         (3, "Pat", "Partner-Manager", "pat.manager@crm-sandbox.example", True),
         (4, "Old", "Employee", "old.employee@crm-sandbox.example", False)]
ORGANIZATION_NAME = "CRM Sandbox Org"
SETUP_OBJECTS = ("RecordType", "LeadStatus", "User", "OpportunityStage", "Organization")


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    label: str
    createable: bool = True
    updateable: bool = True
    nillable: bool = True
    defaulted: bool = False
    picklist: tuple = ()
    default_value: str | None = None
    restricted: bool = False
    external_id: bool = False
    unique: bool = False
    reference_to: tuple = ()
    length: int = 0
    custom: bool = False

    @property
    def required(self) -> bool:
        return self.createable and not self.nillable and not self.defaulted

    @property
    def relationship_name(self) -> str | None:
        """AccountId → Account, OwnerId → Owner, Partner__c → Partner__r (SOQL and writes)."""
        if self.type != "reference":
            return None
        if self.name.endswith("__c"):
            return self.name[:-3] + "__r"
        return self.name[:-2] if self.name.endswith("Id") else None


@dataclass(frozen=True)
class RecordType:
    id: str
    name: str
    developer_name: str
    default: bool = False


@dataclass(frozen=True)
class Child:
    """A child relationship: `SELECT (SELECT Id FROM Contacts) FROM Account`."""
    name: str        # Contacts
    sobject: str     # Contact
    field: str       # AccountId


@dataclass
class SObject:
    name: str
    label: str
    fields: dict[str, Field] = field(default_factory=dict)
    record_types: list[RecordType] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)
    setup: bool = False
    label_plural: str = ""

    def field(self, name: str) -> Field | None:
        """Case-insensitive, as SOQL and the REST API treat field names."""
        return self.fields.get(name) or self._lower().get(str(name).lower())

    def relationship(self, name: str) -> Field | None:
        """The reference field behind a relationship name (case-insensitive)."""
        wanted = str(name).lower()
        return next((f for f in self.fields.values()
                     if f.relationship_name and f.relationship_name.lower() == wanted), None)

    def child(self, name: str) -> Child | None:
        return next((c for c in self.children if c.name.lower() == str(name).lower()), None)

    def _lower(self) -> dict[str, Field]:
        if not hasattr(self, "_lower_cache"):
            self._lower_cache = {k.lower(): v for k, v in self.fields.items()}
        return self._lower_cache

    @property
    def external_ids(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.external_id]

    @property
    def plural(self) -> str:
        return self.label_plural or self.label + "s"


def _text(name, label, length=255, **kw) -> Field:
    return Field(name, kw.pop("type", "string"), label, length=length, **kw)


def _system(name: str, *, owned: bool = True) -> list[Field]:
    ro = dict(createable=False, updateable=False)
    owner = [Field("OwnerId", "reference", "Owner ID", nillable=False, defaulted=True,
                   reference_to=("User",), length=18)] if owned else []
    return [
        Field("Id", "id", f"{name} ID", nillable=False, defaulted=True, length=18, **ro),
        Field("IsDeleted", "boolean", "Deleted", nillable=False, defaulted=True, **ro),
        *owner,
        Field("CreatedDate", "datetime", "Created Date", nillable=False, defaulted=True, **ro),
        Field("CreatedById", "reference", "Created By ID", nillable=False, defaulted=True,
              reference_to=("User",), length=18, **ro),
        Field("LastModifiedDate", "datetime", "Last Modified Date", nillable=False, defaulted=True, **ro),
        Field("LastModifiedById", "reference", "Last Modified By ID", nillable=False, defaulted=True,
              reference_to=("User",), length=18, **ro),
        Field("SystemModstamp", "datetime", "System Modstamp", nillable=False, defaulted=True, **ro),
    ]


def _referrer_fields() -> list[Field]:
    """The fields an admin adds for Referral Factory's "attach information about the person referring"
    (on Lead and Contact; the conversion carries them over, as for every same-named custom field)."""
    return [_text("Referrer_Name__c", "Referrer Name", 255, custom=True),
            _text("Referrer_Email__c", "Referrer Email", 80, type="email", custom=True),
            _text("Referral_Link__c", "Referral Link", 255, type="url", custom=True),
            _text("Referral_Campaign__c", "Referral Campaign", 120, custom=True)]


def _checkbox(name: str, label: str) -> Field:
    return Field(name, "boolean", label, nillable=False, defaulted=True, default_value="false", custom=True)


def _external(name: str, label: str) -> Field:
    return _text(name, label, 64, external_id=True, unique=True, custom=True)


def _record_types(names: list[tuple[str, str]], first_number: int) -> list[RecordType]:
    types = [RecordType(ids.MASTER_RECORD_TYPE, "Master", "Master", default=not names)]
    for offset, (name, developer_name) in enumerate(names):
        types.append(RecordType(ids.fixed_id("RecordType", first_number + offset), name, developer_name,
                                default=offset == 0))
    return types


def _record_type_field() -> Field:
    return Field("RecordTypeId", "reference", "Record Type ID", defaulted=True,
                 reference_to=("RecordType",), length=18)


def _picklist(values, default: str | None = None) -> tuple:
    return tuple((v, v == default) for v in values)


_LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]


def _data_objects() -> list[SObject]:
    ro = dict(createable=False, updateable=False)
    lead = SObject("Lead", "Lead", record_types=_record_types(
        [("Partner Referral", "Partner_Referral"), ("Direct", "Direct")], 1))
    lead.fields = _system("Lead") + [
        _text("FirstName", "First Name", 40),
        _text("LastName", "Last Name", 80, nillable=False),
        # Nillable in the object reference, but required in orgs without person accounts [FACTS §2.8].
        _text("Company", "Company", 255, nillable=False),
        _text("Email", "Email", 80, type="email"),
        _text("Phone", "Phone", 40, type="phone"),
        _text("Title", "Title", 128),
        _text("MobilePhone", "Mobile Phone", 40, type="phone"),
        _text("Website", "Website", 255, type="url"),
        _text("City", "City", 40),
        _text("State", "State/Province", 80),
        _text("Country", "Country", 80),
        Field("Status", "picklist", "Status", nillable=False, defaulted=True, restricted=True,
              picklist=_picklist([s for s, _ in LEAD_STATUSES], "Open - Not Contacted"),
              default_value="Open - Not Contacted", length=255),
        Field("LeadSource", "picklist", "Lead Source", length=255, picklist=_picklist(_LEAD_SOURCES)),
        _text("Industry", "Industry", 255),
        _text("Description", "Description", 32000, type="textarea"),
        Field("NumberOfEmployees", "int", "Employees"),
        Field("AnnualRevenue", "currency", "Annual Revenue"),
        Field("IsConverted", "boolean", "Converted", nillable=False, defaulted=True, updateable=False,
              default_value="false"),
        Field("ConvertedDate", "date", "Converted Date", **ro),
        Field("ConvertedAccountId", "reference", "Converted Account ID", reference_to=("Account",),
              length=18, **ro),
        Field("ConvertedContactId", "reference", "Converted Contact ID", reference_to=("Contact",),
              length=18, **ro),
        Field("ConvertedOpportunityId", "reference", "Converted Opportunity ID",
              reference_to=("Opportunity",), length=18, **ro),
        _record_type_field(),
        _external("Portal_Referral_Id__c", "Portal Referral ID"),
        _external("Portal_Deal_Id__c", "Portal Deal ID"),
        _checkbox("Sync_with_Portal__c", "Sync with Portal"),
        *_referrer_fields(),
    ]
    account = SObject("Account", "Account", record_types=_record_types(
        [("Customer", "Customer"), ("Partner", "Partner"), ("Distributor", "Distributor")], 11),
        children=[Child("Contacts", "Contact", "AccountId"),
                  Child("Opportunities", "Opportunity", "AccountId")])
    account.fields = _system("Account") + [
        _text("Name", "Account Name", 255, nillable=False),
        _text("Website", "Website", 255, type="url"),
        _text("Phone", "Account Phone", 40, type="phone"),
        _text("Industry", "Industry", 255),
        Field("Type", "picklist", "Account Type", length=255, picklist=_picklist(
            ["Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller", "Other"])),
        Field("NumberOfEmployees", "int", "Employees"),
        _text("BillingCity", "Billing City", 40),
        _text("BillingCountry", "Billing Country", 80),
        _text("Description", "Account Description", 32000, type="textarea"),
        _record_type_field(),
        _external("Portal_Org_Id__c", "Portal Organization ID"),
        _checkbox("Sync_with_Portal__c", "Sync with Portal"),
        Field("Portal_Partner_Status__c", "picklist", "Portal Partner Status", length=255,
              restricted=True, custom=True, picklist=_picklist(PARTNER_STATUSES)),
    ]
    contact = SObject("Contact", "Contact", record_types=_record_types(
        [("Partner Contact", "Partner_Contact"), ("Distributor Contact", "Distributor_Contact")], 31),
        children=[Child("OpportunityContactRoles", "OpportunityContactRole", "ContactId")])
    contact.fields = _system("Contact") + [
        _text("FirstName", "First Name", 40),
        _text("LastName", "Last Name", 80, nillable=False),
        _text("Email", "Email", 80, type="email"),
        _text("Phone", "Business Phone", 40, type="phone"),
        _text("Title", "Title", 128),
        _text("MobilePhone", "Mobile Phone", 40, type="phone"),
        _text("MailingCity", "Mailing City", 40),
        _text("MailingCountry", "Mailing Country", 80),
        Field("AccountId", "reference", "Account ID", reference_to=("Account",), length=18),
        Field("LeadSource", "picklist", "Lead Source", length=255, picklist=_picklist(_LEAD_SOURCES)),
        _record_type_field(),
        _external("Portal_Referral_Id__c", "Portal Referral ID"),
        _external("Portal_Deal_Id__c", "Portal Deal ID"),
        _external("Portal_User_Id__c", "Portal User ID"),
        _checkbox("Sync_with_Portal__c", "Sync with Portal"),
        _checkbox("Portal_Active__c", "Portal Active"),
        *_referrer_fields(),
    ]
    opportunity = SObject("Opportunity", "Opportunity", label_plural="Opportunities",
                          record_types=_record_types(
                              [("Partner Deal", "Partner_Deal"), ("Direct Deal", "Direct_Deal")], 21),
                          children=[Child("OpportunityContactRoles", "OpportunityContactRole", "OpportunityId")])
    opportunity.fields = _system("Opportunity") + [
        _text("Name", "Name", 120, nillable=False),
        Field("StageName", "picklist", "Stage", nillable=False, restricted=True, length=255,
              picklist=_picklist([s[0] for s in OPPORTUNITY_STAGES])),
        Field("CloseDate", "date", "Close Date", nillable=False),
        Field("Amount", "currency", "Amount"),
        Field("Probability", "percent", "Probability (%)", defaulted=True),
        Field("AccountId", "reference", "Account ID", reference_to=("Account",), length=18),
        Field("IsClosed", "boolean", "Closed", nillable=False, defaulted=True, **ro),
        Field("IsWon", "boolean", "Won", nillable=False, defaulted=True, **ro),
        Field("ForecastCategoryName", "picklist", "Forecast Category", defaulted=True, length=255,
              picklist=_picklist(["Omitted", "Pipeline", "BestCase", "Commit", "Closed"])),
        Field("LeadSource", "picklist", "Lead Source", length=255, picklist=_picklist(_LEAD_SOURCES)),
        Field("Type", "picklist", "Opportunity Type", length=255, picklist=_picklist(
            ["Existing Customer - Upgrade", "Existing Customer - Replacement", "New Customer"])),
        _text("Description", "Description", 32000, type="textarea"),
        _record_type_field(),
        _external("Portal_Referral_Id__c", "Portal Referral ID"),
        _external("Portal_Deal_Id__c", "Portal Deal ID"),
        _checkbox("Sync_with_Portal__c", "Sync with Portal"),
    ]
    # The contact's role on an opportunity (how "that Contact's open Opportunity" is found, and
    # what "create the Opportunity with the contact role" writes).
    role = SObject("OpportunityContactRole", "Opportunity Contact Role", record_types=_record_types([], 0))
    role.fields = _system("Opportunity Contact Role", owned=False) + [
        Field("OpportunityId", "reference", "Opportunity ID", nillable=False, updateable=False,
              reference_to=("Opportunity",), length=18),
        Field("ContactId", "reference", "Contact ID", nillable=False, reference_to=("Contact",), length=18),
        Field("Role", "picklist", "Role", length=255, picklist=_picklist(OPPORTUNITY_CONTACT_ROLES)),
        Field("IsPrimary", "boolean", "Primary", nillable=False, defaulted=True, default_value="false"),
    ]
    for sobject in (lead, account, contact, opportunity, role):
        sobject.fields = {f.name: f for f in sobject.fields}
    return [lead, account, contact, opportunity, role]


def _setup_objects() -> list[SObject]:
    ro = dict(createable=False, updateable=False)

    def base(label: str) -> list[Field]:
        return [Field("Id", "id", f"{label} ID", nillable=False, defaulted=True, length=18, **ro),
                Field("SystemModstamp", "datetime", "System Modstamp", nillable=False, defaulted=True, **ro)]

    def text(name, label, length=255):
        return _text(name, label, length, **ro)

    def flag(name, label):
        return Field(name, "boolean", label, nillable=False, defaulted=True, **ro)

    record_type = SObject("RecordType", "Record Type", setup=True)
    record_type.fields = base("Record Type") + [
        text("Name", "Record Type Name", 80), text("DeveloperName", "Record Type Name", 80),
        text("SobjectType", "SObject Type Name", 40), text("Description", "Description"),
        flag("IsActive", "Active")]
    lead_status = SObject("LeadStatus", "Lead Status Value", setup=True)
    lead_status.fields = base("Lead Status Value") + [
        text("MasterLabel", "Master Label"), text("ApiName", "Api Name"),
        Field("SortOrder", "int", "Sort Order", **ro), flag("IsDefault", "Is Default"),
        flag("IsConverted", "Is Converted")]
    user = SObject("User", "User", setup=True)
    user.fields = base("User") + [
        text("Username", "Username", 80), text("Name", "Full Name", 121), text("FirstName", "First Name", 40),
        text("LastName", "Last Name", 80), _text("Email", "Email", 128, type="email", **ro),
        flag("IsActive", "Active")]
    stage = SObject("OpportunityStage", "Opportunity Stage", setup=True)
    stage.fields = base("Opportunity Stage") + [
        text("MasterLabel", "Master Label"), text("ApiName", "Api Name"),
        Field("SortOrder", "int", "Sort Order", **ro), flag("IsActive", "Is Active"),
        flag("IsClosed", "Is Closed"), flag("IsWon", "Is Won"),
        Field("DefaultProbability", "percent", "Probability (%)", **ro),
        text("ForecastCategoryName", "Forecast Category")]
    organization = SObject("Organization", "Organization", setup=True)
    organization.fields = base("Organization") + [
        text("Name", "Name", 80), text("OrganizationType", "Edition", 40),
        flag("IsSandbox", "Is Sandbox"), text("InstanceName", "Instance Name", 5)]
    for sobject in (record_type, lead_status, user, stage, organization):
        sobject.fields = {f.name: f for f in sobject.fields}
    return [record_type, lead_status, user, stage, organization]


@dataclass(frozen=True)
class SchemaOptions:
    """What a sandbox's org lacks or configures differently from the full schema."""
    missing: frozenset = frozenset()      # {"Lead.Portal_Referral_Id__c", "Account.Portal_Partner_Status__c=Active Distributor"}
    not_unique: frozenset = frozenset()   # {"Contact.Portal_User_Id__c"}: external id, not unique

    @classmethod
    def parse(cls, missing, not_unique) -> "SchemaOptions":
        def entries(value) -> frozenset:
            if value is None:
                return frozenset()
            if isinstance(value, str):
                value = value.split(",")
            if not isinstance(value, (list, tuple, set, frozenset)):
                raise ValueError("expected a list of 'Object.Field' (or 'Object.Field=Value') entries")
            found = set()
            data = {s.name: s for s in _data_objects()}
            for item in value:
                text = str(item).strip()
                if not text:
                    continue
                name = text.split("=", 1)[0]
                sobject, _, field_name = name.partition(".")
                if sobject not in data or field_name not in data[sobject].fields:
                    raise ValueError(f"unknown field {name!r}: expected Object.Field of "
                                     f"{sorted(data)} (custom fields end in __c)")
                found.add(text)
            return frozenset(found)
        return cls(entries(missing), entries(not_unique))

    def as_json(self) -> dict:
        return {"missing": sorted(self.missing), "not_unique": sorted(self.not_unique)}


_CACHE: dict[SchemaOptions, dict[str, SObject]] = {}


def build(options: SchemaOptions) -> dict[str, SObject]:
    """The org's sObjects under these options (cached: schemas are immutable)."""
    cached = _CACHE.get(options)
    if cached is not None:
        return cached
    result = {}
    for sobject in _data_objects():
        kept = {}
        for name, definition in sobject.fields.items():
            key = f"{sobject.name}.{name}"
            if key in options.missing:
                continue
            dropped = {e.split("=", 1)[1] for e in options.missing if e.startswith(key + "=")}
            if dropped:
                definition = replace(definition, picklist=tuple(
                    (v, d) for v, d in definition.picklist if v not in dropped))
            if key in options.not_unique:
                definition = replace(definition, unique=False)
            kept[name] = definition
        sobject.fields = kept
        result[sobject.name] = sobject
    for sobject in _setup_objects():
        result[sobject.name] = sobject
    _CACHE[options] = result
    return result


def schema() -> dict[str, SObject]:
    """The current sandbox's sObjects (inside a request of a sandbox app)."""
    return build(runtime.crm("salesforce").extras.get("schema") or SchemaOptions())


def sobject(name: str) -> SObject | None:
    objects = schema()
    found = objects.get(name)
    if found is None:
        found = next((s for s in objects.values() if s.name.lower() == str(name).lower()), None)
    return found


def stage(name: str) -> tuple | None:
    return next((s for s in OPPORTUNITY_STAGES if s[0] == name), None)
