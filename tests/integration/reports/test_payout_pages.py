"""The payout pages over HTTP: select, create, download the payout file, mark paid, cancel; payee form."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

from portal.models import Commission, PayoutBatch
from portal.services import ledger, referrals
from tests.factories import CommissionPlanFactory, OrganizationFactory, ReferralFactory, internal_user, partner_user


def _approved(org, amount):
    referral = ReferralFactory(partner_org=org, stage="accepted", status="accepted")
    referrals.mark_won(referral, amount=Decimal(amount), by=None, actor_label="Test")
    referral.commission.hold_until = referral.won_at - timedelta(seconds=1)
    ledger.approve_due()
    return referral.commission


def test_manager_creates_exports_and_pays_a_batch_through_the_pages(app, client, db):
    CommissionPlanFactory(tier="gold", percent=Decimal("10"))
    north = OrganizationFactory(tier="gold", name="Northwind")
    jane = partner_user(role="partner_admin", organization=north)
    commission = _approved(north, "10000")
    client.login(jane)
    saved = client.submit("/partner/ledger/payee", {"method": "bank", "account_name": "Northwind Ltd",
                                                        "iban": "GB33BUKB20201555555555", "bic": "BUKBGB22"})
    assert saved.status_code == 303
    shown = client.get("/partner/ledger").get_data(as_text=True)
    assert "5555" in shown and "GB33BUKB20201555555555" not in shown

    client = app.test_client()
    client.login(internal_user("manager"))
    preview = client.get("/internal/payouts?currency=USD").get_data(as_text=True)
    assert "Northwind" in preview and "1,000.00 USD" in preview
    created = client.submit("/internal/payouts", {"currency": "USD", "minimum": "100"})
    assert created.status_code == 303, created.get_data(as_text=True)[:3000]
    batch_url = created.headers["Location"]
    batch_id = int(re.search(r"/payouts/(\d+)", batch_url).group(1))
    page = client.get(batch_url).get_data(as_text=True)
    assert "•" in page and "GB33BUKB20201555555555" not in page  # masked on the page

    payout_file = client.get(f"/internal/payouts/{batch_id}/payout.csv")
    rows = list(csv.reader(io.StringIO(payout_file.data.decode("utf-8-sig"))))
    assert rows[1][:4] == ["Northwind", "Bank transfer", "Northwind Ltd", "IBAN GB33BUKB20201555555555 BIC BUKBGB22"]
    assert rows[1][5:7] == ["1000.000", "USD"] or rows[1][5:7] == ["1000.00", "USD"]

    missing = client.submit(f"/internal/payouts/{batch_id}/paid", {"reference": ""})
    assert missing.status_code == 422
    paid = client.submit(f"/internal/payouts/{batch_id}/paid", {"reference": "BACS-77"})
    assert paid.status_code == 303
    assert db.session.get(PayoutBatch, batch_id).status == "paid"
    assert db.session.get(Commission, commission.id).status == "paid"
    assert client.submit(f"/internal/payouts/{batch_id}/cancel").status_code == 409


def test_cancel_through_the_page_and_who_may_use_payouts(app, client, db):
    CommissionPlanFactory(tier="gold", percent=Decimal("10"))
    org = OrganizationFactory(tier="gold")
    commission = _approved(org, "5000")
    client.login(internal_user("manager"))
    created = client.submit("/internal/payouts", {"currency": "USD"})
    batch_id = int(re.search(r"/payouts/(\d+)", created.headers["Location"]).group(1))
    assert client.submit(f"/internal/payouts/{batch_id}/cancel").status_code == 303
    assert db.session.get(Commission, commission.id).payout_batch_id is None

    sales = app.test_client()
    sales.login(internal_user("sales"))
    assert sales.get("/internal/payouts").status_code == 403
    partner = app.test_client()
    partner.login(partner_user(role="partner_admin", organization=org))
    assert partner.get(f"/internal/payouts/{batch_id}").status_code == 404
    assert client.get("/internal/payouts/999999").status_code == 404
