"""The dashboards' counts, kept per partner in the same transaction as the change they count:
referrals by status and month, commissions by status, deal registrations by status.

A dashboard that grouped the referrals table costs more with every referral (the internal one read
all of them on every load). Instead each commit brings the partners it touched up to date: a new
referral, commission or deal registration adds one to its rows (the common case: submissions), any
other change of a partner's rows recounts that partner from its own rows (an indexed range, not
the table). The hook is on every session, so no use case can forget it; writes that bypass the ORM
(the benchmark's bulk seeding) call `rebuild()`. On PostgreSQL a transaction-scoped advisory lock
per partner serializes the writers of one partner's tallies; SQLite has one writer at a time anyway.
The last write of such a commit gives the read cache's TALLIES stamp a new value, so every process
serves the dashboards' counts from memory until the next change (services/reports.py).
"""
from __future__ import annotations

from sqlalchemy import bindparam, delete, event, func, insert, inspect, literal_column, select, text
from sqlalchemy.orm import Session

from portal.jobs import locks
from portal.models import Commission, DealRegistration, Referral
from portal.models.referrals import Stage
from portal.models.tallies import CommissionTally, DealTally, ReferralMonthTally, ReferralTally
from portal.services import read_cache

WON_STAGES = (Stage.WON_PAYMENT_PENDING.value, Stage.WON_PAYMENT_COMPLETED.value)
_TOUCHED, _ADDED = "tallies_touched", "tallies_added"
TALLIED = (Referral, Commission, DealRegistration)


def month_of(column, dialect_name: str):
    """'YYYY-MM' of a UTC timestamp column, computed by the database."""
    if dialect_name == "postgresql":
        return func.to_char(column, literal_column("'YYYY-MM'"))
    # The format is inlined, not bound, so a GROUP BY on it is textually the selected expression.
    return func.strftime(literal_column("'%Y-%m'"), column)


def rebuild(session: Session, partner_org_id: int | None = None) -> None:
    """Recount the tallies of one partner (or of all) from the referrals and commissions; never commits.
    A caller outside a commit (bulk seeding) also calls `read_cache.written(read_cache.TALLIES)`."""
    dialect = session.get_bind().dialect.name
    for table in (ReferralTally, ReferralMonthTally, CommissionTally, DealTally):
        statement = delete(table)
        session.execute(statement if partner_org_id is None else statement.where(table.partner_org_id == partner_org_id))

    def only(query, column):
        return query if partner_org_id is None else query.where(column == partner_org_id)

    r = Referral
    session.execute(insert(ReferralTally).from_select(
        ["partner_org_id", "status", "stage", "currency", "referrals", "estimated_value"],
        only(select(r.partner_org_id, r.status, r.stage, r.currency, func.count(), func.sum(r.estimated_value)),
             r.partner_org_id).group_by(r.partner_org_id, r.status, r.stage, r.currency)))
    submitted_month = month_of(r.created_at, dialect)
    won_month = month_of(r.won_at, dialect)
    submitted = only(select(r.partner_org_id.label("p"), submitted_month.label("m"), func.count().label("s"),
                            literal_column("0").label("w")), r.partner_org_id).group_by(r.partner_org_id, submitted_month)
    won = only(select(r.partner_org_id.label("p"), won_month.label("m"), literal_column("0").label("s"),
                      func.count().label("w")).where(r.stage.in_(WON_STAGES), r.won_at.is_not(None)),
               r.partner_org_id).group_by(r.partner_org_id, won_month)
    both = submitted.union_all(won).subquery()
    session.execute(insert(ReferralMonthTally).from_select(
        ["partner_org_id", "month", "submitted", "won"],
        select(both.c.p, both.c.m, func.sum(both.c.s), func.sum(both.c.w)).group_by(both.c.p, both.c.m)))
    c = Commission
    session.execute(insert(CommissionTally).from_select(
        ["partner_org_id", "status", "currency", "commissions", "amount"],
        only(select(c.partner_org_id, c.status, c.currency, func.count(), func.sum(c.amount)), c.partner_org_id)
        .group_by(c.partner_org_id, c.status, c.currency)))
    d = DealRegistration
    session.execute(insert(DealTally).from_select(
        ["partner_org_id", "status", "deals"],
        only(select(d.partner_org_id, d.status, func.count()), d.partner_org_id).group_by(d.partner_org_id, d.status)))


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, flush_context, instances) -> None:
    touched = session.info.setdefault(_TOUCHED, set())
    added = session.info.setdefault(_ADDED, {})  # id(row) -> row inserted by this transaction
    for obj in session.new:
        if isinstance(obj, TALLIED):
            added[id(obj)] = obj
    for obj in session.deleted:
        if isinstance(obj, TALLIED):
            touched.update(_partners_of(obj))
            added.pop(id(obj), None)
    for obj in session.dirty:
        # A row inserted by this transaction is counted once, as it is at the commit (a new
        # referral gets its number in a second flush: that is no reason to recount its partner).
        if isinstance(obj, TALLIED) and id(obj) not in added and session.is_modified(obj):
            touched.update(_partners_of(obj))


