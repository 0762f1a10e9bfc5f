"""The audit trail: who changed what and when, before -> after (issue #15 item 7).

Changes to the audited records are captured when the session flushes, whichever service made them,
so a new use case touching an organization, a plan, a CRM connection or mapping, a setting, a user's
role or a referral's decision is recorded without anyone remembering to. Named actions that are no
column change (an MFA reset) are recorded with `record`. The actor is the signed-in user of the
request that made the change; outside a request (the CLI, a job, a CRM pull) it is "system".
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import has_request_context
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import (AuditEvent, BrandImage, CommissionPlan, CrmConnection, CustomField, FieldMapping, Organization,
                           QualificationRule, Referral, ReferralStatus, Setting, User)

SECRET = "(changed)"   # a secret's new value
HIDDEN = "(hidden)"    # a secret's old value


@dataclass(frozen=True)
class Audited:
    entity_type: str
    label: str                      # attribute that names the record for a person
    fields: tuple[str, ...] | None  # None: every column but the bookkeeping ones
    creations: bool = True          # record creations and deletions too (not only changes)


AUDITED: dict[type, Audited] = {
    Organization: Audited("organization", "name", None),
    CommissionPlan: Audited("commission_plan", "name", None),
    CrmConnection: Audited("crm_connection", "name", ("name", "provider", "base_url", "token_encrypted",
                                                       "webhook_secret_encrypted", "active", "sync_trigger",
                                                       "existing_policy", "settings")),
    FieldMapping: Audited("field_mapping", "crm_field", None),
    QualificationRule: Audited("qualification_rule", "id", None),
    Setting: Audited("setting", "key", ("value",)),
    BrandImage: Audited("brand_image", "name", ("content_type", "sha256", "width", "height")),
    CustomField: Audited("custom_field", "label", None),
    ReferralStatus: Audited("referral_status", "label", None),
    User: Audited("user", "email", ("role", "active", "organization_id", "email"), creations=True),
    # Every decision on a referral: its status and what goes with it; the partner's own edits are not decisions.
    Referral: Audited("referral", "number", ("status", "stage", "routing", "owner_id", "rejection_reason",
                                             "lost_reason", "won_amount", "won_at"), creations=False),
}
_BOOKKEEPING = {"id", "created_at", "updated_at", "position"}


def _plain(value):
    if isinstance(value, (Decimal, date, datetime)):
        return str(value) if not isinstance(value, (date, datetime)) else value.isoformat()
    if isinstance(value, (str, int, float, bool, type(None), dict, list)):
        return value
    return str(value)


def _secret(column: str) -> bool:
    return column.endswith(("_encrypted", "_hash")) or "secret" in column


def _actor() -> User | None:
    if not has_request_context():
        return None
    # The request's signed-in user; imported here because only a request has one.
    from flask_login import current_user
    return current_user._get_current_object() if getattr(current_user, "is_authenticated", False) else None


def _event(entity, spec: Audited, action: str, changes: dict, actor: User | None = None) -> AuditEvent:
    identity = inspect(entity).identity
    return AuditEvent(actor_id=actor.id if actor else None, actor_label=actor.email if actor else "system",
                      action=action, entity_type=spec.entity_type,
                      entity_id=str(identity[0]) if identity else None,
                      entity_label=str(getattr(entity, spec.label, "") or "")[:300], changes=changes)


def _columns(entity, spec: Audited) -> list[str]:
    names = [c.key for c in inspect(type(entity)).column_attrs]
    return [n for n in names if n in spec.fields] if spec.fields else [n for n in names if n not in _BOOKKEEPING]


def _diff(entity, spec: Audited) -> dict:
    changes = {}
    state = inspect(entity)
    for name in _columns(entity, spec):
        history = state.attrs[name].history
        if not history.has_changes():
            continue
        before = history.deleted[0] if history.deleted else None
        after = history.added[0] if history.added else None
        if _plain(before) == _plain(after):
            continue
        changes[name] = ([HIDDEN if before else None, SECRET if after else None] if _secret(name)
                         else [_plain(before), _plain(after)])
    return changes


def _snapshot(entity, spec: Audited, *, side: int) -> dict:
    values = {}
    for name in _columns(entity, spec):
        value = SECRET if _secret(name) and getattr(entity, name) else _plain(getattr(entity, name))
        values[name] = [None, value] if side == 1 else [value, None]
    return values


def _pending(session: Session) -> dict:
    """The changes of this transaction so far, one entry per record (several flushes merge into one)."""
    return session.info.setdefault("audit_pending", {})


def _note(session: Session, entity, spec: Audited, action: str, changes: dict) -> None:
    key = (type(entity), id(entity))
    entry = _pending(session).get(key)
    if entry is None:
        _pending(session)[key] = {"entity": entity, "spec": spec, "action": action, "changes": dict(changes),
                                  "actor": _actor()}
        return
    for name, (before, after) in changes.items():
        entry["changes"][name] = [entry["changes"].get(name, [before])[0], after]
    if action == "deleted":
        entry["action"] = "deleted"


def _before_flush(session: Session, _context, _instances) -> None:
    for entity in list(session.dirty):
        spec = AUDITED.get(type(entity))
        if spec and session.is_modified(entity, include_collections=False):
            changes = _diff(entity, spec)
            if changes:
                _note(session, entity, spec, "changed", changes)
    for entity in list(session.deleted):
        spec = AUDITED.get(type(entity))
        if spec and spec.creations:
            _note(session, entity, spec, "deleted", _snapshot(entity, spec, side=0))
    # New records get their id at this flush: noted after it.
    session.info.setdefault("audit_new", []).extend(
        e for e in session.new if type(e) in AUDITED and AUDITED[type(e)].creations)


def _after_flush(session: Session, _context) -> None:
    for entity in session.info.pop("audit_new", []):
        spec = AUDITED[type(entity)]
        _note(session, entity, spec, "created", _snapshot(entity, spec, side=1))


def _before_commit(session: Session) -> None:
    if session.new or session.dirty or session.deleted:
        session.flush()  # so the last changes are noted before they are written down
    for entry in _pending(session).values():
        changes = {k: v for k, v in entry["changes"].items() if v[0] != v[1] or entry["action"] != "changed"}
        if changes:
            session.add(_event(entry["entity"], entry["spec"], entry["action"], changes, actor=entry["actor"]))
    _pending(session).clear()


def _forget(session: Session, *_args) -> None:
    session.info.pop("audit_pending", None)
    session.info.pop("audit_new", None)


def listen() -> None:
    """Capture changes of the audited records on every session (called once by create_app)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush_postexec", _after_flush)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_soft_rollback", _forget)


