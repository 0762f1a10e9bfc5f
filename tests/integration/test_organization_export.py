"""The organizations list exported to Excel: a real workbook, filtered as the list, formulas neutralised."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.factories import OrganizationFactory, internal_user, partner_user


def test_the_export_has_one_row_per_organization_of_the_filtered_list(client, db):
    OrganizationFactory(name="=HYPERLINK(\"http://evil.example\")", kind="partner", domain="evil.example")
    OrganizationFactory(name="Northwind", kind="partner", tier="gold")
    OrganizationFactory(name="Fabrikam", kind="distributor")
    client.login(internal_user("sales"))

    response = client.get("/internal/organizations/export.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("ID", "Name", "Kind")
    names = sorted(row[1] for row in rows[1:])
    assert names == sorted(["'=HYPERLINK(\"http://evil.example\")", "Northwind", "Fabrikam"])
    evil = next(cell for cell in sheet["B"] if cell.value.startswith("'="))
    assert evil.data_type == "s"  # text, not a formula

    only = client.get("/internal/organizations/export.xlsx?kind=distributor")
    rows = list(load_workbook(io.BytesIO(only.data)).active.iter_rows(values_only=True))
    assert [row[1] for row in rows[1:]] == ["Fabrikam"]
    assert rows[1][2] == "Distributor"


def test_partners_cannot_export_the_organizations(client, db):
    client.login(partner_user("partner_admin"))
    assert client.get("/internal/organizations/export.xlsx").status_code == 404
