"""Read queries for the deal registration pages: lists with filters, the review queue, counts, timelines."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from sqlalchemy.orm import aliased, joinedload

from portal.extensions import db
from portal.models import DealRegistration, DealStatus, DealTally, Organization, StatusEvent, User
from portal.services import access, read_cache
from portal.services.referrals.queries import Window, one_page

PER_PAGE = 25
QUEUE_STATUSES = (DealStatus.SUBMITTED.value, DealStatus.PRE_APPROVED.value)
# What a list or queue row shows, and only that: plain rows of these columns (see the referrals'
# ROW_COLUMNS), named as the model's so a template draws a DealRegistration the same way.
_DISTRIBUTOR = aliased(Organization)
ROW_COLUMNS = (DealRegistration.id, DealRegistration.number, DealRegistration.partner_org_id,
               DealRegistration.distributor_org_id, DealRegistration.customer_company, DealRegistration.created_at,
               DealRegistration.expected_close, DealRegistration.expires_at, DealRegistration.amount,
               DealRegistration.currency, DealRegistration.status, DealRegistration.conflict_flag,
               Organization.name.label("partner_name"), _DISTRIBUTOR.name.label("distributor_name"))


def _rows(query):
    """`query` (a select of deal registrations) as a select of ROW_COLUMNS."""
    return (query.with_only_columns(*ROW_COLUMNS)
            .join(Organization, Organization.id == DealRegistration.partner_org_id)
            .outerjoin(_DISTRIBUTOR, _DISTRIBUTOR.id == DealRegistration.distributor_org_id))


@dataclass
class DealFilters:
    q: str = ""
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None
    partner_org_id: int | None = None
    custom: dict[str, str] = field(default_factory=dict)


def list_for_user(user: User, filters: DealFilters, *, page: int = 1, per_page: int = PER_PAGE) -> Window:
    """The registrations `user` may see, filtered, newest first; pages without counting them all."""
    page = max(page, 1)
    items = _page(_filtered(access.visible_deals(user), filters),
                  (DealRegistration.created_at.desc(), DealRegistration.id.desc()), page=page, per_page=per_page)
    return Window(items[:per_page], page, has_next=len(items) > per_page)


def review_queue(*, q: str = "", status: str = "", flagged: bool = False, page: int = 1,
                 per_page: int = PER_PAGE) -> Window:
    """Registrations waiting for an internal decision (submitted, pre-approved), oldest first."""
    page = max(page, 1)
    wanted = (status,) if status in QUEUE_STATUSES else QUEUE_STATUSES
    query = db.select(DealRegistration).where(DealRegistration.status.in_(wanted))
    if flagged:
        query = query.where(DealRegistration.conflict_flag.is_(True))
    items = _page(_filtered(query, DealFilters(q=q)), (DealRegistration.created_at, DealRegistration.id),
                  page=page, per_page=per_page)
    return Window(items[:per_page], page, has_next=len(items) > per_page)


def _page(filtered, order: tuple, *, page: int, per_page: int) -> list:
    """Rows of page `page` of `filtered` in `order`, and one more (so the page knows a next one is there)."""
    on_page = one_page(filtered, DealRegistration.id, order, offset=(page - 1) * per_page, limit=per_page + 1)
    return list(db.session.execute(_rows(db.select(DealRegistration).where(on_page)).order_by(*order)))


def extension_requests(*, limit: int = 50) -> list[DealRegistration]:
    """Approved registrations whose partner asked for an extension, oldest request first."""
    return list(db.session.scalars(db.select(DealRegistration).where(
        DealRegistration.status == DealStatus.APPROVED.value, DealRegistration.extension_requested_at.is_not(None))
        .order_by(DealRegistration.extension_requested_at).limit(limit)
        .options(joinedload(DealRegistration.partner_org))))


def count_by_status(user: User) -> dict[str, int]:
    """{status: how many} of the registrations `user` may see. Internal users and whoever sees a
    whole partner organization's: from the per-partner tallies (services/tallies.py), not the table;
    a member's own, or a distributor's (which also counts those naming it), on their indexes."""
    if user.is_internal:
        return _tallied()
    if user.organization.kind != "distributor" and (user.is_partner_admin
                                                    or user.organization.members_see_all_referrals):
        return _tallied(user.organization_id)  # the whole organization's: its tallies, whatever their size
    query = (access.visible_deals(user).with_only_columns(DealRegistration.status, db.func.count())
             .group_by(DealRegistration.status))
    return dict(db.session.execute(query).all())


def _tallied(partner_org_id: int | None = None) -> dict[str, int]:
    def query():
        counted = db.select(DealTally.status, db.func.sum(DealTally.deals)).group_by(DealTally.status)
        return counted if partner_org_id is None else counted.where(DealTally.partner_org_id == partner_org_id)
    rows = read_cache.rows(read_cache.TALLIES, f"deals:{partner_org_id}", query)
    return {status: int(count) for status, count in rows if count}


def timeline(deal: DealRegistration) -> list[StatusEvent]:
    return list(db.session.scalars(db.select(StatusEvent).where(
        StatusEvent.entity_type == "deal", StatusEvent.entity_id == deal.id).order_by(StatusEvent.at, StatusEvent.id)))


def for_referral(referral_id: int) -> DealRegistration | None:
    """The newest registration made of a referral (the referrer follows it on the referral's page)."""
    return db.session.scalar(db.select(DealRegistration).where(DealRegistration.referral_id == referral_id)
                             .order_by(DealRegistration.id.desc()))


def for_lead(lead_id: int) -> DealRegistration | None:
    return db.session.scalar(db.select(DealRegistration).where(DealRegistration.lead_id == lead_id)
                             .order_by(DealRegistration.id.desc()))


def _filtered(query, filters: DealFilters):
    if filters.q:
        text = filters.q.strip()
        like = f"%{text.lower()}%"
        query = query.where(db.or_(
            db.func.lower(DealRegistration.customer_company).like(like),
            db.func.lower(DealRegistration.contact_name).like(like), DealRegistration.contact_email.like(like),
            DealRegistration.customer_domain.like(like), DealRegistration.number.like(f"%{text.upper()}%")))
    if filters.status:
        query = query.where(DealRegistration.status == filters.status)
    if filters.date_from:
        query = query.where(DealRegistration.created_at >= datetime.combine(filters.date_from, time.min, timezone.utc))
    if filters.date_to:
        query = query.where(DealRegistration.created_at <= datetime.combine(filters.date_to, time.max, timezone.utc))
    if filters.partner_org_id:
        query = query.where(DealRegistration.partner_org_id == filters.partner_org_id)
    for key, value in filters.custom.items():
        if value:
            query = query.where(DealRegistration.custom_fields[key].as_string() == value)
    return query
