"""Lead distribution: rules that hand referrals out to resellers in rotation, reminders before a lead's
respond-by date, and what happens to a lead that comes back declined or unanswered.

A returned lead goes back to the vendor's queue as "needs a new reseller" or, with auto-reassign on,
on to the next eligible reseller of the rotation — never to the referrer, nor to a reseller that
already declined it or let it expire.
"""
from __future__ import annotations

from datetime import timedelta

from portal.errors import DomainError, NotFound
from portal.extensions import db
from portal.models import CustomField, Lead, LeadRule, LeadStatus, Organization, Referral, User
from portal.models.accounts import TIERS
from portal.models.types import utcnow
from portal.services import leads, notifications, settings, transitions
from portal.services.referrals import review as referral_review

RETURNED = (LeadStatus.DECLINED.value, LeadStatus.EXPIRED.value)
REASSIGN_ACTOR = "Lead rotation"


# ---- rules (Settings → Lead rules) -----------------------------------------------------------

def list_rules() -> list[LeadRule]:
    return list(db.session.scalars(db.select(LeadRule).order_by(LeadRule.active.desc(), LeadRule.position,
                                                                LeadRule.id)))


def get_rule(rule_id: int) -> LeadRule:
    """One rule by id. Raises NotFound."""
    rule = db.session.get(LeadRule, rule_id)
    if rule is None:
        raise NotFound()
    return rule


def save_rule(*, name: str, tiers: list[str], partner_countries: list[str], countries: list[str],
              field_key: str | None, field_values: list[str], rule: LeadRule | None = None) -> LeadRule:
    """Create or edit a rule: which referrals it takes (country, a select field's values) and which
    resellers share them (tier, country). Raises DomainError."""
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the rule a name.", field="name")
    unknown = set(tiers) - set(TIERS)
    if unknown:
        raise DomainError("Choose tiers from the list.", field="tiers")
    field_values = [v.strip() for v in field_values if v.strip()]
    if field_key:
        field = db.session.scalar(db.select(CustomField).where(CustomField.key == field_key,
                                                                CustomField.scope == "referral"))
        if field is None or field.kind != "select":
            raise DomainError("Choose a single-select referral field.", field="field_key")
        if not field_values or set(field_values) - set(field.options):
            raise DomainError(f"Choose values among: {', '.join(field.options)}.", field="field_values")
    else:
        field_values = []
    rule = rule or LeadRule(position=(db.session.scalar(db.select(db.func.max(LeadRule.position))) or 0) + 10)
    rule.name, rule.tiers, rule.field_key, rule.field_values = name[:120], list(tiers), field_key or None, field_values
    rule.countries = _country_list(countries, "countries")
    rule.partner_countries = _country_list(partner_countries, "partner_countries")
    db.session.add(rule)
    db.session.commit()
    return rule


def set_rule_active(rule: LeadRule, active: bool) -> LeadRule:
    """Switch a rule off (it hands out no more leads) or on again."""
    rule.active = bool(active)
    db.session.commit()
    return rule


def _country_list(values: list[str], field: str) -> list[str]:
    codes = [v.strip().upper() for v in values if v.strip()]
    if any(len(code) != 2 or not code.isalpha() for code in codes):
        raise DomainError("Use two-letter country codes, separated by commas.", field=field)
    return codes


# ---- handing leads out -----------------------------------------------------------------------

def rule_for(referral: Referral) -> LeadRule | None:
    """The first active rule that takes `referral`."""
    for rule in db.session.scalars(db.select(LeadRule).where(LeadRule.active.is_(True))
                                   .order_by(LeadRule.position, LeadRule.id)):
        if rule.countries and (referral.company_country or "") not in rule.countries:
            continue
        if rule.field_key and (referral.custom_fields or {}).get(rule.field_key) not in rule.field_values:
            continue
        return rule
    return None


def eligible(rule: LeadRule) -> list[Organization]:
    """The resellers that share a rule's leads, in rotation order."""
    query = db.select(Organization).where(Organization.kind.in_(leads.RESELLER_KINDS), Organization.status == "active")
    if rule.tiers:
        query = query.where(Organization.tier.in_(rule.tiers))
    if rule.partner_countries:
        query = query.where(Organization.country.in_(rule.partner_countries))
    return list(db.session.scalars(query.order_by(Organization.id)))


