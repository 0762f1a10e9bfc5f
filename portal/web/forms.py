"""The base form: shape checks in the form, rules from the services attached to their fields.

A form that creates a record opts into one-time submission with one line — `SubmitOnce` among its
bases (and `{{ form.submission_key }}` beside `{{ form.csrf_token }}` in its template): a second
post of the same form answers with the first one's redirect and creates nothing.

Every form also gets the input hygiene of `portal.web.hygiene` (control characters, NaN, huge ids).
"""
from __future__ import annotations

import json
from functools import lru_cache

from flask import abort, after_this_request
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import HiddenField, SelectField
from wtforms.widgets import Select, html_params

from portal.errors import DomainError
from portal.services import submissions
from portal.web import htmx
from portal.web.hygiene import HygieneMixin


class Form(HygieneMixin, FlaskForm):
    form_errors: list[str]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.form_errors = []

    def attach(self, err: DomainError) -> None:
        """Show a service's error next to its field, or above the form when it names none."""
        field = getattr(self, err.field, None) if err.field else None
        if field is not None:
            field.errors = [*field.errors, err.message]
        else:
            self.form_errors.append(err.message)


class SubmitOnce:
    """Mixin for a create form (before `Form` in its bases): it carries a one-time submission key.

    `validate_on_submit()` claims the key. The first post runs the view as usual; a redirect it
    answers with is recorded, anything else (a form with errors, a failure) releases the key. A
    second post of the key waits for the first and answers with the same redirect, without running
    the view. A post without a key (an old page, a script) is not deduplicated.
    """

    submission_key = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not submissions.is_key(self.submission_key.data):
            self.submission_key.data = submissions.new_key()

    def validate_on_submit(self, extra_validators=None) -> bool:
        if not super().validate_on_submit(extra_validators):
            return False
        key = self.submission_key.raw_data[0] if self.submission_key.raw_data else None
        if not submissions.is_key(key):
            return True
        user_id = current_user.id if getattr(current_user, "is_authenticated", False) else None
        claim = submissions.claim(key, user_id=user_id)
        if not claim.mine:
            abort(htmx.redirect(claim.location))
        if claim.tracked:
            after_this_request(lambda response: _settle(key, response))
        return True


def _settle(key: str, response):
    location = _led_to(response)
    if location is not None:
        submissions.finish(key, location=location)
    else:
        submissions.release(key)
    return response


def _led_to(response) -> str | None:
    if response.status_code in (301, 302, 303) and response.location:
        return response.location
    target = response.headers.get("HX-Location") or response.headers.get("HX-Redirect")
    if target and target.startswith("{"):
        target = json.loads(target).get("path")
    return target or None


class UserStatusForm(Form):
    """Activate or deactivate a user: used by internal admins and by partner admins for their team."""

    active = SelectField("Active", choices=[("1", "Active"), ("0", "Deactivated")])


class LongSelect(Select):
    """A select for a long list drawn on every page of a kind (every reseller, on each queue page):
    the options' HTML is kept per (choices, chosen value) instead of being escaped option by option
    each time. Choices with their own attributes, or in groups, are drawn as Select draws them."""

    def __call__(self, field, **kwargs):
        choices = None if field.has_groups() else tuple(field.iter_choices())
        if choices is None or any(render_kw for *_, render_kw in choices):
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        if self.multiple:
            kwargs["multiple"] = True
        flags = getattr(field, "flags", {})
        for name in self.validation_attrs:
            if name not in kwargs and getattr(flags, name, False):
                kwargs[name] = getattr(flags, name)
        options = _options(tuple((value, label, selected) for value, label, selected, _ in choices))
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")


@lru_cache(maxsize=64)
def _options(choices: tuple) -> Markup:
    return Markup("").join(Select.render_option(value, label, selected) for value, label, selected in choices)