def record(entity, action: str, *, before: dict, after: dict, actor: User | None = None) -> None:
    """Record a named action that is no column change (e.g. "mfa.reset"); committed with the use case."""
    spec = AUDITED.get(type(entity)) or Audited(type(entity).__name__.lower(), "id", None)
    changes = {key: [_plain(before.get(key)), _plain(after.get(key))] for key in {*before, *after}}
    db.session.add(_event(entity, spec, action, changes, actor=actor or _actor()))


# ---- the admin page -------------------------------------------------------------------------------

@dataclass
class Filters:
    entity_type: str = ""
    actor: str = ""
    entity_id: str = ""
    since: date | None = None
    until: date | None = None


def _query(filters: Filters):
    query = db.select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if filters.entity_type:
        query = query.where(AuditEvent.entity_type == filters.entity_type)
    if filters.actor:
        query = query.where(AuditEvent.actor_label.like(f"%{filters.actor.strip().lower()}%"))
    if filters.entity_id:
        query = query.where(AuditEvent.entity_id == filters.entity_id.strip())
    if filters.since:
        query = query.where(AuditEvent.at >= datetime.combine(filters.since, datetime.min.time()).astimezone())
    if filters.until:
        query = query.where(AuditEvent.at < datetime.combine(filters.until, datetime.max.time()).astimezone())
    return query


def page(filters: Filters, *, page: int = 1, per_page: int = 50):
    return db.paginate(_query(filters), page=page, per_page=per_page, error_out=False)


def entity_types() -> list[str]:
    return sorted({spec.entity_type for spec in AUDITED.values()})


def _cell(value) -> str:
    """A CSV cell a spreadsheet shows as text: a leading = + - @ (or tab/CR) would start a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(filters: Filters) -> str:
    """The filtered trail as CSV, formulas neutralised."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["at", "actor", "action", "entity", "id", "name", "field", "before", "after"])
    for ev in db.session.scalars(_query(filters).limit(50_000)):
        rows = ev.changes.items() or [("", [None, None])]
        for name, (before, after) in rows:
            writer.writerow([_cell(v) for v in (ev.at.isoformat(), ev.actor_label, ev.action, ev.entity_type,
                                                 ev.entity_id, ev.entity_label, name, before, after)])
    return out.getvalue()
