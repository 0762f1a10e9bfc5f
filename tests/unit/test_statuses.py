"""The referral workflow (DESIGN.md §5)."""
from __future__ import annotations

import pytest

from portal.errors import InvalidTransition
from portal.services import statuses


@pytest.mark.parametrize("start, end", [
    ("submitted", "accepted"), ("submitted", "sent_to_reseller"), ("submitted", "rejected"),
    ("accepted", "won_payment_pending"), ("accepted", "lost"), ("sent_to_reseller", "won_payment_pending"),
    ("won_payment_pending", "won_payment_completed"), ("accepted", "accepted"),
    # A won deal can fall through, before or after payment (the ledger claws the commission back).
    ("won_payment_pending", "lost"), ("won_payment_pending", "accepted"), ("won_payment_completed", "lost"),
])
def test_allowed_moves(start, end):
    assert statuses.can_move(start, end)


@pytest.mark.parametrize("start, end", [
    ("rejected", "accepted"), ("lost", "won_payment_pending"), ("won_payment_completed", "won_payment_pending"),
    ("accepted", "rejected"), ("submitted", "won_payment_completed"), ("rejected", "rejected"),
])
def test_refused_moves(start, end):
    assert not statuses.can_move(start, end)
    with pytest.raises(InvalidTransition):
        statuses.check_move(start, end)
