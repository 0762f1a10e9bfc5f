from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp

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
