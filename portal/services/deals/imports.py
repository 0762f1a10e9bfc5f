"""Importing CRM records as deal registrations (#13): internal users search the CRM's Opportunities
and import the ones they pick as registrations of a partner, linked from the start.

The CRM is called with no transaction open (read, call, then write), and an import is all or
nothing: one Opportunity that is already linked refuses the whole import with its name.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from portal.errors import DomainError
from portal.extensions import db
from portal.models import CrmConnection, DealRegistration, DealStatus, Organization, OrgKind, User
from portal.models.types import utcnow
from portal.services import crm, notifications, settings
from portal.services.deals import workflow
from portal.sync.http import CrmError

ENTITY = "deal_registration"
IMPORTING_KINDS = (OrgKind.PARTNER.value, OrgKind.DISTRIBUTOR.value)
MAX_IMPORT = 50


@dataclass
class ImportFilters:
    name: str = ""
    stage: str = ""
    owner: str = ""
    close_from: date | None = None
    close_to: date | None = None


def _importer(connection: CrmConnection):
    connector = crm.connector(connection)
    if ENTITY not in (getattr(connector, "importable", None) or {}):
        raise DomainError(f"{crm.provider_label(connection)} connections cannot import deal registrations.")
    return connector


def _label(connection: CrmConnection) -> str:
    return crm.provider_label(connection)


def search_options(connection: CrmConnection) -> dict[str, list[tuple[str, str]]]:
    """The stages and owners the search may filter on (read from the CRM). Raises DomainError."""
    connector = _importer(connection)
    db.session.commit()
    try:
        return connector.search_options(ENTITY)
    except CrmError as err:
        raise DomainError(f"{_label(connection)} could not be searched: {err.message}") from err


def search(connection: CrmConnection, filters: ImportFilters, *, options: dict | None = None) -> list:
    """The CRM's records matching the filters, each with `linked` (the number of the registration
    it is linked to already, or None). Raises DomainError for a filter value the CRM does not have."""
    if filters.close_from and filters.close_to and filters.close_from > filters.close_to:
        raise DomainError("The first close date must come before the second.", field="close_to")
    connector = _importer(connection)
    db.session.commit()
    try:
        found = connector.search(ENTITY, {"name": filters.name[:120], "stage": filters.stage, "owner": filters.owner,
                                          "close_from": filters.close_from, "close_to": filters.close_to},
                                 options=options)
    except ValueError as err:
        raise DomainError(f"Choose a {err.args[0]} from the list.", field=err.args[0]) from err
    except CrmError as err:
        raise DomainError(f"{_label(connection)} could not be searched: {err.message}") from err
    _mark_linked(connection, found)
    return found


def _mark_linked(connection: CrmConnection, found: list) -> None:
    links = crm.linked_to(connection, [f.crm_id for f in found])
    ids = {link.entity_id for link in links.values()} | {int(f.portal_id) for f in found
                                                         if (f.portal_id or "").isdigit()}
    numbers = dict(db.session.execute(db.select(DealRegistration.id, DealRegistration.number)
                                      .where(DealRegistration.id.in_(ids))).all()) if ids else {}
    for f in found:
        link = links.get(f.crm_id)
        if link is not None:
            f.linked = numbers.get(link.entity_id) or f"#{link.entity_id}"
        elif f.portal_id:
            f.linked = numbers.get(int(f.portal_id)) if f.portal_id.isdigit() else None
            f.linked = f.linked or f"portal id {f.portal_id}"
        else:
            f.linked = None


def import_records(connection: CrmConnection, crm_ids: list[str], *, partner_org_id: int | None,
                   by: User) -> list[DealRegistration]:
    """Import the CRM records `crm_ids` as approved registrations of the partner, each linked to its
    record from the start. Raises DomainError, and imports none, when one is linked already, is not
    found, or the partner cannot hold registrations."""
    if not by.is_internal:
        raise DomainError("Only internal users import from the CRM.")
    crm_ids = list(dict.fromkeys(i for i in crm_ids if i))
    if not crm_ids:
        raise DomainError("Choose at least one Opportunity to import.", field="crm_ids")
    if len(crm_ids) > MAX_IMPORT:
        raise DomainError(f"Import at most {MAX_IMPORT} at a time.", field="crm_ids")
    partner = db.session.get(Organization, partner_org_id) if partner_org_id else None
    if partner is None or partner.kind not in IMPORTING_KINDS or not partner.is_active:
        raise DomainError("Choose an active partner for the registrations.", field="partner_org_id")
    connector = _importer(connection)
    label = _label(connection)
    db.session.commit()
    try:
        found = {f.crm_id: f for f in connector.read(ENTITY, crm_ids)}
    except CrmError as err:
        raise DomainError(f"{label} could not be read: {err.message}") from err
    missing = [i for i in crm_ids if i not in found]
    if missing:
        raise DomainError(f"{label} has no Opportunity {', '.join(missing)}; search again.", field="crm_ids")
    records = [found[i] for i in crm_ids]
    _mark_linked(connection, records)
    taken = [f for f in records if f.linked]
    if taken:
        raise DomainError("; ".join(f"“{f.name}” is already linked to deal registration {f.linked}" for f in taken)
                          + ". Nothing was imported.", field="crm_ids")
    now = utcnow()
    expires_at = now + timedelta(days=settings.get("deals")["protection_days"])
    made = []
    for record in records:
        deal = _registration(record, partner=partner, by=by, now=now, expires_at=expires_at)
        workflow.record_creation(deal, by=by, reason=f"Imported from {label} Opportunity “{record.name}” "
                                                     f"({record.crm_id})")
        crm.link_imported(deal, connection, crm_id=record.crm_id, url=record.url)
        notifications.deal_to_partner("deal_approved", deal, subject=f"Deal registration {deal.number} added",
                                      headline=f"The vendor registered the deal with {deal.customer_company} for you. "
                                               f"It protects you until {expires_at:%Y-%m-%d}.")
        made.append(deal)
    db.session.commit()
    return made


def _registration(record, *, partner: Organization, by: User, now, expires_at) -> DealRegistration:
    values = record.values
    deal = DealRegistration(
        partner_org=partner, registered_by=by, vendor_owner=by, status=DealStatus.APPROVED.value,
        customer_company=(values.get("customer_company") or record.name)[:200],
        customer_domain=_domain(values.get("customer_domain")), contact_name=(values.get("contact_name") or "")[:200],
        contact_email=(values.get("contact_email") or "").strip().lower()[:254] or None,
        contact_phone=(values.get("contact_phone") or "")[:40] or None,
        contact_title=(values.get("contact_title") or "")[:120] or None, products=values.get("products"),
        amount=values.get("amount"), currency="USD", expected_close=values.get("expected_close"),
        custom_fields={}, approved_at=now, expires_at=expires_at)
    db.session.add(deal)
    db.session.flush()
    deal.number = f"D-{deal.id:06d}"
    return deal


def _domain(website: str | None) -> str | None:
    """A Website ("https://www.acme.com/about") as the registration's domain ("acme.com")."""
    text = (website or "").strip().lower()
    text = text.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    text = text[4:] if text.startswith("www.") else text
    return text[:255] or None
