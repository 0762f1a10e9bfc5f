"""The partner's navigation has one Commissions item: what was earned, and for partner admins the money
side (balance, payouts, statements, payee details) as its second tab; no separate Ledger item."""
from __future__ import annotations

from tests.factories import partner_user


def test_a_partner_admin_finds_the_ledger_as_a_tab_of_commissions(client, db):
    client.login(partner_user(role="partner_admin"))
    nav = client.get("/partner/").get_data(as_text=True)
    assert 'href="/partner/commissions"' in nav and 'href="/partner/ledger"' not in nav
    earned = client.get("/partner/commissions").get_data(as_text=True)
    assert '<nav class="tabs" aria-label="Commissions">' in earned
    assert 'href="/partner/ledger"' in earned and 'aria-current="page">Earned</a>' in earned
    ledger = client.get("/partner/ledger").get_data(as_text=True)
    assert 'aria-current="page">Balance and payouts</a>' in ledger
    # the navigation's Commissions item is the current one on the ledger pages too
    assert 'href="/partner/commissions" aria-current="page">Commissions</a>' in ledger
    for page in ("/partner/ledger/statement", "/partner/ledger/payee"):
        html = client.get(page).get_data(as_text=True)
        assert 'href="/partner/ledger">Balance and payouts</a> /' in html, page


def test_a_partner_user_sees_what_was_earned_without_tabs_to_a_ledger_it_may_not_open(client, db):
    client.login(partner_user(role="partner_user"))
    earned = client.get("/partner/commissions").get_data(as_text=True)
    assert 'href="/partner/ledger"' not in earned and 'aria-label="Commissions"' not in earned
    assert client.get("/partner/ledger").status_code == 404
