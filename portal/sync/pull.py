"""Pull deal changes back from HubSpot.

Deals modified since the connection's watermark (search on `hs_lastmodifieddate`, ascending, paged,
restarted past 10,000 results; FACTS §1.12) update the mapped fields and, through the qualification
rules and the stage map, the referral status — via the same services as a click.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from portal.errors import DomainError
from portal.extensions import db
from portal.models import CrmConnection, CrmLink, Referral, Stage, SyncLog
from portal.models.crm import LinkState
from portal.models.types import utcnow
from portal.services import crm, statuses
from portal.services import referrals as referral_service
from portal.sync import hubspot, mapping, push, qualification

PULL_OVERLAP_MS = 5_000   # search is eventually consistent (FACTS §1.5): re-read a few seconds back
ACTOR = "HubSpot"


@dataclass
class PullStats:
    seen: int = 0
    applied: int = 0
    status_changes: int = 0
    errors: int = 0


def pull(connection_id: int) -> PullStats:
    """Apply the deals modified since the watermark. Retryable failures re-raise (the job retries)."""
    connection = db.session.get(CrmConnection, connection_id)
    stats = PullStats()
    if connection is None or not connection.active:
        return stats
    crm_api = crm.connector(connection)
    # The search filters on our id property: on a connection that never pushed it does not exist yet (400).
    push.ensure_schema(connection, crm_api)
    mappings = crm.mappings_of(connection)
    rules = crm.rules_of(connection)
    names = sorted({"dealname", "dealstage", "pipeline", "amount", "hs_lastmodifieddate", hubspot.DEAL_ID_PROPERTY}
                   | set(mapping.pulled_crm_fields(mappings, "deal")) | set(qualification.watched_properties(rules)))
    watermark = connection.pull_watermark_ms or 0
    newest = watermark
    while True:
        restart = False
        count = 0
        groups = [{"filters": [
            {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": str(max(0, watermark - PULL_OVERLAP_MS))},
            {"propertyName": hubspot.DEAL_ID_PROPERTY, "operator": "HAS_PROPERTY"}]}]
        for deal in crm_api.search_all("deals", groups, names,
                                       sorts=[{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]):
            count += 1
            stats.seen += 1
            modified = hubspot.to_ms((deal.get("properties") or {}).get("hs_lastmodifieddate")) or 0
            _apply_deal(connection, mappings, rules, deal, modified, stats)
            newest = max(newest, modified)
        if count >= hubspot.SEARCH_CAP and newest > watermark:
            # Past 10,000 results search answers 400: start again from the newest stamp seen (FACTS §1.12).
            watermark, restart = newest, True
        if not restart:
            break
    connection = db.session.get(CrmConnection, connection_id)
    connection.pull_watermark_ms = newest
    connection.last_pull_at = utcnow()
    db.session.commit()
    return stats


def _apply_deal(connection, mappings, rules, deal: dict, modified: int, stats: PullStats) -> None:
    props = deal.get("properties") or {}
    link = db.session.scalar(db.select(CrmLink).where(CrmLink.connection_id == connection.id,
                                                      CrmLink.crm_id == str(deal["id"])))
    if link is None:
        portal_id = props.get(hubspot.DEAL_ID_PROPERTY)
        if portal_id and str(portal_id).isdigit():
            link = db.session.scalar(db.select(CrmLink).where(
                CrmLink.connection_id == connection.id, CrmLink.entity_type == "referral",
                CrmLink.entity_id == int(portal_id)))
            if link is not None and link.crm_id not in (None, str(deal["id"])):
                link = None
    if link is None or link.state == LinkState.UNLINKED.value:
        return
    if link.remote_modified_ms is not None and modified <= link.remote_modified_ms:
        return  # seen already (the overlap re-reads a few seconds)
    referral = db.session.get(Referral, link.entity_id)
    if referral is None:
        return
    previous = {**(link.pushed_values or {}), **(link.remote_values or {})}
    current = {k: v for k, v in props.items() if k != "hs_lastmodifieddate"}
    changed_fields = []
    try:
        with crm.pulling(connection.id):
            for name, value in mapping.pull_values(mappings, "deal", current).items():
                if not _changed(previous, mappings, name, current):
                    continue
                if _set_field(referral, name, value):
                    changed_fields.append(name)
            target = _target_status(mappings, rules, previous, current, referral)
            # Remember what HubSpot holds: none of it is pushed back (no ping-pong).
            link.crm_id = str(deal["id"])
            link.remote_values = current
            push.remember(link, **{k: v for k, v in current.items() if k in (link.pushed_values or {})})
            link.remote_modified_ms = modified
            link.last_pulled_at = utcnow()
            link.last_error = None
            message = ", ".join(changed_fields) or "no mapped field changed"
            if target is not None:
                message += f"; status -> {target[0]}"
            db.session.add(SyncLog(connection_id=connection.id, entity_type="referral", entity_id=referral.id,
                                   direction="pull", action="update referral", status="ok", message=message,
                                   request_summary=push.request_summary(
                                       {k: props.get(k) for k in ("dealstage", "amount")})))
            if target is not None:
                _apply_status(referral, target, current)
                stats.status_changes += 1
            else:
                db.session.commit()
        stats.applied += 1
    except DomainError as err:
        db.session.rollback()
        stats.errors += 1
        link = db.session.get(CrmLink, link.id)
        link.last_error = f"Pull: {err.message}"
        link.remote_values = current
        link.remote_modified_ms = modified
        db.session.add(SyncLog(connection_id=connection.id, entity_type="referral", entity_id=link.entity_id,
                               direction="pull", action="update referral", status="error", message=err.message,
                               request_summary=push.request_summary(
                                   {k: props.get(k) for k in ("dealstage", "amount")})))
        db.session.commit()


def _changed(previous: dict, mappings, portal_field: str, current: dict) -> bool:
    for m in mappings:
        if m.portal_field == portal_field and m.crm_object == "deal" and m.pulls:
            return previous.get(m.crm_field) != current.get(m.crm_field)
    return False


def _set_field(referral: Referral, name: str, value) -> bool:
    if name.startswith(mapping.CUSTOM_PREFIX):
        key = name[len(mapping.CUSTOM_PREFIX):]
        custom = dict(referral.custom_fields or {})
        if custom.get(key) == value:
            return False
        custom[key] = value
        referral.custom_fields = custom
        return True
    if name == "estimated_value" and value is not None:
        value = Decimal(value).quantize(Decimal("0.01"))
    if getattr(referral, name) == value:
        return False
    setattr(referral, name, value)
    return True


def _target_status(mappings, rules, previous: dict, current: dict, referral: Referral):
    """(status key, reason) from the qualification rules first, then the stage's picklist map."""
    outcome = qualification.evaluate(rules, previous, current)
    if outcome is not None and outcome.status != referral.status:
        return outcome.status, outcome.reason
    stage = current.get("dealstage")
    if stage and stage != previous.get("dealstage"):
        status = mapping.status_for(mappings, stage, referral.status)
        if status is not None and status != referral.status:
            return status, f"HubSpot deal stage changed to {stage!r}"
    return None


