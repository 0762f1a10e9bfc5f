"""Qualification rules: CRM state -> record status (pure; the engine applies the result).

"When the deal stage becomes one of [...] -> status X", "when deal property P changes to one of
[...] -> status X" and "when the contact's property P changes to one of [...] -> status X" (Referral
Factory's option 2: the record's contact, read as "contact.P"). A rule fires on a change only: the new value is in its list and the value the
portal saw before was not, so re-reading an unchanged deal never moves the record again. Which CRM
property is "the stage" is the connector's to say (HubSpot's `dealstage`, for example).
"""
from __future__ import annotations

from dataclasses import dataclass, field

TRIGGERS = ("stage", "property", "contact")
CONTACT_PREFIX = "contact."   # a related contact's property, as the connector reports it


@dataclass
class Rule:
    trigger: str
    values: list[str]
    target_status: str
    crm_property: str | None = None
    active: bool = True
    id: int | None = None

    def watched(self, stage_property: str) -> str:
        if self.trigger == "stage":
            return stage_property
        if self.trigger == "contact":
            return CONTACT_PREFIX + self.crm_property if self.crm_property else ""
        return self.crm_property or ""


@dataclass
class Outcome:
    status: str
    rule: Rule
    reason: str = field(default="")


def of(connection) -> list[Rule]:
    """A connection's stored rules (QualificationRule rows) as plain values."""
    return [Rule(r.trigger, list(r.values or []), r.target_status, r.crm_property, r.active, r.id)
            for r in connection.rules]


def evaluate(rules: list[Rule], previous: dict, current: dict, *, stage_property: str,
             crm_label: str = "The CRM") -> Outcome | None:
    """The first active rule whose watched property changed to one of its values, if any."""
    for rule in rules:
        name = rule.watched(stage_property)
        if not rule.active or not name:
            continue
        if name not in current:
            continue
        new, old = _norm(current.get(name)), _norm(previous.get(name))
        wanted = {_norm(v) for v in rule.values}
        if new in wanted and new != old:
            subject = f"contact's {rule.crm_property}" if rule.trigger == "contact" else name
            return Outcome(rule.target_status, rule, f"{crm_label} {subject} changed to {current.get(name)!r}")
    return None


def watched_properties(rules: list[Rule], *, stage_property: str) -> list[str]:
    return sorted({r.watched(stage_property) for r in rules if r.active and r.watched(stage_property)})


def _norm(value) -> str:
    return "" if value is None else str(value).strip().lower()
