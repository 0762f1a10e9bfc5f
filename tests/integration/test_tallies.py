"""The dashboards' tallies stay equal to a recount, whatever the use cases did, in the same transaction."""
from __future__ import annotations

from decimal import Decimal

from portal.models import CommissionTally, ReferralMonthTally, ReferralTally
from portal.services import referrals, reports, statuses, tallies

from tests.factories import (CommissionPlanFactory, OrganizationFactory, ReferralFactory, internal_user,
                             partner_user)


def _snapshot(session) -> dict:
    def rows(table, *columns):
        return sorted(tuple(getattr(row, c) for c in columns) for row in session.scalars(session.query(table).statement)
                      if getattr(row, columns[-2]) or getattr(row, columns[-1]))

    return {"status": rows(ReferralTally, "partner_org_id", "status", "stage", "currency", "referrals",
                           "estimated_value"),
            "month": rows(ReferralMonthTally, "partner_org_id", "month", "submitted", "won"),
            "commission": rows(CommissionTally, "partner_org_id", "status", "currency", "commissions", "amount")}


def _recounted(session) -> dict:
    savepoint = session.begin_nested()
    tallies.rebuild(session)
    counted = _snapshot(session)
    savepoint.rollback()
    return counted


def test_tallies_follow_submissions_decisions_wins_and_failed_bulk_items(db):
    statuses.ensure_builtin()
    gold = OrganizationFactory(tier="gold")
    other = OrganizationFactory(tier="silver")
    CommissionPlanFactory(tier="gold", percent=Decimal("10"))
    manager = internal_user("manager")
    first, second, third = (ReferralFactory(partner_org=gold) for _ in range(3))
    euro = ReferralFactory(partner_org=other, currency="EUR", estimated_value=None)
    assert _snapshot(db.session) == _recounted(db.session) and _snapshot(db.session)["status"]

    referrals.accept(first, by=manager)
    referrals.mark_won(first, amount=Decimal("2000"), by=manager)
    referrals.mark_commission_paid(first, by=manager)
    referrals.reject(euro, by=manager, reason="Known customer")
    # One of the bulk's items fails inside its savepoint: the others still count, it does not.
    done, problems = referrals.bulk_accept([second, third, euro], by=manager)
    assert (done, len(problems)) == (2, 1)
    assert _snapshot(db.session) == _recounted(db.session)

    overview = reports.overview(manager)
    assert (overview.total, overview.won, overview.open) == (4, 1, 2)
    assert overview.commissions_paid == {"USD": Decimal("200.00")}
    assert reports.review_queue_size() == 0
    assert [(p.organization_id, p.referrals, p.wins) for p in reports.top_partners()][0] == (gold.id, 3, 1)


def test_a_partner_admin_reads_the_tallies_and_a_partner_user_their_own_referrals(db):
    org = OrganizationFactory()
    admin = partner_user("partner_admin", organization=org)
    user = partner_user("partner_user", organization=org)
    ReferralFactory(partner_org=org, submitted_by=user)
    ReferralFactory(partner_org=org, submitted_by=admin)
    ReferralFactory()  # another partner's
    assert reports.overview(admin).total == 2
    assert reports.overview(user).total == 1
    assert sum(m.referrals for m in reports.overview(admin).months) == 2


def test_the_lists_total_comes_from_the_tallies_and_equals_a_count_of_the_rows(db):
    statuses.ensure_builtin()
    north, south = OrganizationFactory(), OrganizationFactory()
    for org, stage, count in ((north, "submitted", 3), (north, "accepted", 2), (south, "submitted", 4)):
        for _ in range(count):
            ReferralFactory(partner_org=org, stage=stage, status=stage, company_name=f"{org.name} customer")
    db.session.commit()
    manager, admin = internal_user("manager"), partner_user("partner_admin", organization=north)
    cases = [(manager, {}, 9), (manager, {"status": "submitted"}, 7), (manager, {"partner_org_id": south.id}, 4),
             (manager, {"stage": "accepted", "partner_org_id": north.id}, 2), (admin, {}, 5),
             (admin, {"status": "submitted"}, 3), (admin, {"partner_org_id": south.id}, 0),
             # A filter the tallies do not keep is counted on the rows.
             (manager, {"q": south.name.lower()}, 4)]
    for user, filters, total in cases:
        page = referrals.list_for_user(user, referrals.ReferralFilters(**filters))
        assert page.total == total, (user.role, filters)


def test_deal_tallies_follow_registrations_and_decisions_and_give_the_internal_counts(db):
    from portal.models import DealRegistration
    from portal.services import deals
    from tests.factories import DealRegistrationFactory

    north, south = OrganizationFactory(), OrganizationFactory()
    first, second = DealRegistrationFactory(partner_org=north), DealRegistrationFactory(partner_org=north)
    DealRegistrationFactory(partner_org=south)
    db.session.commit()
    manager = internal_user("manager")
    deals.pre_approve(first, by=manager)
    deals.reject(second, by=manager, reason="Not a fit.")
    counted = dict(db.session.execute(db.select(DealRegistration.status, db.func.count())
                                      .group_by(DealRegistration.status)).all())
    assert deals.count_by_status(manager) == counted == {"pre_approved": 1, "rejected": 1, "submitted": 1}
    assert _snapshot(db.session) == _recounted(db.session)
    db.session.delete(first)
    db.session.commit()
    assert deals.count_by_status(manager) == {"rejected": 1, "submitted": 1}


def test_a_partners_deal_counts_are_its_own_whether_read_from_its_tallies_or_its_rows(db):
    from portal.services import deals
    from tests.factories import DealRegistrationFactory

    north, south = OrganizationFactory(), OrganizationFactory()
    admin = partner_user(role="partner_admin", organization=north)
    member = partner_user(role="partner_user", organization=north)
    DealRegistrationFactory(partner_org=north, owner=member, registered_by=member)
    rejected = DealRegistrationFactory(partner_org=north, owner=admin, registered_by=admin)
    DealRegistrationFactory(partner_org=south)
    db.session.commit()
    deals.reject(rejected, by=internal_user("manager"), reason="Not a fit.")
    assert deals.count_by_status(admin) == {"submitted": 1, "rejected": 1}     # the organization's tallies
    assert deals.count_by_status(member) == {"submitted": 1}                   # the member's own rows
    north.members_see_all_referrals = True
    db.session.commit()
    assert deals.count_by_status(member) == {"submitted": 1, "rejected": 1}
