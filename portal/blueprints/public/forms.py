"""The prospect's form on the public pages: the admins' referral form, kept short, plus its defences.

The CSRF token here is a signed, timed token bound to the form it was served with (one link, or
the generic form), not Flask-WTF's session token: in a third-party iframe the browser sends no
session cookie, so a session-bound token could never validate in the embed. The same token
carries the time the form was served, which gives the minimum fill time.
"""
from __future__ import annotations

import secrets
from functools import lru_cache

from flask import current_app
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal import clock
from portal.web import referral_forms
from portal.web.forms import Form, SubmitOnce
from portal.services import settings

# What a prospect is asked, whatever else the admins show partners; plus what the admins require.
ASKED = {"contact_first_name", "contact_last_name", "contact_email", "contact_phone", "company_name", "notes"}
ALWAYS_ASKED_REQUIRED = {"contact_first_name", "contact_email"}
LABELS = {"contact_email": "Work email", "company_name": "Company", "notes": "How can we help?",
          "company_domain": "Company website"}
_SALT = "public-referral-form"


class PublicFormMixin:
    class Meta:
        csrf = False  # replaced by the signed `csrf_token` below (see the module docstring)

    csrf_token = HiddenField()
    # The honeypot: hidden from people (app.css `.hp`), irresistible to form-filling bots.
    homepage = StringField("Leave this field empty")
    consent = BooleanField("I agree to be contacted about my request.",
                           [DataRequired(message="Please agree to be contacted, so that we can answer you.")])
    scope: str

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        age = token_age(self.csrf_token.data, self.scope)
        if age is None:
            self.form_errors.append("This form has expired. Please check your details and send it again.")
            self.csrf_token.data = issue_token(self.scope)
            return False
        if age < current_app.config["PUBLIC_FORM_MIN_SECONDS"]:
            # The token is kept, so a person who simply sends again a moment later gets through.
            self.form_errors.append("That was quick! Please check your details, then send the form again.")
            return False
        return valid


def referral_form(*, scope: str, vendor_name: str) -> Form:
    """The public form for `scope` (a link's code, or "refer"), with a fresh token on first display."""
    required = {name for name, choice in settings.form_fields().items() if choice["shown"] and choice["required"]}
    base = referral_forms.build_referral_form(only=ASKED | required, extra_required=ALWAYS_ASKED_REQUIRED,
                                              audience="public")
    form = _public_form_class(base)()
    form.scope = scope
    for name, label in LABELS.items():
        if name in form:
            form[name].label.text = label
    form.consent.label.text = f"I agree that {vendor_name} may contact me about my request."
    if not form.is_submitted():
        form.csrf_token.data = issue_token(scope)
    return form


@lru_cache(maxsize=32)
def _public_form_class(base: type[Form]) -> type[Form]:
    # One per form class (those are kept per process too): WTForms scans a new class's fields.
    return type("PublicReferralForm", (PublicFormMixin, base), {})


APPLY_SCOPE = "partner-apply"


class PartnerApplicationForm(SubmitOnce, PublicFormMixin, Form):
    """The program page's form: a company applies to become a partner (same defences as the referral form)."""

    company_name = StringField("Company", [DataRequired("Tell us your company's name."), Length(max=200)])
    domain = StringField("Company website", [Length(max=255)])
    country = StringField("Country (two-letter code, e.g. DE)", [Length(max=2, message="Use the two-letter code, like DE.")])
    contact_name = StringField("Your name", [DataRequired("Tell us who we should talk to."), Length(max=200)])
    contact_email = StringField("Work email", [DataRequired("Enter your work email."), Length(max=254)])
    offering = TextAreaField("What does your company offer?",
                             [DataRequired("Tell us briefly what your company offers."), Length(max=5000)])


def application_form(*, vendor_name: str) -> PartnerApplicationForm:
    form = PartnerApplicationForm()
    form.scope = APPLY_SCOPE
    form.consent.label.text = f"I agree that {vendor_name} may contact me about this application."
    if not form.is_submitted():
        form.csrf_token.data = issue_token(APPLY_SCOPE)
    return form


def is_bot(form: Form) -> bool:
    """Filled the honeypot: answered like a success, and nothing is stored."""
    return bool((form.homepage.data or "").strip())


def issue_token(scope: str) -> str:
    # The signer's own timestamp has whole seconds; the fill time wants finer. The nonce makes each
    # served form's token unique, since each sends one referral (services/one_time.py).
    return _serializer().dumps({"s": scope, "t": clock.timestamp(), "n": secrets.token_hex(8)})


def token_age(token: str | None, scope: str) -> float | None:
    """Seconds since the token was served, or None if it is forged, for another form, or too old."""
    try:
        value = _serializer().loads(token or "", max_age=current_app.config["PUBLIC_FORM_MAX_AGE"])
        if value["s"] != scope:
            return None
        return clock.timestamp() - float(value["t"])
    except (BadData, KeyError, TypeError, ValueError):
        return None


class _ClockSigner(TimestampSigner):
    """Signs and ages tokens by the portal's clock, so the maximum age is the same time as the fill time."""

    def get_timestamp(self) -> int:
        return int(clock.timestamp())


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT, signer=_ClockSigner)
