"""Referral links without a database: the first-visit cookie, visitor ids, form tokens, brand colours."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask

from portal.blueprints.public import forms as public_forms
from portal.models.links import new_code
from portal.models.types import utcnow
from portal.services import branding, links


class _Link:
    id = 7


@pytest.fixture
def ctx():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="unit-secret", PUBLIC_FORM_MAX_AGE=3600, PUBLIC_FORM_MIN_SECONDS=3)
    with app.app_context():
        yield app


def test_codes_are_unguessable_and_url_safe():
    codes = {new_code() for _ in range(1000)}
    assert len(codes) == 1000
    assert all(len(code) == 16 and code.replace("-", "").replace("_", "").isalnum() for code in codes)  # 96 bits


def test_the_first_visit_cookie_round_trips_within_the_window(ctx):
    first = utcnow() - timedelta(days=3)
    value = links.attribution_value(_Link(), first_visit_at=first)
    attribution = links.read_attribution(value, window_days=30)
    assert attribution.link_id == 7 and abs((attribution.first_visit_at - first).total_seconds()) < 1
    assert links.read_attribution(value, window_days=2) is None


@pytest.mark.parametrize("value", [None, "", "garbage", '{"l": 7, "t": 0}'])
def test_a_missing_or_forged_first_visit_cookie_counts_for_nothing(ctx, value):
    assert links.read_attribution(value, window_days=30) is None


def test_a_cookie_signed_with_another_secret_counts_for_nothing(ctx):
    value = links.attribution_value(_Link(), first_visit_at=utcnow())
    ctx.config["SECRET_KEY"] = "another-secret"
    assert links.read_attribution(value, window_days=30) is None


def test_visitor_id_is_the_cookie_or_a_daily_hash_without_the_address(ctx):
    assert links.visitor_id("a" * 32, address="203.0.113.9", user_agent="X") == "a" * 32
    derived = links.visitor_id(None, address="203.0.113.9", user_agent="X")
    assert derived == links.visitor_id("bad cookie!", address="203.0.113.9", user_agent="X")
    assert derived != links.visitor_id(None, address="203.0.113.10", user_agent="X")
    assert "203.0.113.9" not in derived and len(derived) == 32
    assert "203.0.113.9" not in links.address_key("203.0.113.9")


@pytest.mark.parametrize("agent, counts", [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36", True),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", False),
    ("facebookexternalhit/1.1", False),
    ("WhatsApp/2.23.20.0", False),
    ("Mozilla/5.0 (compatible; Googlebot/2.1)", False),
    (None, True),
])
def test_link_previews_and_crawlers_are_not_visits(agent, counts):
    assert links.counts_as_visit(agent) is counts


def test_form_token_knows_its_form_and_its_age(ctx):
    token = public_forms.issue_token("abc")
    assert 0 <= public_forms.token_age(token, "abc") < 1
    assert public_forms.token_age(token, "other") is None
    assert public_forms.token_age(token + "x", "abc") is None
    assert public_forms.token_age(None, "abc") is None


def test_an_old_form_token_has_expired(ctx, clock):
    token = public_forms.issue_token("abc")
    clock.advance(3599)
    assert 3599 <= public_forms.token_age(token, "abc") < 3600
    clock.advance(2)
    assert public_forms.token_age(token, "abc") is None


@pytest.mark.parametrize("color, text", [("#2546c8", "#ffffff"), ("#fde047", "#111827"), ("#0f766e", "#ffffff"),
                                         ("#ffffff", "#111827")])
def test_brand_stylesheet_picks_readable_text_on_the_colour(color, text):
    brand = branding.Branding(vendor_name="Acme", primary_color=color, headline="", intro="",
                              privacy_text="", attribution_days=30)
    css = branding.stylesheet(brand)
    assert f"--brand: {color}" in css and f"--on-brand: {text}" in css and "--brand-dark: #" in css
