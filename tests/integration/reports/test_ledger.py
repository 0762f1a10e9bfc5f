"""The commission ledger: holding period, approval by the sweep, clawbacks from the CRM, payout
batches (create, export, mark paid, cancel), payee details and statements."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import text

from portal.models import Commission, LedgerEntry, PayeeAccount, PayoutBatch
from portal.services import crm, ledger, payees, payouts, referrals, sweep
from portal.sync import engine
from tests.factories import CommissionPlanFactory, OrganizationFactory, ReferralFactory, internal_user, partner_user
from tests.integration.conftest import body

WON_AT = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def frozen(clock):
    clock.freeze(WON_AT + timedelta(hours=1))
    return clock


@pytest.fixture
def plan(db):
    return CommissionPlanFactory(tier="gold", percent=Decimal("10"), currency="USD")


def _won(org, amount="10000", **kwargs) -> Commission:
    referral = ReferralFactory(partner_org=org, stage="accepted", status="accepted", **kwargs)
    referrals.mark_won(referral, amount=Decimal(amount), won_at=WON_AT, by=internal_user("manager"))
    return referral.commission


def _kinds(commission) -> list[tuple[str, Decimal]]:
    return [(e.kind, e.amount) for e in ledger.entries(commission.partner_org_id) if e.commission_id == commission.id]


def test_a_won_commission_is_pending_through_the_holding_period_then_the_sweep_approves_it(db, frozen, plan):
    org = OrganizationFactory(tier="gold")
    commission = _won(org)
    assert commission.status == "pending" and commission.hold_until == WON_AT + timedelta(days=30)
    assert _kinds(commission) == [("earned", Decimal("1000.000"))]

    frozen.advance(timedelta(days=29))
    sweep.run()
    assert db.session.get(Commission, commission.id).status == "pending"
    frozen.advance(timedelta(days=1))
    assert sweep.run()["commissions_approved"] == 1
    commission = db.session.get(Commission, commission.id)
    assert commission.status == "approved" and commission.approved_at == frozen.now()
    [approved] = [e for e in ledger.entries(org.id) if e.kind == "approved"]
    assert approved.actor_name == "Holding period" and approved.amount == 0
    assert ledger.balances(org.id) == {"USD": Decimal("1000.00")}


def test_the_holding_period_is_a_setting(db, frozen, plan):
    from portal.services import settings
    settings.save("payouts", {"holding_days": 7})
    db.session.commit()
    assert _won(OrganizationFactory(tier="gold")).hold_until == WON_AT + timedelta(days=7)


def test_a_deal_lost_in_hubspot_inside_the_holding_period_voids_the_commission(db, frozen, plan, sandbox,
                                                                                connection):
    org = OrganizationFactory(tier="gold")
    partner = partner_user(organization=org)
    referral = ReferralFactory(partner_org=org, submitted_by=partner)
    crm.sync_now(referral)
    engine.push(connection.id)
    deal_id = crm.links_for(referral)[0].crm_id
    sandbox.api("PATCH", f"/crm/v3/objects/deals/{deal_id}", {"properties": {"dealstage": "closedwon",
                                                                             "amount": "20000"}})
    engine.pull(connection.id)
    db.session.expire_all()
    commission = referral.commission
    assert referral.stage == "won_payment_pending" and commission.status == "pending"

    frozen.advance(timedelta(days=10))
    sandbox.api("PATCH", f"/crm/v3/objects/deals/{deal_id}", {"properties": {"dealstage": "closedlost"}})
    engine.pull(connection.id)
    db.session.expire_all()
    assert referral.stage == "lost"
    assert commission.status == "void"
    assert _kinds(commission) == [("earned", Decimal("2000.000")), ("voided", Decimal("-2000.000"))]
    voided = [e for e in ledger.entries(org.id) if e.kind == "voided"][0]
    assert voided.actor_name == "HubSpot" and "no longer won" in voided.reason
    assert ledger.balances(org.id) == {"USD": Decimal("0.00")}
    frozen.advance(timedelta(days=30))
    sweep.run()
    assert db.session.get(Commission, commission.id).status == "void"


def _approved(org, amount="10000", **kwargs):
    commission = _won(org, amount, **kwargs)
    commission.hold_until = WON_AT
    ledger.approve_due()
    return commission


def test_a_payout_batch_is_created_exported_and_paid(db, frozen, plan, smtp_server, run_jobs):
    north, blue, tiny = (OrganizationFactory(tier="gold", name=n) for n in ("Northwind", "Bluebird", "Tiny"))
    jane = partner_user(role="partner_admin", organization=north, email="jane@northwind.example")
    partner_user(role="partner_admin", organization=blue, email="bella@bluebird.example")
    payees.save(north, by=jane, method="bank", account_name="Northwind Ltd", iban="DE89 3704 0044 0532 0130 00",
                bic="COBADEFFXXX", tax_id="DE123456789")
    north_commissions = [_approved(north, "10000"), _approved(north, "5000")]
    blue_commission = _approved(blue, "8000")
    _approved(tiny, "100")                                  # 10 USD: under the minimum
    _won(north, "7000")                                      # still pending: not payable
    manager = internal_user("manager")

    lines = payouts.payable(currency="USD", minimum=Decimal("50"))
    assert [(line.organization.name, line.net) for line in lines] == [("Bluebird", Decimal("800.00")),
                                                                      ("Northwind", Decimal("1500.00"))]
    batch = payouts.create_batch(by=manager, currency="USD", minimum=Decimal("50"))
    assert batch.status == "open" and batch.total_amount == Decimal("2300.000") and batch.number.startswith("PO-")
    assert payouts.payable(currency="USD", minimum=Decimal("50")) == []  # nothing twice

    header, *rows = [payouts.PAYOUT_HEADER] + payouts.payout_rows(batch)
    assert header == ["Partner", "Method", "Account holder", "Payee details", "Tax id", "Amount", "Currency",
                      "Reference"]
    by_partner = {row[0]: row for row in rows}
    assert by_partner["Northwind"][3] == "IBAN DE89370400440532013000 BIC COBADEFFXXX"
    assert by_partner["Northwind"][5] == Decimal("1500.00") and by_partner["Bluebird"][3] == "NO PAYEE DETAILS"

    payouts.mark_paid(batch, by=manager, reference="SEPA-2026-04-01")
    db.session.expire_all()
    for commission in north_commissions + [blue_commission]:
        assert commission.status == "paid" and commission.referral.stage == "won_payment_completed"
    assert ledger.balances(north.id) == {"USD": Decimal("700.00")}  # the pending one is still owed
    run_jobs()
    [statement] = [m for m in smtp_server.to("jane@northwind.example") if batch.number in m["Subject"]]
    assert "1,500.00 USD" in statement["Subject"] and "SEPA-2026-04-01" in body(statement)
    assert smtp_server.to("bella@bluebird.example")


def test_after_payment_a_lost_deal_writes_a_clawback_that_the_next_batch_nets(db, frozen, plan):
    org = OrganizationFactory(tier="gold")
    manager = internal_user("manager")
    paid = _approved(org, "10000")
    first = payouts.create_batch(by=manager, currency="USD")
    payouts.mark_paid(first, by=manager, reference="PAY-1")
    referral = paid.referral
    referrals.mark_lost(referral, reason="Customer cancelled within the trial", by=manager)
    assert referral.stage == "lost" and paid.status == "paid"
    clawback = [e for e in ledger.entries(org.id) if e.kind == "clawback"]
    assert [(e.amount, e.payout_batch_id) for e in clawback] == [(Decimal("-1000.000"), None)]
    assert ledger.balances(org.id) == {"USD": Decimal("-1000.00")}

    _approved(org, "30000")                                   # 3000 earned later
    [line] = payouts.payable(currency="USD")
    assert (line.gross, line.deductions, line.net) == (Decimal("3000.00"), Decimal("-1000.00"), Decimal("2000.00"))
    second = payouts.create_batch(by=manager, currency="USD")
    assert second.total_amount == Decimal("2000.000")
    payouts.mark_paid(second, by=manager, reference="PAY-2")
    assert ledger.balances(org.id) == {"USD": Decimal("0.00")}
    kinds = [e.kind for e in ledger.entries(org.id)]
    assert kinds.count("recovered") == 1 and kinds.count("clawback") == 1


def test_a_clawback_larger_than_the_commissions_keeps_the_partner_out_of_the_batch(db, frozen, plan):
    org = OrganizationFactory(tier="gold")
    manager = internal_user("manager")
    big = _approved(org, "50000")
    payouts.mark_paid(payouts.create_batch(by=manager, currency="USD"), by=manager, reference="P")
    referrals.mark_lost(big.referral, reason="Refunded", by=manager)
    _approved(org, "10000")
    assert payouts.payable(currency="USD") == []


def test_cancelling_an_open_batch_frees_its_commissions(db, frozen, plan):
    org = OrganizationFactory(tier="gold")
    manager = internal_user("manager")
    commission = _approved(org)
    batch = payouts.create_batch(by=manager, currency="USD")
    assert commission.payout_batch_id == batch.id and payouts.payable(currency="USD") == []
    payouts.cancel(batch, by=manager)
    assert batch.status == "cancelled" and commission.payout_batch_id is None and commission.status == "approved"
    assert [line.net for line in payouts.payable(currency="USD")] == [Decimal("1000.00")]
    with pytest.raises(Exception, match="Only an open batch"):
        payouts.mark_paid(batch, by=manager, reference="X")


def test_a_commission_voided_while_in_an_open_batch_leaves_it(db, frozen, plan):
    org = OrganizationFactory(tier="gold")
    manager = internal_user("manager")
    commission = _approved(org)
    batch = payouts.create_batch(by=manager, currency="USD")
    referrals.mark_lost(commission.referral, reason="Deal reopened and lost", by=manager)
    assert commission.status == "void" and commission.payout_batch_id is None
    payouts.mark_paid(batch, by=manager, reference="P")
    assert commission.status == "void" and ledger.balances(org.id) == {"USD": Decimal("0.00")}


def test_payee_details_are_encrypted_at_rest_and_shown_masked(db):
    org = OrganizationFactory()
    admin = partner_user(role="partner_admin", organization=org)
    payees.save(org, by=admin, method="paypal", account_name="Acme Partner", paypal_email="Pay@Partner.example",
                tax_id="GB999999973")
    raw = db.session.execute(text("SELECT details_encrypted, tax_id_encrypted FROM payee_accounts")).one()
    assert "partner.example" not in raw[0] and "999999973" not in raw[1]
    shown = payees.payee_for(org).masked()
    assert shown["PayPal"] == "p…@partner.example" and shown["Tax id"].endswith("973")
    assert "GB999999" not in shown["Tax id"]
    with pytest.raises(Exception, match="IBAN"):
        payees.save(org, by=admin, method="bank", account_name="X", iban="nonsense", bic="COBADEFF")
    assert db.session.scalar(db.select(PayeeAccount.method)) == "paypal"


def test_the_partner_sees_ledger_balance_and_a_statement_per_period(app, client, db, frozen, plan):
    org = OrganizationFactory(tier="gold")
    jane = partner_user(role="partner_admin", organization=org)
    manager = internal_user("manager")
    _approved(org, "10000")
    payouts.mark_paid(payouts.create_batch(by=manager, currency="USD"), by=manager, reference="P-1")
    frozen.advance(timedelta(days=40))
    _won(org, "20000")
    other = OrganizationFactory(tier="gold")
    _won(other, "99000")

    client.login(jane)
    page = client.get("/partner/ledger").get_data(as_text=True)
    assert 'data-balance="USD">2,000.00 USD' in page and "9,900.00" not in page
    start = (frozen.now() - timedelta(days=5)).date().isoformat()
    end = frozen.now().date().isoformat()
    statement = client.get(f"/partner/ledger/statement?start={start}&end={end}").get_data(as_text=True)
    assert "Opening balance in USD" in statement and 'data-balance="USD">0.00 USD' in statement
    assert 'data-balance="USD">2,000.00 USD' in statement
    download = client.get(f"/partner/ledger/statement?start={start}&end={end}&format=csv")
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert rows[0][0] == "Date" and rows[1][1] == "Opening balance" and rows[1][3] == "0.00"
    assert rows[-1][1] == "Closing balance" and rows[-1][3] == "2000.00"
    assert [r[1] for r in rows[2:-1]] == ["Commission earned"]
    # Partner users and other partners see no ledger.
    member = app.test_client()
    member.login(partner_user(organization=org))
    assert member.get("/partner/ledger").status_code == 404  # partners get 404 on pages they may not use


def test_a_deal_lost_in_hubspot_after_payment_writes_a_clawback_the_next_batch_nets(db, frozen, plan, sandbox,
                                                                                   connection):
    org = OrganizationFactory(tier="gold")
    referral = ReferralFactory(partner_org=org, submitted_by=partner_user(organization=org))
    crm.sync_now(referral)
    engine.push(connection.id)
    deal_id = crm.links_for(referral)[0].crm_id
    sandbox.api("PATCH", f"/crm/v3/objects/deals/{deal_id}", {"properties": {"dealstage": "closedwon",
                                                                             "amount": "20000"}})
    engine.pull(connection.id)
    frozen.advance(timedelta(days=31))
    sweep.run()
    manager = internal_user("manager")
    payouts.mark_paid(payouts.create_batch(by=manager, currency="USD"), by=manager, reference="PAY-1")
    db.session.expire_all()
    assert referral.stage == "won_payment_completed"

    frozen.advance(timedelta(days=5))
    sandbox.api("PATCH", f"/crm/v3/objects/deals/{deal_id}", {"properties": {"dealstage": "closedlost"}})
    engine.pull(connection.id)
    db.session.expire_all()
    assert referral.stage == "lost" and referral.commission.status == "paid"
    [clawback] = [e for e in ledger.entries(org.id) if e.kind == "clawback"]
    assert clawback.amount == Decimal("-2000.000") and clawback.actor_name == "HubSpot"

    _approved(org, "50000")                                  # 5000 earned since
    batch = payouts.create_batch(by=manager, currency="USD")
    assert batch.total_amount == Decimal("3000.000")
    payouts.mark_paid(batch, by=manager, reference="PAY-2")
    assert ledger.balances(org.id) == {"USD": Decimal("0.00")}


def test_a_won_deal_reopened_voids_the_commission_and_a_new_win_earns_it_again(db, frozen, plan):
    org = OrganizationFactory(tier="gold")
    manager = internal_user("manager")
    commission = _won(org, "10000")
    referrals.accept(commission.referral, by=None, actor_label="HubSpot")  # the CRM reopened the deal
    assert commission.referral.stage == "accepted" and commission.status == "void"
    frozen.advance(timedelta(days=3))
    referrals.mark_won(commission.referral, amount=Decimal("12000"), by=manager)
    assert commission.status == "pending" and commission.amount == Decimal("1200.000")
    assert commission.hold_until == frozen.now() + timedelta(days=30)
    assert [k for k, _ in _kinds(commission)] == ["earned", "voided", "earned"]
    assert ledger.balances(org.id) == {"USD": Decimal("1200.00")}