def _apply_status(referral: Referral, target: tuple[str, str], current: dict) -> None:
    """Through the referral services, exactly as a person's click (DESIGN.md §2). Commits."""
    key, reason = target
    stage = statuses.get(key).stage
    if stage in (Stage.WON_PAYMENT_PENDING.value, Stage.WON_PAYMENT_COMPLETED.value):
        if referral.is_won:
            db.session.commit()
            return
        amount = _decimal(current.get("amount")) or referral.estimated_value
        if not amount:
            raise DomainError("The deal is closed won in HubSpot but has no amount; enter the won amount.")
        referral_service.mark_won(referral, amount=amount, by=None, actor_label=ACTOR)
    elif stage in (Stage.LOST.value, Stage.REJECTED.value):
        referral_service.mark_lost(referral, reason=reason, by=None, actor_label=ACTOR)
    elif stage == referral.stage:
        referral_service.set_status(referral, status=key, by=None, reason=reason, actor_label=ACTOR)
    elif stage == Stage.ACCEPTED.value:
        referral_service.accept(referral, by=None, actor_label=ACTOR)
    else:
        raise DomainError(f"HubSpot asks for status {key!r}, which the portal only sets by hand.")


def _decimal(value) -> Decimal | None:
    value = mapping.from_crm(value, Decimal)
    return value if value and value > 0 else None
