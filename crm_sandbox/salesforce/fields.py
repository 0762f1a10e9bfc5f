"""The sObjects the sandbox serves and their fields (FACTS §2.8), incl. the portal's `__c` fields.

A field is required on create when createable, not nillable and not defaulted on create,
which is exactly how `describe` lets a client find out (FACTS §2.7).
"""
from __future__ import annotations

from dataclasses import dataclass, field

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
PARTNER_STATUSES = ["Prospect", "Onboarding", "Active", "Inactive"]


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


@dataclass(frozen=True)
class RecordType:
    id: str
    name: str
    developer_name: str
    default: bool = False


@dataclass
class SObject:
    name: str
    label: str
    fields: dict[str, Field] = field(default_factory=dict)
    record_types: list[RecordType] = field(default_factory=list)

    def field(self, name: str) -> Field | None:
        """Case-insensitive, as SOQL and the REST API treat field names."""
        return self.fields.get(name) or self._lower().get(name.lower())

    def _lower(self) -> dict[str, Field]:
        if not hasattr(self, "_lower_cache"):
            self._lower_cache = {k.lower(): v for k, v in self.fields.items()}
        return self._lower_cache

    @property
    def external_ids(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.external_id]


def _text(name, label, length=255, **kw) -> Field:
    return Field(name, kw.pop("type", "string"), label, length=length, **kw)


def _system(name: str) -> list[Field]:
    ro = dict(createable=False, updateable=False)
    return [
        Field("Id", "id", f"{name} ID", nillable=False, defaulted=True, length=18, **ro),
        Field("IsDeleted", "boolean", "Deleted", nillable=False, defaulted=True, **ro),
        Field("OwnerId", "reference", "Owner ID", nillable=False, defaulted=True,
              reference_to=("User",), length=18),
        Field("CreatedDate", "datetime", "Created Date", nillable=False, defaulted=True, **ro),
        Field("CreatedById", "reference", "Created By ID", nillable=False, defaulted=True,
              reference_to=("User",), length=18, **ro),
        Field("LastModifiedDate", "datetime", "Last Modified Date", nillable=False, defaulted=True, **ro),
        Field("LastModifiedById", "reference", "Last Modified By ID", nillable=False, defaulted=True,
              reference_to=("User",), length=18, **ro),
        Field("SystemModstamp", "datetime", "System Modstamp", nillable=False, defaulted=True, **ro),
    ]


def _portal(external: str, label: str) -> list[Field]:
    return [
        _text(external, label, 64, external_id=True, unique=True, custom=True),
        Field("Sync_with_Portal__c", "boolean", "Sync with Portal", nillable=False, defaulted=True,
              default_value="false", custom=True),
    ]


def _record_types(sobject: str, names: list[tuple[str, str]], first_number: int) -> list[RecordType]:
    types = [RecordType(ids.MASTER_RECORD_TYPE, "Master", "Master", default=not names)]
    for offset, (name, developer_name) in enumerate(names):
        types.append(RecordType(ids.fixed_id("RecordType", first_number + offset), name, developer_name,
                                default=offset == 0))
    return types


def _picklist(values, default: str | None = None) -> tuple:
    return tuple((v, v == default) for v in values)


def _build() -> dict[str, SObject]:
    ro = dict(createable=False, updateable=False)
    lead = SObject("Lead", "Lead", record_types=_record_types(
        "Lead", [("Partner Referral", "Partner_Referral"), ("Direct", "Direct")], 1))
    lead_fields = _system("Lead") + [
        _text("FirstName", "First Name", 40),
        _text("LastName", "Last Name", 80, nillable=False),
        # Nillable in the object reference, but required in orgs without person accounts [FACTS §2.8].
        _text("Company", "Company", 255, nillable=False),
        _text("Email", "Email", 80, type="email"),
        _text("Phone", "Phone", 40, type="phone"),
        _text("Title", "Title", 128),
        Field("Status", "picklist", "Status", nillable=False, defaulted=True, restricted=True,
              picklist=_picklist([s for s, _ in LEAD_STATUSES], "Open - Not Contacted"),
              default_value="Open - Not Contacted", length=255),
        Field("LeadSource", "picklist", "Lead Source", length=255, picklist=_picklist(
            ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"])),
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
        Field("RecordTypeId", "reference", "Record Type ID", defaulted=True,
              reference_to=("RecordType",), length=18),
    ] + _portal("Portal_Referral_Id__c", "Portal Referral ID")
    account = SObject("Account", "Account", record_types=_record_types(
        "Account", [("Partner", "Partner"), ("Customer", "Customer")], 11))
    account_fields = _system("Account") + [
        _text("Name", "Account Name", 255, nillable=False),
        _text("Website", "Website", 255, type="url"),
        _text("Phone", "Account Phone", 40, type="phone"),
        _text("Industry", "Industry", 255),
        Field("Type", "picklist", "Account Type", length=255, picklist=_picklist(
            ["Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller", "Other"])),
        _text("BillingCity", "Billing City", 40),
        _text("BillingCountry", "Billing Country", 80),
        _text("Description", "Account Description", 32000, type="textarea"),
        Field("Partner_Status__c", "picklist", "Partner Status", length=255, restricted=True,
              custom=True, picklist=_picklist(PARTNER_STATUSES)),
        Field("RecordTypeId", "reference", "Record Type ID", defaulted=True,
              reference_to=("RecordType",), length=18),
    ] + _portal("Portal_Account_Id__c", "Portal Account ID")
    contact = SObject("Contact", "Contact", record_types=_record_types("Contact", [], 0))
    contact_fields = _system("Contact") + [
        _text("FirstName", "First Name", 40),
        _text("LastName", "Last Name", 80, nillable=False),
        _text("Email", "Email", 80, type="email"),
        _text("Phone", "Business Phone", 40, type="phone"),
        _text("Title", "Title", 128),
        Field("AccountId", "reference", "Account ID", reference_to=("Account",), length=18),
        Field("LeadSource", "picklist", "Lead Source", length=255, picklist=_picklist(
            ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"])),
    ] + _portal("Portal_Contact_Id__c", "Portal Contact ID")
    opportunity = SObject("Opportunity", "Opportunity", record_types=_record_types(
        "Opportunity", [("Partner Deal", "Partner_Deal"), ("Direct Deal", "Direct_Deal")], 21))
    opportunity_fields = _system("Opportunity") + [
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
        Field("LeadSource", "picklist", "Lead Source", length=255, picklist=_picklist(
            ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"])),
        Field("Type", "picklist", "Opportunity Type", length=255, picklist=_picklist(
            ["Existing Customer - Upgrade", "Existing Customer - Replacement", "New Customer"])),
        _text("Description", "Description", 32000, type="textarea"),
        Field("RecordTypeId", "reference", "Record Type ID", defaulted=True,
              reference_to=("RecordType",), length=18),
    ] + _portal("Portal_Referral_Id__c", "Portal Referral ID")
    for sobject, fields_ in ((lead, lead_fields), (account, account_fields),
                             (contact, contact_fields), (opportunity, opportunity_fields)):
        sobject.fields = {f.name: f for f in fields_}
    return {s.name: s for s in (lead, account, contact, opportunity)}


SOBJECTS = _build()


def sobject(name: str) -> SObject | None:
    found = SOBJECTS.get(name)
    if found is None:
        found = next((s for s in SOBJECTS.values() if s.name.lower() == str(name).lower()), None)
    return found


def stage(name: str) -> tuple | None:
    return next((s for s in OPPORTUNITY_STAGES if s[0] == name), None)
