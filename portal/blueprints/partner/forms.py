from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length

from portal.web.forms import Form, SubmitOnce


class TeamInviteForm(SubmitOnce, Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    role = SelectField("Role", choices=[("partner_user", "Partner user"), ("partner_admin", "Partner administrator")])


class DeclineLeadForm(Form):
    reason = TextAreaField("Why are you declining?", validators=[DataRequired(), Length(max=2000)])


class SharingForm(Form):
    members_see_all_referrals = BooleanField("Partner users see all of our organization's referrals")


class LinkForm(SubmitOnce, Form):
    campaign = StringField("Campaign label", validators=[DataRequired(), Length(max=120)])


class LinkActiveForm(Form):
    active = SelectField("Active", choices=[("1", "Active"), ("0", "Deactivated")])


class ExtensionRequestForm(Form):
    reason = TextAreaField("Why does the deal need longer?", validators=[DataRequired(), Length(max=2000)])


class CloseLeadForm(Form):
    reason = TextAreaField("Why is there no business?", validators=[DataRequired(), Length(max=2000)])
