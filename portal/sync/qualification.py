"""Qualification rules: CRM state -> referral status (pure; the engine applies the result).

"When the deal stage becomes one of [...] -> status X" and "when deal property P changes to one of
[...] -> status X". A rule fires on a change only: the new value is in its list and the value the
portal saw before was not, so re-reading an unchanged deal never moves the referral again.
"""
from __future__ import annotations

from dataclasses import dataclass, field

TRIGGERS = ("stage", "property")


@dataclass
class Rule:
    trigger: str
    values: list[str]
    target_status: str
    crm_property: str | None = None
    active: bool = True
    id: int | None = None

    @property
    def watched(self) -> str:
        return "dealstage" if self.trigger == "stage" else (self.crm_property or "")


@dataclass
class Outcome:
    status: str
    rule: Rule
    reason: str = field(default="")


def evaluate(rules: list[Rule], previous: dict, current: dict) -> Outcome | None:
    """The first active rule whose watched property changed to one of its values, if any."""
    for rule in rules:
        if not rule.active or not rule.watched:
            continue
        name = rule.watched
        if name not in current:
            continue
        new, old = _norm(current.get(name)), _norm(previous.get(name))
        wanted = {_norm(v) for v in rule.values}
        if new in wanted and new != old:
            return Outcome(rule.target_status, rule, f"HubSpot {name} changed to {current.get(name)!r}")
    return None


def watched_properties(rules: list[Rule]) -> list[str]:
    return sorted({r.watched for r in rules if r.active and r.watched})


def _norm(value) -> str:
    return "" if value is None else str(value).strip().lower()