def route_by_rule(referral: Referral, *, by: User) -> Lead:
    """Send `referral` to the next reseller of the first rule that takes it. Raises DomainError when none can."""
    lead = _hand_out(referral, by=by, rule=rule_for(referral))
    if lead is None:
        raise DomainError("No lead rule takes this referral, or no eligible reseller is left: send it by hand.")
    db.session.commit()
    return lead


def _hand_out(referral: Referral, *, by: User | None, rule: LeadRule | None) -> Lead | None:
    """Within the caller's transaction: the next eligible reseller gets the lead (None: nobody can)."""
    if rule is None:
        return None
    # Lock the rule row: two hand-outs at once must not pick the same reseller twice.
    rule = db.session.get(LeadRule, rule.id, with_for_update=True, populate_existing=True)
    excluded = {referral.partner_org_id} | _already_returned(referral)
    candidates = [org for org in eligible(rule) if org.id not in excluded]
    if not candidates:
        return None
    after = [org for org in candidates if rule.last_org_id is not None and org.id > rule.last_org_id]
    reseller = (after or candidates)[0]
    rule.last_org_id = reseller.id
    lead = referral_review.apply_route_to_reseller(referral, by=by, reseller=reseller)
    lead.rule = rule
    return lead


def _already_returned(referral: Referral) -> set[int]:
    return set(db.session.scalars(db.select(Lead.assigned_org_id).where(Lead.referral_id == referral.id,
                                                                         Lead.status.in_(RETURNED))))


# ---- answers that send a lead back -------------------------------------------------------------

def decline(lead: Lead, *, by: User, reason: str) -> Lead:
    """The reseller declines; the lead goes back to the vendor or on to the next reseller. Raises DomainError."""
    leads.apply_decline(lead, by=by, reason=reason)
    _returned(lead)
    db.session.commit()
    return lead


def expire_overdue() -> int:
    """Expire new leads past their respond-by date and send each back or on (the sweep); returns how many."""
    overdue = list(db.session.scalars(db.select(Lead).where(Lead.status == LeadStatus.NEW.value,
                                                            Lead.respond_by < utcnow())
                                      .with_for_update(skip_locked=True)))
    for lead in overdue:
        leads.apply_expire(lead)
        _returned(lead)
    db.session.commit()
    return len(overdue)


def _returned(lead: Lead) -> None:
    referral = lead.referral
    if referral is None:
        return
    db.session.flush()
    if settings.get("leads")["auto_reassign"]:
        rule = lead.rule or rule_for(referral)
        if _hand_out(referral, by=None, rule=rule) is not None:
            return
    lead.needs_reseller = True
    notifications.lead_returned(lead)


def close(lead: Lead, *, by: User, reason: str) -> Lead:
    """An accepted lead ends with no business, with a reason. Raises DomainError, InvalidTransition."""
    reason = (reason or "").strip()[:2000]
    if not reason:
        raise DomainError("Tell the vendor why there is no business.", field="reason")
    transitions.move(leads.WORKFLOW, lead, to=LeadStatus.CLOSED.value, by=by, reason=reason)
    lead.close_reason = reason
    db.session.commit()
    return lead


def send_reminders() -> int:
    """Remind resellers of new leads whose respond-by date is within the reminder window, once each."""
    hours = settings.get("leads")["reminder_hours"]
    if not hours:
        return 0
    now = utcnow()
    due = list(db.session.scalars(db.select(Lead).where(
        Lead.status == LeadStatus.NEW.value, Lead.reminded_at.is_(None), Lead.respond_by > now,
        Lead.respond_by <= now + timedelta(hours=hours)).with_for_update(skip_locked=True)))
    for lead in due:
        lead.reminded_at = now
        notifications.lead_reminder(lead)
    db.session.commit()
    return len(due)


def needing_reseller(*, limit: int = 50) -> list[Lead]:
    """Returned leads waiting for an internal user to pick another reseller, oldest first."""
    return list(db.session.scalars(db.select(Lead).where(Lead.needs_reseller.is_(True))
                                   .order_by(Lead.updated_at, Lead.id).limit(limit)))
