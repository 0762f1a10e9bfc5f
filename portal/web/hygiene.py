"""Input hygiene for every form: what no field of the portal may carry, whatever its own validators say.

The form base (`portal.web.forms.Form`) runs these checks before the fields' own validators, so a
new form gets them without thinking:
- text refuses control characters (NUL first: PostgreSQL text cannot hold it) except line breaks
  and tabs in multi-line fields, and the invisible Unicode direction controls that can make a
  name read differently from what is stored ("Trojan Source", CVE-2021-42574);
- numbers refuse NaN, sNaN and Infinity (a comparison with them raises instead of answering) and
  magnitudes no amount can have;
- whole numbers (ids, counts) stay within the database's integer range, so a 20-digit id is a
  field error, never an overflow in the query.
"""
from __future__ import annotations

import decimal
import math
import re
import unicodedata

from werkzeug.routing import IntegerConverter
from wtforms import Field, FieldList, FormField, PasswordField, TextAreaField

# Bidirectional embeddings, overrides and isolates, plus the marks that steer them.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
MULTILINE_ALLOWED = frozenset("\n\r\t")
# The integer columns (ids included) are 32-bit on PostgreSQL.
MAX_INTEGER = 2**31 - 1
# More digits before the point than any amount column holds (Numeric(14, 3): 11); no number typed into a
# form needs more.
MAX_DECIMAL_DIGITS = 12

TEXT_REFUSED = "Remove the invisible or control characters from this text."
NUMBER_REFUSED = "Enter a number."
NUMBER_TOO_LARGE = "This number is too large."


def text_problem(value: str, *, multiline: bool = False, password: bool = False) -> str | None:
    """Why `value` may not be stored as text, or None when it may."""
    allowed = MULTILINE_ALLOWED if multiline else frozenset()
    for char in value:
        if char in allowed:
            continue
        category = unicodedata.category(char)
        if category == "Cc" or (not multiline and category in ("Zl", "Zp")):
            return TEXT_REFUSED
    # A password is never shown, so a direction mark in it disguises nothing.
    if not password and BIDI_CONTROLS.search(value):
        return TEXT_REFUSED
    return None


def number_problem(value) -> str | None:
    """Why a parsed number may not be used, or None when it may."""
    if isinstance(value, bool):
        return None
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return NUMBER_REFUSED
        if value and value.adjusted() >= MAX_DECIMAL_DIGITS:
            return NUMBER_TOO_LARGE
    elif isinstance(value, float):
        if not math.isfinite(value):
            return NUMBER_REFUSED
        if abs(value) >= 10**MAX_DECIMAL_DIGITS:
            return NUMBER_TOO_LARGE
    elif isinstance(value, int) and abs(value) > MAX_INTEGER:
        return NUMBER_TOO_LARGE
    return None


def field_problem(field: Field) -> str | None:
    """Why the data a leaf field parsed from the request is refused, or None."""
    values = field.data if isinstance(field.data, (list, tuple)) else [field.data]
    for value in values:
        if isinstance(value, str):
            problem = text_problem(value, multiline=isinstance(field, TextAreaField),
                                   password=isinstance(field, PasswordField))
        else:
            problem = number_problem(value)
        if problem:
            return problem
    return None


def leaf_fields(fields):
    """Every field that holds a value, inside field lists and sub-forms too."""
    for field in fields:
        if isinstance(field, FormField):
            yield from leaf_fields(field.form)
        elif isinstance(field, FieldList):
            yield from leaf_fields(field.entries)
        elif field.short_name != "csrf_token":
            yield field


class HygieneMixin:
    """Refuses hostile values before a form's own validators see them (mixed into the form base)."""

    def validate(self, extra_validators=None) -> bool:
        refused = [(field, problem) for field in leaf_fields(self) if (problem := field_problem(field))]
        for field, _ in refused:
            # The field's validators run on nothing (NaN would raise in a range check); the page
            # still shows what was typed, from the field's raw data.
            field.data = [] if isinstance(field.data, list) else None
        valid = super().validate(extra_validators)
        for field, problem in refused:
            field.errors = [problem]
        return valid and not refused


class RecordIdConverter(IntegerConverter):
    """`<int:...>` in a path, bounded like the integer columns: a 20-digit id is a plain 404."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_INTEGER, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
