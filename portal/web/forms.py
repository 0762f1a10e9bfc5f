"""The base form: shape checks in the form, rules from the services attached to their fields."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField

from portal.errors import DomainError


class Form(FlaskForm):
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


class UserStatusForm(Form):
    """Activate or deactivate a user: used by internal admins and by partner admins for their team."""

    active = SelectField("Active", choices=[("1", "Active"), ("0", "Deactivated")])
