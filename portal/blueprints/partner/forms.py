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


class TeamMfaForm(Form):
    mfa_required = BooleanField("Every member of our organization signs in with two steps")


class LinkForm(SubmitOnce, Form):
    campaign = StringField("Campaign label", validators=[DataRequired(), Length(max=120)])


class LinkActiveForm(Form):
    active = SelectField("Active", choices=[("1", "Active"), ("0", "Deactivated")])


class ExtensionRequestForm(Form):
    reason = TextAreaField("Why does the deal need longer?", validators=[DataRequired(), Length(max=2000)])


class CloseLeadForm(Form):
    reason = TextAreaField("Why is there no business?", validators=[DataRequired(), Length(max=2000)])


class PayeeForm(Form):
    """Where the organization is paid; the saved details are never shown back whole."""

    method = SelectField("Paid by", choices=[("bank", "Bank transfer"), ("paypal", "PayPal")])
    account_name = StringField("Account holder", validators=[DataRequired(), Length(max=200)])
    iban = StringField("IBAN (bank transfer)", validators=[Length(max=40)])
    bic = StringField("BIC (bank transfer)", validators=[Length(max=11)])
    paypal_email = StringField("PayPal email (PayPal)", validators=[Length(max=254)])
    tax_id = StringField("Tax id (optional)", validators=[Length(max=60)])
