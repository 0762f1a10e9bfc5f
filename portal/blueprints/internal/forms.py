from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, DateField, DecimalField, EmailField, IntegerField, RadioField, SelectField,
                     SelectMultipleField, StringField, TextAreaField)
from wtforms.validators import (DataRequired, Email, InputRequired, Length, NumberRange, Optional, Regexp,
                                ValidationError)
from wtforms.widgets import CheckboxInput, ListWidget

from portal import money
from portal.web.forms import Form, LongSelect, SubmitOnce
from portal.models.accounts import TIERS
from portal.models.referrals import STAGE_LABELS
from portal.services import commissions, custom_fields, settings, statuses

KIND_CHOICES = [("partner", "Partner"), ("distributor", "Distributor")]
TIER_CHOICES = [("", "No tier")] + [(t, t.title()) for t in TIERS]


class OrganizationForm(SubmitOnce, Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    kind = SelectField("Kind", choices=KIND_CHOICES)
    tier = SelectField("Tier", choices=TIER_CHOICES)
    domain = StringField("Website domain", validators=[Optional(), Length(max=255),
                                                      Regexp(r"^[\w.:/-]+$", message="Enter a domain such as example.com.")])
    country = StringField("Country (ISO code)", validators=[Optional(), Length(min=2, max=2),
                                                            Regexp(r"^[A-Za-z]{2}$", message="Two letters, e.g. DE.")])


class InviteForm(SubmitOnce, Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    organization_id = SelectField("Organization", coerce=int)
    role = SelectField("Role")


class OrgStatusForm(Form):
    status = SelectField("Status", choices=[("active", "Active"), ("inactive", "Inactive")])


class AcceptForm(Form):
    owner_id = SelectField("Owner (direct sales)", coerce=int)


class RejectForm(Form):
    reason = TextAreaField("Reason (the partner sees it)", validators=[DataRequired(), Length(max=2000)])


class RouteForm(Form):
    reseller_id = SelectField("Reseller", coerce=int)
    respond_by = DateField("Respond by", validators=[Optional()])


class WonForm(Form):
    amount = DecimalField("Won amount", places=2, validators=[DataRequired(), NumberRange(min=0.01, max=10**11)])
    currency = SelectField("Currency", choices=[(c, c) for c in money.CURRENCIES])
    won_at = DateField("Won on", validators=[Optional()])


class LostForm(Form):
    reason = TextAreaField("Why was it lost?", validators=[DataRequired(), Length(max=2000)])


class CustomStatusForm(Form):
    status = SelectField("Move to")
    reason = StringField("Note", validators=[Optional(), Length(max=500)])


class QueueBulkForm(Form):
    """A review queue's bulk action on the ticked rows; the queue's search and page come along so the
    answer goes back to where the reviewer was. Subclasses name their checkboxes (IDS), the fields of
    the action bar (BAR) and what each action did (DONE)."""

    IDS: str
    BAR: tuple[str, ...]
    DONE: dict[str, str]
    LEGEND: str
    q = StringField("q", validators=[Optional()])
    page = IntegerField("page", validators=[Optional()])

    @property
    def ids(self) -> list[int]:
        return getattr(self, self.IDS).data or []

    def queue_args(self) -> dict:
        return {"q": self.q.data or None, "page": self.page.data or None}


class BulkForm(QueueBulkForm):
    """The referral review queue's bulk action; the view fills the resellers."""

    IDS, BAR = "referral_ids", ("action", "reason", "reseller_id", "respond_by")
    DONE = {"accept": "accepted", "reject": "rejected", "route": "sent to the reseller"}
    LEGEND = "Bulk action on the ticked referrals"
    # The rows' checkboxes; ids only (the form base bounds them), fetched through access.
    referral_ids = SelectMultipleField("Referrals", coerce=int, validate_choice=False)
    action = SelectField("With the selected", choices=[("accept", "Accept"), ("reject", "Reject"),
                                                       ("route", "Send to a reseller")])
    reason = StringField("Reason (for rejecting)", validators=[Optional(), Length(max=2000)])
    reseller_id = SelectField("Reseller (for sending)", coerce=int, validate_choice=False, widget=LongSelect())
    respond_by = DateField("Respond by", validators=[Optional()])

    def validate_reseller_id(self, field):
        if self.action.data == "route" and not field.data:
            raise ValidationError("Choose the reseller to send them to.")


# ---- settings (admins) -----------------------------------------------------------------------

def referral_form_settings_form(current: dict[str, dict], **kwargs) -> "Form":
    """Two checkboxes per standard referral field: shown, required (prefilled with `current`)."""

    class ReferralFormSettingsForm(Form):
        def choices(self) -> dict[str, dict]:
            return {name: {"shown": self[f"{name}_shown"].data, "required": self[f"{name}_required"].data}
                    for name in settings.STANDARD_FIELDS}

    data = {}
    for name, label in settings.STANDARD_FIELDS.items():
        setattr(ReferralFormSettingsForm, f"{name}_shown", BooleanField(f"Show {label}"))
        setattr(ReferralFormSettingsForm, f"{name}_required", BooleanField(f"Require {label}"))
        data[f"{name}_shown"] = current[name]["shown"]
        data[f"{name}_required"] = current[name]["required"]
    return ReferralFormSettingsForm(data=data, **kwargs)


class CustomFieldForm(SubmitOnce, Form):
    label = StringField("Name", validators=[DataRequired(), Length(max=80)])
    kind = SelectField("Type", choices=list(custom_fields.KINDS.items()))
    options = TextAreaField("Options (single select: one per line)", validators=[Optional(), Length(max=5000)])
    scope = SelectField("On the form of", default="referral", choices=list(custom_fields.SCOPES.items()))
    audience = SelectField("Who is asked", choices=list(custom_fields.AUDIENCES.items()), default="partners")
    required = BooleanField("Required on the forms that ask it")

    def option_list(self) -> list[str]:
        return (self.options.data or "").splitlines()


class CustomFieldActiveForm(Form):
    active = SelectField("Active", choices=[("1", "On the form"), ("0", "Deactivated")])


class StatusRenameForm(Form):
    label = StringField("Name", validators=[DataRequired(), Length(max=80)])


class CustomStatusAddForm(SubmitOnce, Form):
    label = StringField("Name", validators=[DataRequired(), Length(max=80)])
    stage = SelectField("Means", choices=[(s.value, STAGE_LABELS[s]) for s in statuses.stages_with_steps()])


class DuplicatesForm(Form):
    policy = RadioField("When a referral may be a duplicate", choices=list(settings.DUPLICATE_POLICIES.items()))
    window_days = IntegerField("Look back (days)", validators=[InputRequired(), NumberRange(min=1, max=3650)])


class PartnerProgramForm(Form):
    offer_in_confirmation = BooleanField("Offer the partner program page in the confirmation mail of a prospect "
                                         "who used a partner's referral form")


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class VisibilityForm(Form):
    lead_deal_fields = CheckboxesField("Referral partners see", choices=list(settings.LEAD_DEAL_FIELDS.items()))
    respond_within_days = IntegerField("Resellers answer a lead within (days)",
                                       validators=[InputRequired(), NumberRange(min=1, max=90)])


# ---- commission plans (admins, managers) -----------------------------------------------------

class CommissionPlanForm(SubmitOnce, Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    kind = RadioField("Kind", default="percent", choices=[("flat", "Flat amount per won referral"),
                                                          ("percent", "Percentage of the won amount")])
    flat_amount = DecimalField("Flat amount", places=2, validators=[Optional(), NumberRange(min=0.01, max=10**11)])
    percent = DecimalField("Percentage", places=3, validators=[Optional(), NumberRange(min=0.001, max=100)])
    cap_amount = DecimalField("Cap (optional)", places=2, validators=[Optional(), NumberRange(min=0.01, max=10**11)])
    currency = SelectField("Currency", choices=[(c, c) for c in money.CURRENCIES], default="USD")
    tier = SelectField("Applies to the tier", choices=[("", "— Not a tier plan —")] + [(t, t.title()) for t in TIERS])
    organization_id = SelectField("Or to one organization (override)", coerce=int)
    audience = RadioField("Whom it pays", default="referral",
                          choices=[("referral", "The referrer of a won referral"),
                                   ("reseller", "The reseller of a won deal registration")])

    def set_organizations(self, organizations) -> None:
        self.organization_id.choices = [(0, "— No single organization —")] + [
            (o.id, f"{o.name} ({(o.tier or 'no tier').title()})") for o in organizations]


class ExchangeRateForm(SubmitOnce, Form):
    base_currency = SelectField("One unit of", choices=[(c, c) for c in money.CURRENCIES], default="EUR")
    quote_currency = SelectField("is worth, in", choices=[(c, c) for c in money.CURRENCIES], default="USD")
    rate = DecimalField("Rate", places=8, validators=[InputRequired(), NumberRange(min=0.00000001, max=10**9)])
    valid_on = DateField("Valid from", validators=[InputRequired()])


class CurrencyPolicyForm(Form):
    foreign_currency = RadioField("A percentage of a deal won in another currency than the plan's",
                                  choices=list(commissions.FOREIGN_CURRENCY_POLICIES.items()))


class HeldCommissionForm(Form):
    rate = DecimalField("Rate", places=8, validators=[InputRequired(), NumberRange(min=0.00000001, max=10**9)])
    rate_date = DateField("Date of the rate", validators=[InputRequired()])


class BrandingForm(Form):
    """The public referral pages' branding (services/branding.py checks colour and window)."""

    vendor_name = StringField("Company name shown", validators=[Optional(), Length(max=120)])
    primary_color = StringField("Main colour", validators=[DataRequired(), Length(max=7)])
    headline = StringField("Headline", validators=[DataRequired(), Length(max=160)])
    intro = TextAreaField("Introduction", validators=[Optional(), Length(max=2000)])
    privacy_text = TextAreaField("Privacy note", validators=[Optional(), Length(max=2000)])
    attribution_days = IntegerField("Attribution window (days)", validators=[InputRequired(), NumberRange(min=1, max=365)])


class LogoForm(Form):
    """A logo file; what it is and whether it may be shown is services/logos.py's to decide."""

    logo = FileField("Logo file", validators=[FileRequired("Choose an image file to upload.")])


class LogoRemoveForm(Form):
    """Remove the logo: the CSRF token only."""


# ---- deal registrations ----------------------------------------------------------------------

class DealApproveForm(Form):
    owner_id = SelectField("Vendor owner", coerce=int)
    expires_on = DateField("Protected until", validators=[Optional()])


class DealWonForm(Form):
    amount = DecimalField("Won amount", places=2, validators=[DataRequired(), NumberRange(min=0.01, max=10**11)])
    currency = SelectField("Currency", choices=[(c, c) for c in money.CURRENCIES])
    won_at = DateField("Won on", validators=[Optional()])


class ExtensionGrantForm(Form):
    expires_on = DateField("New end of the protection", validators=[DataRequired()])


class ExtensionRefuseForm(Form):
    reason = StringField("Reason (the partner sees it)", validators=[Optional(), Length(max=2000)])


class DealBulkForm(QueueBulkForm):
    """The deal registration queue's bulk action; its status and conflict filters come along too."""

    IDS, BAR = "deal_ids", ("action", "reason")
    DONE = {"pre_approve": "pre-approved", "approve": "approved", "reject": "rejected"}
    LEGEND = "Bulk action on the ticked registrations"
    # The rows' checkboxes; ids only (the form base bounds them), fetched through access.
    deal_ids = SelectMultipleField("Registrations", coerce=int, validate_choice=False)
    action = SelectField("With the selected", choices=[("pre_approve", "Pre-approve"), ("approve", "Approve"),
                                                       ("reject", "Reject")])
    reason = StringField("Reason (for rejecting)", validators=[Optional(), Length(max=2000)])
    status = StringField("status", validators=[Optional(), Length(max=20)])
    flagged = StringField("flagged", validators=[Optional(), Length(max=1)])

    def queue_args(self) -> dict:
        return {**super().queue_args(), "status": self.status.data or None, "flagged": self.flagged.data or None}


class DealSettingsForm(Form):
    protection_days = IntegerField("An approved registration protects the partner for (days)",
                                   validators=[InputRequired(), NumberRange(min=1, max=730)])
    warn_days_before = IntegerField("Warn the partner this many days before it ends",
                                    validators=[InputRequired(), NumberRange(min=0, max=729)])
    conflict_policy = RadioField("When the customer is already registered or referred",
                                 choices=list(settings.DUPLICATE_POLICIES.items()))
    distribution_enabled = BooleanField("Two-tier distribution: partners name the distributor they buy through")
    distribution_choice = RadioField("Partners may pick", choices=list(settings.DISTRIBUTOR_CHOICES.items()))
    distribution_required = BooleanField("Naming a distributor is required")
    distribution_allow_hide = BooleanField("Partners may hide a deal from its distributor")
    distribution_on_behalf = RadioField("Distributors register deals on behalf of partners",
                                        choices=list(settings.ON_BEHALF_CHOICES.items()))


class LeadRuleForm(SubmitOnce, Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    countries = StringField("Referrals from these countries (codes, comma-separated; empty: any)",
                            validators=[Optional(), Length(max=300)])
    field_key = SelectField("And whose field", validate_choice=False)
    field_values = StringField("Has one of these values (comma-separated)", validators=[Optional(), Length(max=500)])
    tiers = CheckboxesField("Go in turn to active partners of the tiers", choices=[(t, t.title()) for t in TIERS])
    partner_countries = StringField("In these countries (codes, comma-separated; empty: any)",
                                    validators=[Optional(), Length(max=300)])

    @staticmethod
    def split(value: str | None) -> list[str]:
        return [part.strip() for part in (value or "").split(",") if part.strip()]


class LeadHandlingForm(Form):
    reminder_hours = IntegerField("Remind the reseller this many hours before the respond-by date (0: never)",
                                  validators=[InputRequired(), NumberRange(min=0, max=720)])
    auto_reassign = BooleanField("A declined or expired lead goes to the next reseller of its rule by itself")


class DistributorsForm(Form):
    # The service checks the ids against the distributors; the form parses and bounds them.
    distributor_ids = CheckboxesField("Buys through", coerce=int, choices=[], validate_choice=False)


class PayoutSelectForm(Form):
    """What goes into a new payout batch: one currency, some or all partners, a minimum per partner."""

    currency = SelectField("Currency", choices=[(c, c) for c in money.CURRENCIES])
    partner_ids = SelectMultipleField("Partners (none chosen: all)", coerce=int, validators=[Optional()])
    minimum = DecimalField("Minimum per partner", places=2, validators=[Optional(), NumberRange(min=0)])


class PayoutPaidForm(Form):
    reference = StringField("Payment reference", validators=[DataRequired("Enter the payment reference."),
                                                              Length(max=120)])


class ApplicationDecisionForm(Form):
    """Approve (no reason) or reject (with the reason the applicant is mailed) a partner application."""

    reason = TextAreaField("Reason for the applicant", validators=[Length(max=2000)])
