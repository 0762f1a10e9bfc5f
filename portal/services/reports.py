"""Read queries behind the dashboards: one grouped query per figure, scoped by services/access.py.

Whoever sees whole organizations (internal users; partner admins, and partner users whose admins
share the organization's referrals) reads the per-partner tallies (services/tallies.py): a few
rows per partner, however many referrals there are. A partner user who sees only their own
referrals gets them counted from the referrals table, on the indexes on (submitted_by_id, ...).

What comes from the tallies is read-cached (services/read_cache.py, behind the TALLIES stamp that
every commit changing a tally renews): a dashboard reads them once per change, not once per view.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import cached_property
from decimal import Decimal

from sqlalchemy import case, func, literal_column

from portal import clock, money
from portal.extensions import db
from portal.models import (Commission, CommissionStatus, CommissionTally, Organization, Referral, ReferralMonthTally,
                           ReferralTally, Stage, User)
from portal.services import access, organizations, read_cache, statuses

WON_STAGES = (Stage.WON_PAYMENT_PENDING.value, Stage.WON_PAYMENT_COMPLETED.value)
OPEN_STAGES = tuple(stage.value for stage in statuses.OPEN_STAGES)
# What a partner still expects (pending, approved) versus what it has received.
UNPAID_COMMISSIONS = (CommissionStatus.PENDING.value, CommissionStatus.APPROVED.value)


@dataclass
class StatusCount:
    key: str
    label: str
    stage: str
    count: int


@dataclass
class Month:
    start: date
    referrals: int
    wins: int

    @property
    def key(self) -> str:
        return self.start.strftime("%Y-%m")


@dataclass
class PartnerRank:
    organization_id: int
    name: str
    referrals: int
    wins: int


@dataclass
class Overview:
    by_status: list[StatusCount]
    pipeline: dict[str, Decimal]
    commissions_pending: dict[str, Decimal]
    commissions_paid: dict[str, Decimal]
    user: User = field(repr=False)
    now: datetime | None = None

    @cached_property
    def months(self) -> list[Month]:
        """The last twelve months (read when asked: the dashboards draw the activity chart instead)."""
        return monthly(self.user, now=self.now)

    @property
    def total(self) -> int:
        return sum(s.count for s in self.by_status)

    def count_in(self, stages) -> int:
        return sum(s.count for s in self.by_status if s.stage in stages)

    @property
    def open(self) -> int:
        return self.count_in(OPEN_STAGES)

    @property
    def won(self) -> int:
        return self.count_in(WON_STAGES)

    @property
    def waiting_for_review(self) -> int:
        """Submitted, waiting for an internal decision (the review queue, for an internal user's overview)."""
        return self.count_in((Stage.SUBMITTED.value,))


def overview(user: User, *, now: datetime | None = None) -> Overview:
    """Everything a dashboard shows about the referrals `user` may see."""
    paid, unpaid = commission_totals(user)
    counts, pipeline = _status_and_pipeline(user)
    return Overview(by_status=_with_every_status(counts), pipeline=pipeline, commissions_pending=unpaid,
                    commissions_paid=paid, user=user, now=now)


def by_status(user: User) -> list[StatusCount]:
    """Every status in workflow order with how many visible referrals have it (zero included)."""
    return _with_every_status(_status_and_pipeline(user)[0])


def pipeline_value(user: User) -> dict[str, Decimal]:
    """{currency: sum of estimated values} of the open referrals (submitted, accepted, with a reseller)."""
    return _status_and_pipeline(user)[1]


OWN_ONLY = object()


def whole_organizations(user: User):
    """None: every organization (internal users); an organization id: all of that one's referrals;
    OWN_ONLY: the user sees only some of their organization's referrals (the tallies do not apply)."""
    if user.is_internal:
        return None
    if user.is_partner_admin or user.organization.members_see_all_referrals:
        return user.organization_id
    return OWN_ONLY


def month_tallies(scope, months: list[str]) -> dict[str, tuple[int, int]]:
    """{'YYYY-MM': (submitted, won)} of `months` from the month tallies, for a scope of whole_organizations()."""
    t = ReferralMonthTally
    rows = _tally_rows(f"months:{scope}:{','.join(months)}",
                       lambda: _tallied(db.select(t.month, func.sum(t.submitted), func.sum(t.won))
                                        .where(t.month.in_(months)).group_by(t.month), t, scope))
    return {month: (int(submitted or 0), int(won or 0)) for month, submitted, won in rows}


def tallied_count(scope, *, partner_org_id: int | None = None, status: str = "", stage: str = "") -> int:
    """How many referrals a scope of whole_organizations() has, narrowed to a partner, status or stage."""
    t = ReferralTally

    def query():
        counted = _tallied(db.select(func.sum(t.referrals)), t, scope)
        if partner_org_id:
            counted = counted.where(t.partner_org_id == partner_org_id)
        if status:
            counted = counted.where(t.status == status)
        if stage:
            counted = counted.where(t.stage == stage)
        return counted
    (total,), = _tally_rows(f"count:{scope}:{partner_org_id or ''}:{status}:{stage}", query)
    return int(total or 0)


def _tallied(query, table, scope):
    return query if scope is None else query.where(table.partner_org_id == scope)


def _tally_rows(key: str, query) -> tuple[tuple, ...]:
    """The rows of `query()`, a read of the tallies only, from the read cache while no tally changed."""
    return read_cache.rows(read_cache.TALLIES, key, query)


def _status_and_pipeline(user: User) -> tuple[dict[str, int], dict[str, Decimal]]:
    """Counts by status and open value by currency, from one grouped pass over the visible referrals."""
    scope = whole_organizations(user)
    if scope is OWN_ONLY:
        query = (access.visible_referrals(user)
                 .with_only_columns(Referral.status, Referral.stage, Referral.currency, func.count(),
                                    func.sum(Referral.estimated_value))
                 .group_by(Referral.status, Referral.stage, Referral.currency))
        rows = db.session.execute(query)
    else:
        t = ReferralTally
        rows = _tally_rows(f"by_status:{scope}", lambda: _tallied(
            db.select(t.status, t.stage, t.currency, func.sum(t.referrals), func.sum(t.estimated_value))
            .group_by(t.status, t.stage, t.currency), t, scope))
    counts: dict[str, int] = {}
    open_values: dict[str, Decimal] = {}
    for status, stage, currency, count, value in rows:
        counts[status] = counts.get(status, 0) + count
        if stage in OPEN_STAGES and value is not None:
            open_values[currency] = open_values.get(currency, Decimal(0)) + value
    return counts, _money_by_currency(sorted(open_values.items()))


def _with_every_status(counts: dict[str, int]) -> list[StatusCount]:
    return [StatusCount(s.key, s.label, s.stage, counts.get(s.key, 0)) for s in statuses.all_statuses()]


def commission_totals(user: User) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """({currency: paid}, {currency: pending or approved}) of the commissions on visible referrals."""
    scope = whole_organizations(user)
    if scope is OWN_ONLY:
        visible_ids = access.visible_referrals(user).with_only_columns(Referral.id)
        rows = db.session.execute(
            db.select(Commission.status, Commission.currency, func.sum(Commission.amount))
            .where(Commission.status.in_((CommissionStatus.PAID.value, *UNPAID_COMMISSIONS)),
                   Commission.partner_org_id == user.organization_id, Commission.referral_id.in_(visible_ids))
            .group_by(Commission.status, Commission.currency).order_by(Commission.currency))
    else:
        t = CommissionTally
        rows = _tally_rows(f"commissions:{scope}", lambda: _tallied(
            db.select(t.status, t.currency, func.sum(t.amount))
            .where(t.status.in_((CommissionStatus.PAID.value, *UNPAID_COMMISSIONS)))
            .group_by(t.status, t.currency).order_by(t.currency), t, scope))
    paid: dict[str, Decimal] = {}
    unpaid: dict[str, Decimal] = {}
    for status, currency, total in rows:
        bucket = paid if status == CommissionStatus.PAID.value else unpaid
        bucket[currency] = money.quantize(bucket.get(currency, Decimal(0)) + (total or 0), currency)
    return paid, unpaid


def monthly(user: User, *, months: int = 12, now: datetime | None = None) -> list[Month]:
    """Referrals submitted and referrals won per calendar month (UTC), oldest first, empty months included."""
    starts = _month_starts(now or clock.now(), months)
    scope = whole_organizations(user)
    if scope is not OWN_ONLY:
        counts = month_tallies(scope, [start.strftime("%Y-%m") for start in starts])
        return [Month(start, *counts.get(start.strftime("%Y-%m"), (0, 0))) for start in starts]
    since = datetime(starts[0].year, starts[0].month, 1, tzinfo=timezone.utc)
    visible = access.visible_referrals(user)

    submitted_month = _month_key(Referral.created_at)
    submitted = _by_month(db.session.execute(
        visible.with_only_columns(submitted_month, func.count()).where(Referral.created_at >= since)
        .group_by(submitted_month)))
    won_month = _month_key(Referral.won_at)
    won = _by_month(db.session.execute(
        visible.with_only_columns(won_month, func.count())
        .where(Referral.stage.in_(WON_STAGES), Referral.won_at >= since).group_by(won_month)))
    return [Month(start, submitted.get(start.strftime("%Y-%m"), 0), won.get(start.strftime("%Y-%m"), 0))
            for start in starts]


def review_queue_size() -> int:
    """Submitted referrals waiting for an internal decision."""
    (total,), = _tally_rows("review_queue", lambda: db.select(func.sum(ReferralTally.referrals))
                            .where(ReferralTally.stage == Stage.SUBMITTED.value))
    return int(total or 0)


def top_partners(*, limit: int = 5) -> list[PartnerRank]:
    """The partners with the most referrals, with how many of them were won."""
    t = ReferralTally
    total = func.sum(t.referrals)
    ranked = _tally_rows(f"top_partners:{limit}", lambda: (
        db.select(t.partner_org_id, total, func.sum(case((t.stage.in_(WON_STAGES), t.referrals), else_=0)))
        .group_by(t.partner_org_id).order_by(total.desc(), t.partner_org_id).limit(limit)))
    # The names from the read-cached list of partners (renaming one changes the organizations' stamp).
    names = {partner.id: partner.name for partner in organizations.partner_names()}
    missing = [org_id for org_id, _, _ in ranked if org_id not in names]
    if missing:
        names.update(db.session.execute(db.select(Organization.id, Organization.name)
                                        .where(Organization.id.in_(missing))).all())
    ranks = [PartnerRank(org_id, names[org_id], int(count), int(wins or 0))
             for org_id, count, wins in ranked if org_id in names]
    return sorted(ranks, key=lambda rank: (-rank.referrals, rank.name))


def _month_key(column):
    """The month of a UTC timestamp column, computed by the database (grouping happens there)."""
    if db.session.get_bind().dialect.name == "postgresql":
        # date_trunc is about twice as fast as to_char over a few hundred thousand rows.
        return func.date_trunc(literal_column("'month'"), column)
    # The format is inlined, not bound, so the GROUP BY expression is textually the selected one.
    return func.strftime(literal_column("'%Y-%m'"), column)


def _by_month(rows) -> dict[str, int]:
    """{'YYYY-MM': count} from (month, count) rows: a timestamp on PostgreSQL, already text on SQLite."""
    return {(month if isinstance(month, str) else month.strftime("%Y-%m")): count for month, count in rows}


def _month_starts(now: datetime, months: int) -> list[date]:
    year, month = now.astimezone(timezone.utc).year, now.astimezone(timezone.utc).month
    starts = []
    for _ in range(months):
        starts.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return starts[::-1]


def _money_by_currency(rows) -> dict[str, Decimal]:
    return {currency: money.quantize(total or 0, currency) for currency, total in rows}
