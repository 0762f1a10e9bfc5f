"""The deal registration form, built in one place from the deal custom fields and the distribution settings."""
from __future__ import annotations

from wtforms import BooleanField, DateField, DecimalField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional, Regexp

from portal import money
from portal.models import User
from portal.services import custom_fields, deals
from portal.services.deals import DealInput
from portal.web.forms import Form, SubmitOnce
from portal.web.referral_forms import _custom_field, plain_text


class DealForm(SubmitOnce, Form):
    customer_company = StringField("End customer company", validators=[DataRequired(), Length(max=200), plain_text])
    customer_domain = StringField("Company website", validators=[Optional(), Length(max=255), Regexp(
        r"^(https?://)?[A-Za-z0-9.-]+\.[A-Za-z]{2,}(/\S*)?$", message="Enter a website such as example.com.")])
    customer_country = StringField("Country (ISO code)", validators=[Optional(), Length(max=2), Regexp(
        r"^[A-Za-z]{2}$", message="Two letters, e.g. US.")])
    contact_name = StringField("Contact name", validators=[DataRequired(), Length(max=200), plain_text])
    contact_email = EmailField("Contact email", validators=[Optional(), Length(max=254),
                                                            Email(message="Enter a valid email address.")])
    contact_phone = StringField("Contact phone", validators=[Optional(), Length(max=40), Regexp(
        r"^[0-9+()./ \-]*$", message="Use digits, spaces and + ( ) - only.")])
    contact_title = StringField("Contact job title", validators=[Optional(), Length(max=120), plain_text])
    products = TextAreaField("Products / description", validators=[Optional(), Length(max=5000), plain_text])
    amount = DecimalField("Amount", places=2, validators=[DataRequired(), NumberRange(min=0.01, max=10**11)])
    currency = SelectField("Currency", choices=[(c, c) for c in money.CURRENCIES], default="USD")
    expected_close = DateField("Expected close date", validators=[Optional()])


def build_deal_form(user: User, **kwargs) -> Form:
    """A form for `user`: the deal custom fields, the distributor choice (with distribution on), and for
    a distributor allowed to, the partner it registers for and the partner user who owns the deal."""

    class Registration(DealForm):
        pass

    for definition in custom_fields.for_audience("partners", "deal"):
        setattr(Registration, definition.key, _custom_field(definition))
    partners = deals.on_behalf_partners(user)
    if partners:
        Registration.partner_org_id = SelectField(
            "Register for", coerce=int, default=0, choices=[(0, f"Ourselves ({user.organization.name})")] +
            [(p.id, p.name) for p in partners])
        Registration.owner_id = SelectField("Partner user who owns the deal", coerce=int, default=0,
                                            choices=[(0, "—")] + [(u.id, f"{u.name} ({p.name})") for p in partners
                                                                   for u in p.users if u.active])
    distributors = deals.distributor_choices(user.organization)
    if distributors:
        Registration.distributor_id = SelectField("Distributor you buy through", coerce=int, default=0,
                                                  choices=[(0, "— None —")] + [(d.id, d.name) for d in distributors])
        Registration.hidden_from_distributor = BooleanField("Hide this deal from the distributor")
    return Registration(**kwargs)


def custom_keys(form: Form) -> list[str]:
    return [name for name in form._fields if name.startswith("df_")]


def to_input(form: Form) -> DealInput:
    """The service's input from a validated form: plain values only."""
    return DealInput(customer_company=form.customer_company.data, customer_domain=form.customer_domain.data,
                     customer_country=form.customer_country.data, contact_name=form.contact_name.data,
                     contact_email=form.contact_email.data, contact_phone=form.contact_phone.data,
                     contact_title=form.contact_title.data, products=form.products.data, amount=form.amount.data,
                     currency=form.currency.data, expected_close=form.expected_close.data,
                     custom={key: form[key].data for key in custom_keys(form)})


def choice(form: Form, name: str) -> int | None:
    """The id a select field picked (None for the empty choice or an absent field); the service checks it."""
    field = form._fields.get(name)
    return field.data or None if field is not None else None
