"""Forms of the integrations pages: a connection, its field mappings, a qualification rule."""
from __future__ import annotations

import wtforms
from wtforms import (BooleanField, DateField, FieldList, FormField, IntegerField, PasswordField, RadioField,
                     SelectField, SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.errors import DomainError
from portal.models.crm import ExistingPolicy, SyncTrigger
from portal.services import crm
from portal.web.forms import Form

PROVIDERS = [("hubspot", "HubSpot"), ("salesforce", "Salesforce")]
TRIGGERS = [(SyncTrigger.AUTO.value, "Automatic: push each referral when it is created or changes"),
            (SyncTrigger.MANUAL.value, "Manual: push only on “Sync now” and the full sync")]
POLICIES = [(ExistingPolicy.UPDATE.value, "Update the mapped fields"),
            (ExistingPolicy.FILL_EMPTY.value, "Fill only fields that are empty in the CRM"),
            (ExistingPolicy.LEAVE.value, "Leave the customer untouched (only link to it)")]
DIRECTIONS = [("push", "Push →"), ("pull", "← Pull"), ("both", "Both ways")]
BLANK_ROWS = 2      # empty mapping rows a page without JavaScript can fill in
BLANK_VALUES = 2    # empty value-map pairs under each picklist mapping


class ConnectionForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    provider = SelectField("CRM", choices=PROVIDERS, default="hubspot")
    base_url = StringField("API base URL", validators=[DataRequired(), Length(max=500)])
    token = PasswordField("Private-app access token", validators=[Optional(), Length(max=500)])
    webhook_secret = PasswordField("Webhook client secret", validators=[Optional(), Length(max=500)])
    sync_trigger = RadioField("When referrals are pushed", choices=TRIGGERS, default=SyncTrigger.AUTO.value)
    existing_policy = RadioField("A customer that already exists in the CRM", choices=POLICIES,
                                 default=ExistingPolicy.FILL_EMPTY.value)
    # Where the connector offers a choice (Salesforce: a Lead, or Referral Factory's "create a new Contact").
    referral_record = RadioField("A referral becomes", choices=[], validate_choice=False)
    active = BooleanField("Active (syncs run)", default=True)
    # Salesforce's connected app: the refresh-token flow, or the JWT bearer flow (username + key).
    client_id = StringField("Consumer key (client id)", validators=[Optional(), Length(max=255)])
    client_secret = PasswordField("Consumer secret", validators=[Optional(), Length(max=255)])
    refresh_token = PasswordField("Refresh token", validators=[Optional(), Length(max=500)])
    username = StringField("Username (JWT bearer flow)", validators=[Optional(), Length(max=255)])
    private_key = TextAreaField("Private key, PEM (JWT bearer flow)", validators=[Optional(), Length(max=10_000)])

    def name_crm(self, terms) -> "ConnectionForm":
        """Say the connection's CRM by its name ("... exists in Salesforce"), and offer its record choices."""
        self.existing_policy.label.text = f"A customer that already exists in {terms.label}"
        self.existing_policy.choices = [(value, text.replace("the CRM", terms.label)) for value, text in POLICIES]
        self.referral_record.choices = list(terms.record_choices)
        if not self.referral_record.data and terms.record_choices:
            self.referral_record.data = terms.record
        return self

    def credentials(self) -> dict:
        """The Salesforce credential fields as typed (blank: keep the stored ones)."""
        return {name: getattr(self, name).data or "" for name in
                ("client_id", "client_secret", "refresh_token", "username", "private_key")}


class ValuePairForm(wtforms.Form):
    portal_value = StringField("Portal value", validators=[Optional(), Length(max=100)])
    crm_value = StringField("CRM value", validators=[Optional(), Length(max=100)])


class MappingRowForm(wtforms.Form):
    """One mapping row. `crm_property` is "object.property" (e.g. "deal.dealstage"): the select groups the
    live property lists of the three objects, so the object and the property are chosen together."""

    crm_property = SelectField("CRM property", validate_choice=False)
    portal_field = SelectField("Portal field", validate_choice=False)
    direction = SelectField("Direction", choices=DIRECTIONS, default="push")
    default_value = StringField("Default value", validators=[Optional(), Length(max=255)])
    remove = BooleanField("Remove")
    values = FieldList(FormField(ValuePairForm), min_entries=0)

    @property
    def is_blank(self) -> bool:
        return not self.crm_property.data and not self.portal_field.data and not self.default_value.data

    def to_mapping(self) -> crm.Mapping:
        crm_object, _, crm_field = (self.crm_property.data or "").partition(".")
        value_map = {pair.portal_value.data.strip(): pair.crm_value.data.strip() for pair in self.values
                     if (pair.portal_value.data or "").strip() and (pair.crm_value.data or "").strip()}
        return crm.Mapping(crm_object or "deal", crm_field, self.portal_field.data or None,
                               self.direction.data or "push", (self.default_value.data or "").strip() or None,
                               value_map)


def mapping_row_data(m: crm.Mapping | None = None) -> dict:
    """A row's form data for a saved mapping (or a blank row), with blank value pairs to fill in."""
    if m is None:
        return {"values": [{}] * BLANK_VALUES}
    pairs = [{"portal_value": k, "crm_value": v} for k, v in (m.value_map or {}).items()]
    return {"crm_property": f"{m.crm_object}.{m.crm_field}", "portal_field": m.portal_field or "",
            "direction": m.direction, "default_value": m.default_value or "", "values": pairs + [{}] * BLANK_VALUES}


class MappingsForm(Form):
    rows = FieldList(FormField(MappingRowForm), min_entries=0)

    def mappings(self) -> list[crm.Mapping]:
        """The rows to save: blank and removed rows are left out (their form index is remembered)."""
        self._row_index = []
        result = []
        for index, row in enumerate(self.rows):
            if row.remove.data or row.is_blank:
                continue
            self._row_index.append(index)
            result.append(row.to_mapping())
        return result

    def attach(self, err: DomainError) -> None:
        """A mapping error shows next to its row; a missing required mapping above the table."""
        index = getattr(err, "index", None)
        if isinstance(err, crm.MappingError) and index is not None and index < len(getattr(self, "_row_index", [])):
            row = self.rows[self._row_index[index]]
            name = "crm_property" if err.field in ("crm_field", "crm_object") else err.field
            target = getattr(row, name or "", None) or row.crm_property
            target.errors = [*target.errors, err.message]
            self.form_errors.append("Some mappings need attention: see the rows marked below.")
            return
        super().attach(err)


class RuleForm(Form):
    trigger = RadioField("When", choices=[("stage", "the deal stage becomes one of"),
                                          ("property", "a deal property changes to one of")], default="stage")
    stages = SelectMultipleField("Deal stages", validate_choice=False, widget=ListWidget(prefix_label=False),
                                 option_widget=CheckboxInput())
    crm_property = SelectField("Deal property", validate_choice=False)
    contact_property = SelectField("Contact property", validate_choice=False)
    values = StringField("Property values (comma-separated)", validators=[Optional(), Length(max=500)])
    target_status = SelectField("Then the referral status becomes")

    def name_crm(self, terms) -> "RuleForm":
        """The rule kinds in the CRM's words (a Salesforce "Lead field", not a "deal property")."""
        record, noun = terms.record, terms.field
        self.trigger.choices = [("stage", f"the stage ({terms.stage_property}) becomes one of"),
                                ("property", f"a {record} {noun} changes to one of")]
        if terms.contact_rules:
            self.trigger.choices.append(("contact", f"a Contact {noun} changes from its first value to one of"))
        self.stages.label.text = f"Stages ({terms.stage_property})"
        self.crm_property.label.text = f"{record} {noun}"
        self.contact_property.label.text = f"Contact {noun}"
        return self

    def property_name(self) -> str | None:
        return self.contact_property.data if self.trigger.data == "contact" else self.crm_property.data

    def value_list(self) -> list[str]:
        if self.trigger.data == "stage":
            return list(self.stages.data or [])
        return [v.strip() for v in (self.values.data or "").split(",") if v.strip()]

    def attach(self, err: DomainError) -> None:
        if err.field == "values" and self.trigger.data == "stage":
            err = DomainError(err.message, field="stages")
        if err.field == "crm_property" and self.trigger.data == "contact":
            err = DomainError(err.message, field="contact_property")
        super().attach(err)


# ---- the organization matching wizard -------------------------------------------------------------

class MatchConfirmForm(Form):
    confirmed = BooleanField("I have set the sync flag and status on the matching Accounts")


class MatchMasterForm(Form):
    master = RadioField("Master of the initial sync", choices=[
        ("portal", "The portal: where both have a value, the portal's is written to Salesforce"),
        ("salesforce", "Salesforce: where both have a value, Salesforce's is written to the portal")])


class MatchDecisionForm(Form):
    """One organization's decision; `page` and `show` bring a person without JavaScript back to the
    page of the list they were on."""

    decision = SelectField("Decision", choices=[("link", "Link"), ("select", "Select"), ("create", "Create"),
                                                ("skip", "Do not sync")])
    crm_id = StringField("Account", validators=[Optional(), Length(max=40)])
    page = IntegerField("Page", default=1, validators=[Optional(), NumberRange(min=1, max=100_000)])
    show = SelectField("Show", choices=[("all", "All"), ("undecided", "Undecided"), ("decided", "Decided")],
                       default="all", validators=[Optional()])


class DealOptionsForm(Form):
    """Deal registrations on a connection that syncs them: the events that send one, the contact match."""
    deal_events = SelectMultipleField("Send a registration automatically when it is", choices=list(crm.DEAL_EVENTS),
                                      widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    contact_match = BooleanField("Opportunity on contact match: when the end customer's email belongs to exactly "
                                 "one Contact, create an Opportunity on that Contact's Account (with its contact "
                                 "role) instead of a Lead")


class ImportSearchForm(Form):
    """The Opportunity search (a GET form: it changes nothing, so it carries no CSRF token)."""

    class Meta:
        csrf = False

    name = StringField("Name contains", validators=[Optional(), Length(max=120)])
    stage = SelectField("Stage", choices=[("", "Any stage")], default="")
    owner = SelectField("Owner", choices=[("", "Anyone")], default="")
    close_from = DateField("Closing from", validators=[Optional()])
    close_to = DateField("Closing until", validators=[Optional()])


class ImportForm(Form):
    crm_ids = SelectMultipleField("Opportunities", validate_choice=False,
                                  validators=[DataRequired("Choose at least one Opportunity to import.")])
    partner_org_id = SelectField("Partner the registrations belong to", coerce=int, validate_choice=True,
                                 choices=[])

    def validate_crm_ids(self, field):
        if any(not (i.isalnum() and 15 <= len(i) <= 18) for i in field.data or []):
            raise wtforms.ValidationError("Choose Opportunities from the list.")


class OrgSyncForm(Form):
    """Organization sync's settings on a connection that has it: which kinds sync, who wins a
    conflict, and the record types of the Accounts and Contacts the portal creates."""
    kinds = SelectMultipleField("Organizations that sync", choices=[
        ("active_partner", "Active partners"), ("inactive_partner", "Inactive partners"),
        ("active_distributor", "Active distributors"), ("inactive_distributor", "Inactive distributors")],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    master = RadioField("A field changed on both sides since the last sync takes the value of",
                        choices=[("salesforce", "Salesforce"), ("portal", "the portal")], default="salesforce")
    record_types = BooleanField("Specify record types")
    account_partner = SelectField("Accounts created for partners", validate_choice=False)
    account_distributor = SelectField("Accounts created for distributors", validate_choice=False)
    contact_partner = SelectField("Contacts created for partners' users", validate_choice=False)
    contact_distributor = SelectField("Contacts created for distributors' users", validate_choice=False)

    SLOTS = ("account_partner", "account_distributor", "contact_partner", "contact_distributor")

    def record_type_ids(self) -> dict:
        return {slot: getattr(self, slot).data or "" for slot in self.SLOTS}
