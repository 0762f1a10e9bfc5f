"""The shared transition mechanism's rules, without a database."""
from __future__ import annotations

import pytest

from portal.errors import InvalidTransition
from portal.services import leads, statuses, transitions

DOOR = transitions.Workflow(entity_type="door", moves={"open": frozenset({"closed"}), "closed": frozenset({"open"})},
                            refusal=lambda a, b: f"A {a} door cannot become {b}.")


def test_a_workflow_allows_only_its_moves_and_words_its_refusal():
    assert DOOR.allows("open", "closed") and not DOOR.allows("open", "open") and not DOOR.allows("ajar", "open")
    with pytest.raises(InvalidTransition, match="A closed door cannot become locked."):
        DOOR.check("closed", "locked")


@pytest.mark.parametrize("start, end, allowed", [
    ("new", "accepted", True), ("new", "declined", True), ("new", "expired", True), ("accepted", "converted", True),
    ("accepted", "closed", True), ("declined", "accepted", False), ("expired", "accepted", False),
    ("new", "converted", False), ("accepted", "declined", False),
])
def test_the_lead_workflow(start, end, allowed):
    assert leads.WORKFLOW.allows(start, end) is allowed


def test_referrals_may_take_custom_steps_within_an_open_stage_but_not_a_final_one():
    assert statuses.WORKFLOW.allows("submitted", "submitted")
    assert statuses.WORKFLOW.allows("won_payment_pending", "won_payment_pending")
    assert not statuses.WORKFLOW.allows("lost", "lost")
    assert statuses.WORKFLOW.state_attr == "stage"