def _partners_of(obj) -> set[int]:
    """The partner a changed row belongs to now, and the one it belonged to before the change."""
    # load_history: a row expired by an earlier commit (then deleted) still names its partner.
    history = inspect(obj).attrs.partner_org_id.load_history()
    return {value for value in (*history.added, *history.unchanged, *history.deleted) if value is not None}


@event.listens_for(Session, "before_commit")
def _bring_up_to_date(session: Session) -> None:
    if session.in_nested_transaction():
        # A savepoint's release is no commit: counting then would count its rows at once and the
        # rest of the transaction's changes to them as changes (a recount of the whole partner).
        return
    if not (session.info.get(_TOUCHED) or session.info.get(_ADDED) or session.new or session.dirty or session.deleted):
        return
    session.flush()  # the commit's own flush comes after this hook: flush now, so every change is noted
    touched = session.info.pop(_TOUCHED, set())
    # Rows of a rolled-back savepoint are no longer persistent: they count for nothing.
    added = [obj for obj in session.info.pop(_ADDED, {}).values()
             if inspect(obj).persistent and obj.partner_org_id not in touched]
    partners = sorted(touched | {obj.partner_org_id for obj in added})
    if not partners:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # Sorted, so two transactions touching the same partners take their locks in the same order.
        for partner_org_id in partners:
            locks.advisory_lock(session, f"tallies:{partner_org_id}")
    for partner_org_id in sorted(touched):
        rebuild(session, partner_org_id)
    for obj in added:
        _count_new(session, obj)
    read_cache.written(read_cache.TALLIES, session)


# Text, in the upsert syntax PostgreSQL and SQLite share, built once: SQLAlchemy does not cache the
# compiled form of an ON CONFLICT insert, and compiling one cost more than running it (a link
# submission made three). A sum of nothing but empty values stays empty, as SUM() would say.
def _upsert(table, keys: str, added: tuple[str, ...], total: str | None = None):
    name = table.__tablename__
    columns = [column.name for column in table.__table__.columns if column.name != "id"]
    updates = [f"{count} = {name}.{count} + excluded.{count}" for count in added]
    if total:
        updates.append(f"{total} = coalesce({name}.{total} + excluded.{total}, {name}.{total}, excluded.{total})")
    statement = text(f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)})"
                     f" ON CONFLICT ({keys}) DO UPDATE SET {', '.join(updates)}")
    # Typed binds: SQLite's driver takes no Decimal, the column type converts it.
    return statement.bindparams(*(bindparam(c, type_=table.__table__.c[c].type) for c in columns))


_ADD_REFERRAL = _upsert(ReferralTally, "partner_org_id, status, currency", ("referrals",), "estimated_value")
_ADD_MONTH = _upsert(ReferralMonthTally, "partner_org_id, month", ("submitted", "won"))
_ADD_COMMISSION = _upsert(CommissionTally, "partner_org_id, status, currency", ("commissions",), "amount")
_ADD_DEAL = _upsert(DealTally, "partner_org_id, status", ("deals",))


def _count_new(session: Session, obj) -> None:
    if isinstance(obj, DealRegistration):
        session.execute(_ADD_DEAL, {"partner_org_id": obj.partner_org_id, "status": obj.status, "deals": 1})
        return
    if isinstance(obj, Commission):
        session.execute(_ADD_COMMISSION, {"partner_org_id": obj.partner_org_id, "status": obj.status,
                                          "currency": obj.currency, "commissions": 1, "amount": obj.amount})
        return
    session.execute(_ADD_REFERRAL, {"partner_org_id": obj.partner_org_id, "status": obj.status, "stage": obj.stage,
                                    "currency": obj.currency, "referrals": 1, "estimated_value": obj.estimated_value})
    months = [(obj.created_at.strftime("%Y-%m"), 1, 0)]
    if obj.stage in WON_STAGES and obj.won_at is not None:
        months.append((obj.won_at.strftime("%Y-%m"), 0, 1))
    for month, submitted, won in months:
        session.execute(_ADD_MONTH, {"partner_org_id": obj.partner_org_id, "month": month,
                                     "submitted": submitted, "won": won})


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous) -> None:
    if previous.nested:
        return  # a savepoint: the changes before it still commit (its own new rows drop out above)
    session.info.pop(_TOUCHED, None)
    session.info.pop(_ADDED, None)
