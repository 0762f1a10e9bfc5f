"""What a report is made of: an entity is a small declaration (a scoped select, its fields), and each
field's type decides which operators it offers and how a value typed in a URL becomes SQL.

A new reportable entity is one `register(Entity(...))` call in `entities.py`; nothing else changes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Callable

from sqlalchemy import and_, or_

from portal.errors import DomainError
from portal.models import User

# Operator keys are part of the URL; labels are what people read.
OPERATORS = {
    "is": "is", "is_not": "is not", "contains": "contains", "before": "before", "after": "after",
    "between": "between", "empty": "is empty", "in": "is one of",
}
NUMBER_LABELS = {"before": "below", "after": "above"}
KIND_OPERATORS = {
    "text": ("contains", "is", "is_not", "in", "empty"),
    "choice": ("is", "is_not", "in", "empty"),
    "number": ("is", "is_not", "before", "after", "between", "empty"),
    "money": ("is", "is_not", "before", "after", "between", "empty"),
    "date": ("is", "before", "after", "between", "empty"),
    "datetime": ("is", "before", "after", "between", "empty"),
    "day": ("is", "before", "after", "between", "empty"),
    "bool": ("is",),
}


@dataclass(frozen=True)
class Field:
    """One column of a report. `expr` builds its SQL expression; `partner_setting` names the
    lead/deal visibility choice a partner needs to see it; `internal` hides it from partners."""

    key: str
    label: str
    kind: str
    expr: Callable
    choices: Callable[[], list[tuple[str, str]]] | None = None
    internal: bool = False
    partner_setting: str | None = None
    # For money: the key of the field holding the currency beside it.
    currency_key: str | None = None
    # Text is compared case-insensitively; a custom field's JSON value is already text.
    sortable: bool = True

    def operators(self) -> list[tuple[str, str]]:
        labels = {**OPERATORS, **(NUMBER_LABELS if self.kind in ("number", "money") else {})}
        return [(op, labels[op]) for op in KIND_OPERATORS[self.kind]]

    def condition(self, op: str, value: str, value2: str = ""):
        """The WHERE clause for `op` with the values as typed. Raises DomainError for a value that
        does not fit the field's type (the report shows it beside the filter)."""
        if op not in KIND_OPERATORS[self.kind]:
            raise DomainError(f"“{OPERATORS.get(op, op)}” does not apply to {self.label}.")
        column = self.expr()
        if op == "empty":
            return or_(column.is_(None), column == "") if self.kind in ("text", "choice") else column.is_(None)
        if op == "in":
            values = [v.strip() for v in value.split(",") if v.strip()]
            if not values:
                raise DomainError(f"List the values for {self.label}, separated by commas.")
            return column.in_([self._parse(v) for v in values])
        if self.kind in ("date", "datetime", "day"):
            return self._date_condition(column, op, value, value2)
        if op == "between":
            low, high = self._parse(value), self._parse(value2)
            return and_(column >= low, column <= high)
        if op == "contains":
            return column.ilike(f"%{_escape_like(value.strip())}%", escape="\\")
        parsed = self._parse(value)
        if op == "is":
            return column == parsed
        if op == "is_not":
            return or_(column != parsed, column.is_(None))
        if op == "before":
            return column < parsed
        return column > parsed

    def _date_condition(self, column, op: str, value: str, value2: str):
        first = _parse_date(value, self.label)
        if self.kind == "day":  # a DATE column
            last = _parse_date(value2, self.label) if op == "between" else first
            return {"is": column == first, "before": column < first, "after": column > first,
                    "between": and_(column >= first, column <= last)}[op]
        if self.kind == "date":
            # Custom date fields hold ISO text, which sorts and compares like the dates it spells.
            low, high = first.isoformat(), (_parse_date(value2, self.label) if op == "between" else first).isoformat()
            return {"is": column == low, "before": column < low, "after": column > low,
                    "between": and_(column >= low, column <= high)}[op]
        start = datetime.combine(first, time.min, timezone.utc)
        last = _parse_date(value2, self.label) if op == "between" else first
        end = datetime.combine(last, time.min, timezone.utc) + timedelta(days=1)
        return {"is": and_(column >= start, column < end), "before": column < start, "after": column >= end,
                "between": and_(column >= start, column < end)}[op]

    def _parse(self, value: str):
        value = (value or "").strip()
        if self.kind in ("number", "money"):
            try:
                return Decimal(value)
            except InvalidOperation as err:
                raise DomainError(f"Enter a number for {self.label}.") from err
        if self.kind == "bool":
            return value.lower() in ("1", "true", "yes")
        return value


def _parse_date(value: str, label: str) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError as err:
        raise DomainError(f"Enter a date as YYYY-MM-DD for {label}.") from err


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class Entity:
    """A reportable record type: `base(user)` is the access-scoped select with the joins its fields use."""

    key: str
    label: str
    base: Callable[[User], object]
    fields: Callable[[], list[Field]]
    id_expr: Callable
    default_columns: tuple[str, ...]
    default_sort: str
    # Endpoint of a row's page per audience ("internal"/"partner"), with the id argument's name.
    detail: dict[str, tuple[str, str]] = field(default_factory=dict)
    available: Callable[[User], bool] = lambda user: True

    def fields_for(self, user: User, visible_settings: set[str]) -> list[Field]:
        """The fields `user` may see: partners never see internal fields, nor lead/deal fields the
        admins did not make visible."""
        if user.is_internal:
            return self.fields()
        return [f for f in self.fields() if not f.internal
                and (f.partner_setting is None or f.partner_setting in visible_settings)]


ENTITIES: dict[str, Entity] = {}


def register(entity: Entity) -> Entity:
    ENTITIES[entity.key] = entity
    return entity
