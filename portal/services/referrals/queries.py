"""Read queries for the referral pages: lists with filters, the review queue, counts, the timeline."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone

from portal.extensions import db
from portal.models import Organization, Referral, ReferralLink, Stage, StatusEvent, User
from portal.services import access, reports

PER_PAGE = 25
# What a list row shows (the rows templates), and only that: lists are plain rows of these columns
# (column-only queries; an ORM object per row cost more than the page's query). A row's names are
# the model's, so a template draws a Referral (a row action's answer) the same way.
ROW_COLUMNS = (Referral.id, Referral.number, Referral.partner_org_id, Referral.link_id, Referral.company_name,
               db.func.trim(Referral.contact_first_name + " " + Referral.contact_last_name).label("contact_name"),
               Referral.created_at, Referral.estimated_value, Referral.currency, Referral.status, Referral.stage,
               Referral.duplicate_flag, Organization.name.label("partner_name"))


@dataclass
class ReferralFilters:
    q: str = ""
    status: str = ""
    stage: str = ""
    date_from: date | None = None
    date_to: date | None = None
    partner_org_id: int | None = None
    custom: dict[str, str] = field(default_factory=dict)


@dataclass
class Page:
    """One page of a list, with the total (counted on the filters alone, without the rows' joins)."""

    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def list_for_user(user: User, filters: ReferralFilters, *, page: int = 1, per_page: int = PER_PAGE) -> Page:
    """The referrals `user` may see, filtered, newest first, paginated on the server."""
    page = max(page, 1)
    filtered = _filtered(access.visible_referrals(user), filters)
    total = _total(user, filters, filtered)
    # Rows show the link a referral came through.
    query = (_page(filtered, (Referral.created_at.desc(), Referral.id.desc()), offset=(page - 1) * per_page,
                   limit=per_page)
             .add_columns(ReferralLink.campaign.label("link_campaign"))
             .outerjoin(ReferralLink, ReferralLink.id == Referral.link_id))
    return Page(list(db.session.execute(query)), page, per_page, total)


def _page(filtered, order: tuple, *, offset: int, limit: int):
    """A select of ROW_COLUMNS for one page of `filtered` (a select of referrals) in `order`."""
    return _rows(db.select(Referral).where(one_page(filtered, Referral.id, order, offset=offset,
                                                    limit=limit))).order_by(*order)


def one_page(filtered, key, order: tuple, *, offset: int, limit: int):
    """The condition "`key` is on this page of `filtered` in `order`". The page's keys are found
    first, in the index alone (the lists' indexes end on the id, as their order does); only then
    are their rows read and joined: joined before the offset, every row skipped to reach page 20
    was read and joined too."""
    return key.in_(filtered.with_only_columns(key).order_by(*order).offset(offset).limit(limit))


def _rows(query):
    """`query` (a select of referrals) as a select of ROW_COLUMNS."""
    return query.with_only_columns(*ROW_COLUMNS).join(Organization, Organization.id == Referral.partner_org_id)


def _total(user: User, filters: ReferralFilters, filtered) -> int:
    """The list's total: from the per-partner tallies when the filters are ones they keep (status,
    stage, partner) and the user sees whole organizations, so it does not grow with the table;
    counted on the filters otherwise."""
    scope = reports.whole_organizations(user)
    if scope is reports.OWN_ONLY or filters.q or filters.date_from or filters.date_to or any(filters.custom.values()):
        return db.session.scalar(filtered.with_only_columns(db.func.count()).select_from(Referral)) or 0
    return reports.tallied_count(scope, partner_org_id=filters.partner_org_id, status=filters.status,
                                 stage=filters.stage)


@dataclass
class Window:
    """One page of a list whose total is not counted (counting a long queue costs more than the page)."""

    items: list
    page: int
    has_next: bool
    total = None
    pages = None

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def review_queue(*, q: str = "", page: int = 1, per_page: int = PER_PAGE) -> Window:
    """Submitted referrals waiting for an internal decision, oldest first."""
    page = max(page, 1)
    waiting = _filtered(db.select(Referral).where(Referral.stage == Stage.SUBMITTED.value), ReferralFilters(q=q))
    items = list(db.session.execute(_page(waiting, (Referral.created_at, Referral.id), offset=(page - 1) * per_page,
                                          limit=per_page + 1)))
    return Window(items[:per_page], page, has_next=len(items) > per_page)


def count_by_stage(user: User) -> dict[str, int]:
    query = access.visible_referrals(user).with_only_columns(Referral.stage, db.func.count()).group_by(Referral.stage)
    return dict(db.session.execute(query).all())


def timeline(entity_type: str, entity_id: int) -> list[StatusEvent]:
    return list(db.session.scalars(db.select(StatusEvent).where(
        StatusEvent.entity_type == entity_type, StatusEvent.entity_id == entity_id).order_by(StatusEvent.at, StatusEvent.id)))


def _filtered(query, filters: ReferralFilters):
    if filters.q:
        like = f"%{filters.q.strip().lower()}%"
        query = query.where(db.or_(
            db.func.lower(Referral.company_name).like(like), db.func.lower(Referral.contact_last_name).like(like),
            db.func.lower(Referral.contact_first_name).like(like), Referral.contact_email.like(like),
            Referral.number.like(f"%{filters.q.strip().upper()}%")))
    if filters.status:
        query = query.where(Referral.status == filters.status)
    if filters.stage:
        query = query.where(Referral.stage == filters.stage)
    if filters.date_from:
        query = query.where(Referral.created_at >= datetime.combine(filters.date_from, time.min, timezone.utc))
    if filters.date_to:
        query = query.where(Referral.created_at <= datetime.combine(filters.date_to, time.max, timezone.utc))
    if filters.partner_org_id:
        query = query.where(Referral.partner_org_id == filters.partner_org_id)
    for key, value in filters.custom.items():
        if value:
            query = query.where(Referral.custom_fields[key].as_string() == value)
    return query
