"""The integration log's plain words: each kind of failure says what happened and what to do."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from portal.web import integration_log

AT = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
CONNECTION = SimpleNamespace(id=3, name="HubSpot", provider="hubspot")


def row(status="error", message="", action="upsert deal", entity_id=7, direction="push", at=AT, request=None):
    return SimpleNamespace(status=status, message=message, action=action, entity_id=entity_id,
                           direction=direction, at=at, connection_id=3, request_summary=request)


@pytest.fixture
def app_context(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize("message, words, fix", [
    ("HubSpot rejected the deal (400): closedwonx was not one of the allowed options: ['closedwon', 'closedlost']",
     "has no option “closedwonx”", "/internal/integrations/3/mappings"),
    ("HubSpot rejected the deal (400): next spring was not a valid date", "value “next spring” is not one",
     "/internal/integrations/3/mappings"),
    ("401: Authentication credentials not found", "refused the connection's access token",
     "/internal/integrations/3"),
    ("HubSpot rejected the deal (400): something odd", "refused this record: something odd",
     "/internal/referrals/7"),
])
def test_a_failure_is_explained_with_what_to_do_and_where(app_context, message, words, fix):
    explained = integration_log.explain(row(message=message), connection=CONNECTION, number="R-000007")
    assert words in explained.text and explained.advice and explained.fix_url == fix
    assert "{" not in explained.text


def test_a_retried_call_needs_nothing_and_a_not_found_lookup_is_no_failure(app_context):
    retry = integration_log.explain(row(status="retry", message="429: slow down", entity_id=None), connection=CONNECTION)
    assert "Nothing to do" in retry.advice
    lookup = integration_log.explain(row(message="404: not found", action="http", entity_id=None,
                                         request="GET /crm/v3/properties/deals/portal_id"), connection=CONNECTION)
    assert not lookup.failure


def test_rows_are_grouped_into_runs_with_a_one_line_summary(app_context):
    rows = [row(status="ok", message="Deal 1", action="update deal", at=AT),
            row(message="HubSpot rejected the deal (400): x was not a valid date", at=AT - timedelta(seconds=2)),
            row(status="ok", message="Deal 2", action="update deal", at=AT - timedelta(seconds=3)),
            row(status="ok", message="Deal 3", action="create deal", at=AT - timedelta(minutes=30))]
    runs = integration_log.runs(rows, connections={3: CONNECTION}, numbers={7: "R-000007"})
    assert [len(r.entries) for r in runs] == [3, 1]
    assert runs[0].summary == "2 deals updated, 1 failed" and runs[1].summary == "1 deal created"
