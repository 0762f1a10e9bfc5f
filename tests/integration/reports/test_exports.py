"""Exports: CSV and Excel of one report state hold the same rows; formulas are neutralised; large
exports run in the worker with progress and a link that expires."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

import pytest
from openpyxl import load_workbook

from tests.factories import OrganizationFactory, ReferralFactory, internal_user, partner_user

STATE = "f1=estimated_value&o1=after&v1=0&sort=company_name&cols=company_name,contact_name,created_at,estimated_value,status"
DANGEROUS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTabbed", "\rReturn"]


def _norm(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return f"{Decimal(str(value)).normalize():f}"
    if isinstance(value, datetime):
        return str(value)
    try:
        return f"{Decimal(value).normalize():f}"
    except InvalidOperation:
        return value


def _csv_rows(body: bytes) -> list[list[str]]:
    return [[_norm(c) for c in row] for row in csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""))]


def _xlsx_rows(body: bytes) -> list[list[str]]:
    sheet = load_workbook(io.BytesIO(body), read_only=True).active
    return [[_norm(c) for c in row] for row in sheet.iter_rows(values_only=True)]


@pytest.fixture
def scene(db):
    north = OrganizationFactory(name="Northwind")
    for n, company in enumerate(DANGEROUS + ["Plain Company", "Ünïcode AG"]):
        ReferralFactory(partner_org=north, company_name=company, estimated_value=Decimal(100 * (n + 1)) * -1 + 2000,
                        currency="EUR" if n % 2 else "USD", contact_first_name="=cmd|' /C calc'!A0")
    ReferralFactory(company_name="Another partner's customer")
    return north


def _export(client, fmt, state=STATE):
    return client.submit("/reports/referrals/export", {"format": fmt, "query": state})


def test_csv_and_excel_of_the_same_state_have_the_same_rows_and_no_live_formula(client, db, scene):
    jane = partner_user(role="partner_admin", organization=scene)
    client.login(jane)
    as_csv, as_xlsx = _export(client, "csv"), _export(client, "xlsx")
    assert as_csv.status_code == as_xlsx.status_code == 200
    assert as_csv.mimetype == "text/csv" and "attachment" in as_csv.headers["Content-Disposition"]
    csv_rows, xlsx_rows = _csv_rows(as_csv.data), _xlsx_rows(as_xlsx.data)
    assert csv_rows == xlsx_rows
    assert csv_rows[0] == ["Company", "Contact", "Submitted", "Estimated value", "Estimated value currency", "Status"]
    companies = [row[0] for row in csv_rows[1:]]
    assert companies == sorted(companies) and len(companies) == 8
    assert "Another partner's customer" not in companies
    for dangerous in DANGEROUS:
        assert "'" + dangerous in companies
    assert all(row[1].startswith("'=cmd") for row in csv_rows[1:])
    # Excel keeps no formula cell at all.
    sheet = load_workbook(io.BytesIO(as_xlsx.data)).active
    assert not [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]


def test_a_large_export_runs_in_the_worker_with_progress_and_an_expiring_link(app, client, db, scene, run_jobs,
                                                                               clock, monkeypatch):
    admin = internal_user()
    client.login(admin)
    monkeypatch.setitem(app.config, "EXPORT_INLINE_ROWS", 3)
    started = _export(client, "xlsx")
    assert started.status_code == 303
    status_url = started.headers["Location"]
    pending = client.get(status_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert 'hx-trigger="every 1s"' in pending and "<progress" in pending and "9 rows" in pending

    run_jobs()
    done = client.get(status_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "hx-trigger" not in done and "Download" in done
    download_url = re.search(r'href="([^"]+/download)"', done).group(1)
    body = client.get(download_url)
    assert body.status_code == 200
    assert len(_xlsx_rows(body.data)) == 1 + 9

    outsider = app.test_client()
    outsider.login(partner_user(role="partner_admin", organization=scene))
    assert outsider.get(status_url).status_code == 404 and outsider.get(download_url).status_code == 404
    clock.advance(86400 + 1)
    client.login(admin)  # a day idle ended the session too (SESSION_IDLE_TIMEOUT)
    expired = client.get(download_url)
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
