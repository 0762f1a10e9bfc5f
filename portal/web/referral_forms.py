"""The referral form, built in one place from the admins' field settings and custom fields.

Used by the partner's "New referral" page and (with its own subset) by the public link form.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from wtforms import BooleanField, DateField, DecimalField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from portal import money
from portal.web.forms import Form, SubmitOnce
from portal.services import custom_fields, settings
from portal.services.referrals import ReferralInput

COMPANY_SIZES = ["1-10", "11-50", "51-200", "201-1000", "1001-5000", "5000+"]
# Characters that can disguise text (bidirectional overrides, zero-width joiners) or break exports.
_DISGUISING = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def plain_text(form, field):
    """Refuse control characters and invisible direction overrides; markup is escaped on output."""
    value = field.data if isinstance(field.data, str) else ""
    allowed = {"\n", "\r", "\t"} if isinstance(field, TextAreaField) else set()
    if _DISGUISING.search(value) or any(unicodedata.category(c) == "Cc" and c not in allowed for c in value):
        raise ValidationError("Remove the invisible or control characters from this text.")


def _standard_fields() -> dict:
    text = [plain_text]
    return {
        "contact_first_name": StringField("First name", validators=[Length(max=100), *text]),
        "contact_last_name": StringField("Last name", validators=[Length(max=100), *text]),
        "contact_email": EmailField("Email", validators=[Length(max=254), Email(message="Enter a valid email address.")]),
        "contact_phone": StringField("Phone", validators=[Length(max=40), Regexp(r"^[0-9+()./ \-]*$",
                                                                      message="Use digits, spaces and + ( ) - only.")]),
        "contact_title": StringField("Job title", validators=[Length(max=120), *text]),
        "company_name": StringField("Company", validators=[Length(max=200), *text]),
        "company_domain": StringField("Company website", validators=[Length(max=255), Regexp(
            r"^(https?://)?[A-Za-z0-9.-]+\.[A-Za-z]{2,}(/\S*)?$", message="Enter a website such as example.com.")]),
        "company_country": StringField("Country (ISO code)", validators=[Length(max=2), Regexp(
            r"^[A-Za-z]{2}$", message="Two letters, e.g. US.")]),
        "company_size": SelectField("Company size", validators=[], choices=[("", "—")] + [(s, s) for s in COMPANY_SIZES]),
        "notes": TextAreaField("Need / notes", validators=[Length(max=5000), *text]),
        "estimated_value": DecimalField("Estimated deal value", validators=[NumberRange(min=0, max=10**11)], places=2),
    }


def build_referral_form(*, only: set[str] | None = None, extra_required: set[str] = frozenset(),
                        audience: str = "partners") -> type[Form]:
    """A form class for the referral fields the admins show, each required as they chose, with the
    custom fields asked of `audience` ("partners", or "public" for the prospect's form)."""
    choices = tuple(sorted((name, choice["shown"], choice["required"]) for name, choice in settings.form_fields().items()))
    return _form_class(choices, tuple(custom_fields.for_audience(audience)),
                       None if only is None else frozenset(only), frozenset(extra_required))


# Kept per process by what it is built from (the choices and definitions come from the read cache,
# so a change is a new key): building the class, eleven fields and WTForms' scan of them on the
# first instance cost as much as the rest of the link page. The classes are never changed after.
@lru_cache(maxsize=32)
def _form_class(choices: tuple, definitions: tuple, only: frozenset | None, extra_required: frozenset) -> type[Form]:
    chosen = {name: {"shown": shown, "required": required} for name, shown, required in choices}

    class ReferralForm(SubmitOnce, Form):
        pass

    for name, field in _standard_fields().items():
        choice = chosen.get(name, {"shown": True, "required": False})
        if not choice["shown"] or (only is not None and name not in only):
            continue
        required = choice["required"] or name in extra_required
        field.kwargs["validators"] = [DataRequired() if required and name != "estimated_value" else
                                      InputRequired() if required else Optional(), *field.kwargs["validators"]]
        setattr(ReferralForm, name, field)
    if "estimated_value" in vars(ReferralForm):
        ReferralForm.currency = SelectField("Currency", choices=[(c, c) for c in money.CURRENCIES], default="USD")
    for definition in definitions:
        setattr(ReferralForm, definition.key, _custom_field(definition))
    ReferralForm.consent = BooleanField(
        "The customer agreed to be contacted by us about this need.",
        [DataRequired(message="Confirm that the customer agreed to be contacted.")])
    return ReferralForm


def _custom_field(definition):
    validators = [DataRequired() if definition.required else Optional()]
    if definition.kind == "number":
        return DecimalField(definition.label, validators)
    if definition.kind == "date":
        return DateField(definition.label, validators)
    if definition.kind == "select":
        return SelectField(definition.label, validators, choices=[("", "—")] + [(o, o) for o in definition.options])
    return StringField(definition.label, [*validators, Length(max=500), plain_text])


def custom_keys(form: Form) -> list[str]:
    return [name for name in form._fields if name.startswith("cf_")]


def to_input(form: Form) -> ReferralInput:
    """The service's input from a validated form: only plain values cross into the service."""
    data = {name: form[name].data for name in form._fields if name not in {"csrf_token", "consent", "currency"}}
    custom = {key: data.pop(key) for key in custom_keys(form)}
    return ReferralInput(**{k: v for k, v in data.items() if k in ReferralInput.__dataclass_fields__},
                         currency=form.currency.data if "currency" in form._fields else "USD",
                         consent=bool(form.consent.data), custom=custom)
