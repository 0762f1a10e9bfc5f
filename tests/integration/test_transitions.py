"""The shared transition mechanism, the non-committing cores, and use cases that check before they write."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event

from portal.errors import DomainError, InvalidTransition
from portal.models import Commission, Lead, Referral, StatusEvent
from portal.services import leads, referrals, statuses

from tests.factories import CommissionPlanFactory, OrganizationFactory, ReferralFactory, internal_user, partner_user


@contextmanager
def no_commit(session):
    """Fails the test if the code inside commits (a core must leave the commit to its caller)."""
    commits = []
    listener = lambda s: commits.append(s)  # noqa: E731
    event.listen(session, "after_commit", listener)
    try:
        yield
    finally:
        event.remove(session, "after_commit", listener)
    assert not commits, "a non-committing core committed"


@contextmanager
def writes_nothing(session):
    """Fails the test if the code inside left any change behind, flushed or pending."""
    flushed = []
    listener = lambda s, context, instances: flushed.extend(s.new | s.dirty | s.deleted)  # noqa: E731
    event.listen(session, "before_flush", listener)
    try:
        yield
    finally:
        event.remove(session, "before_flush", listener)
    pending = [obj for obj in session.dirty if session.is_modified(obj)]
    assert not flushed and not session.new and not pending and not session.deleted, \
        f"changed before refusing: {flushed or list(session.new) or pending}"


@pytest.fixture
def scene(db):
    statuses.ensure_builtin()  # stored once, as `portal init` does, so reading a status writes nothing
    partner = OrganizationFactory(tier="gold", name="Northwind")
    reseller = OrganizationFactory(kind="distributor", name="Atlas")
    CommissionPlanFactory(tier="gold", percent=Decimal("10"))
    manager = internal_user("manager")
    db.session.commit()
    return {"partner": partner, "reseller": reseller, "manager": manager,
            "referral": ReferralFactory(partner_org=partner)}


def _events(entity_type, entity_id):
    return [(e.from_status, e.to_status, e.actor_id, e.actor_label, e.reason) for e in referrals.timeline(entity_type, entity_id)]


def test_referrals_and_leads_move_through_one_mechanism_that_records_actor_and_reason(db, scene):
    referral, manager, reseller = scene["referral"], scene["manager"], scene["reseller"]
    referrals.route_to_reseller(referral, by=manager, reseller=reseller)
    lead = db.session.scalars(db.select(Lead)).one()
    reseller_admin = partner_user(role="partner_admin", organization=reseller)
    leads.decline(lead, by=reseller_admin, reason="Not our region")

    assert _events("referral", referral.id)[-1] == ("submitted", "sent_to_reseller", manager.id, None,
                                                    "Lead sent to Atlas")
    assert _events("lead", lead.id) == [(None, "new", manager.id, None, None),
                                        ("new", "declined", reseller_admin.id, None, "Not our region")]
    assert (lead.status, lead.decline_reason) == ("declined", "Not our region")
    # Both refuse a move their workflow does not allow, with their own wording, before writing anything.
    with writes_nothing(db.session), pytest.raises(InvalidTransition, match="already declined"):
        leads.accept(lead, by=reseller_admin)
    lost = ReferralFactory(partner_org=scene["partner"], status="lost", stage="lost")
    with writes_nothing(db.session), pytest.raises(InvalidTransition, match="lost cannot become accepted"):
        referrals.accept(lost, by=manager)


def test_the_won_core_composes_with_a_lead_answer_in_one_transaction(db, scene):
    referral, manager, reseller = scene["referral"], scene["manager"], scene["reseller"]
    referrals.route_to_reseller(referral, by=manager, reseller=reseller)
    lead = db.session.scalars(db.select(Lead)).one()
    reseller_admin = partner_user(role="partner_admin", organization=reseller)

    with no_commit(db.session):
        leads.apply_accept(lead, by=reseller_admin)
        commission = referrals.apply_won(referral, amount=Decimal("8000"), by=None, actor_label="Deal registration")
    assert commission.amount == Decimal("800.00")
    db.session.rollback()  # the caller decides: nothing of either survives
    assert (lead.status, referral.stage) == ("new", "sent_to_reseller")
    assert db.session.scalar(db.select(db.func.count()).select_from(Commission)) == 0

    with no_commit(db.session):
        leads.apply_accept(lead, by=reseller_admin)
        referrals.apply_won(referral, amount=Decimal("8000"), by=None, actor_label="Deal registration")
    db.session.commit()  # one commit for both
    db.session.expire_all()
    assert (lead.status, referral.stage, referral.won_amount) == ("accepted", "won_payment_pending", Decimal("8000.00"))
    assert _events("referral", referral.id)[-1][1:4] == ("won_payment_pending", None, "Deal registration")


def test_commission_paid_and_lead_expiry_have_cores_that_never_commit(db, scene, clock):
    referral, manager = scene["referral"], scene["manager"]
    referrals.mark_won(referral, amount=Decimal("1000"), by=manager)
    with no_commit(db.session):
        commission = referrals.apply_commission_paid(referral, by=manager)
    assert (commission.status, referral.stage) == ("paid", "won_payment_completed")
    db.session.commit()

    other = ReferralFactory(partner_org=scene["partner"])
    lead = leads.create(other, reseller=scene["reseller"], respond_by=None, by=manager)
    db.session.commit()
    with writes_nothing(db.session), pytest.raises(InvalidTransition, match="can still be answered"):
        leads.apply_expire(lead)
    clock.advance(timedelta(days=30))
    with no_commit(db.session):
        leads.apply_expire(lead)
    assert lead.status == "expired"
    assert _events("lead", lead.id)[-1] == ("new", "expired", None, leads.EXPIRY_ACTOR, None)


def test_use_cases_refuse_before_they_change_anything(db, scene, clock):
    referral, manager, partner, reseller = scene["referral"], scene["manager"], scene["partner"], scene["reseller"]
    inactive_owner = internal_user("sales", active=False)
    won = ReferralFactory(partner_org=partner)
    referrals.mark_won(won, amount=Decimal("500"), by=manager)
    referrals.mark_commission_paid(won, by=manager)
    unplanned = ReferralFactory(partner_org=OrganizationFactory(tier=None), status="won_payment_pending",
                                stage="won_payment_pending")
    lead = leads.create(ReferralFactory(partner_org=partner), reseller=reseller, respond_by=None, by=manager)
    db.session.commit()
    db.session.expire_all()

    refusals = [
        (lambda: referrals.route_to_reseller(referral, by=manager, reseller=partner), "back to the partner"),
        (lambda: referrals.route_to_reseller(referral, by=manager, reseller=OrganizationFactory.build(kind="vendor")),
         "active partner or distributor"),
        (lambda: referrals.route_to_reseller(won, by=manager, reseller=reseller), "cannot become sent to reseller"),
        (lambda: referrals.accept(referral, by=manager, owner=inactive_owner), "active internal user"),
        (lambda: referrals.reject(referral, by=manager, reason="  "), "reason"),
        (lambda: referrals.mark_won(referral, amount=Decimal("10"), currency="XXX", by=manager), "currency"),
        (lambda: referrals.mark_won(referral, amount=Decimal("0"), by=manager), "amount"),
        (lambda: referrals.mark_won(won, amount=Decimal("10"), by=manager), "cannot become won"),
        (lambda: referrals.mark_lost(referral, reason="", by=manager), "why it was lost"),
        (lambda: referrals.mark_commission_paid(won, by=manager), "pending payment"),
        (lambda: referrals.mark_commission_paid(unplanned, by=manager), "no commission"),
        (lambda: referrals.set_status(referral, status="lost", by=manager), "action for that step"),
        (lambda: referrals.set_status(referral, status="nonsense", by=manager), "Unknown status"),
        (lambda: statuses.rename("accepted", "   "), "name"),
        (lambda: leads.decline(lead, by=manager, reason=""), "why"),
    ]
    for attempt, message in refusals:
        with writes_nothing(db.session), pytest.raises(DomainError, match=message):
            attempt()
    assert (referral.stage, db.session.scalar(db.select(db.func.count()).select_from(Lead))) == ("submitted", 1)

    # A lead answered once, or too late, keeps its reason empty.
    leads.accept(lead, by=manager)
    with writes_nothing(db.session), pytest.raises(InvalidTransition, match="already accepted"):
        leads.decline(lead, by=manager, reason="changed my mind")
    late = leads.create(ReferralFactory(partner_org=partner), reseller=reseller, respond_by=None, by=manager)
    db.session.commit()
    clock.advance(timedelta(days=30))
    with writes_nothing(db.session), pytest.raises(InvalidTransition, match="time to answer"):
        leads.decline(late, by=manager, reason="too late")
    assert (lead.decline_reason, late.decline_reason, late.status) == (None, None, "new")


def test_a_refused_decision_answers_422_and_the_page_shows_the_referral_unchanged(client, db, scene):
    referral, partner = scene["referral"], scene["partner"]
    client.login(scene["manager"])
    response = client.submit(f"/internal/referrals/{referral.id}/route", {"route-reseller_id": partner.id})
    assert response.status_code == 422
    assert db.session.get(Referral, referral.id).stage == "submitted"
    assert db.session.scalar(db.select(db.func.count()).select_from(Lead)) == 0
    assert db.session.scalar(db.select(db.func.count()).select_from(StatusEvent).where(
        StatusEvent.entity_type == "referral", StatusEvent.entity_id == referral.id,
        StatusEvent.to_status == "sent_to_reseller")) == 0
