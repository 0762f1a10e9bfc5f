from wtforms import DateField, DecimalField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp

from portal import money

from portal.forms import Form
from portal.models.accounts import TIERS

KIND_CHOICES = [("partner", "Partner"), ("distributor", "Distributor")]
TIER_CHOICES = [("", "No tier")] + [(t, t.title()) for t in TIERS]


class OrganizationForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    kind = SelectField("Kind", choices=KIND_CHOICES)
    tier = SelectField("Tier", choices=TIER_CHOICES)
    domain = StringField("Website domain", validators=[Optional(), Length(max=255),
                                                      Regexp(r"^[\w.:/-]+$", message="Enter a domain such as example.com.")])
    country = StringField("Country (ISO code)", validators=[Optional(), Length(min=2, max=2),
                                                            Regexp(r"^[A-Za-z]{2}$", message="Two letters, e.g. DE.")])


class InviteForm(Form):
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


class BulkForm(Form):
    action = SelectField("Action", choices=[("accept", "Accept"), ("reject", "Reject")])
    reason = TextAreaField("Reason (for rejecting)", validators=[Optional(), Length(max=2000)])
