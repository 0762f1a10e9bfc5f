"""Hostile input: every form of the app, found from its URL map and its pages, gets generated
hostile values (NUL and other control characters, direction overrides, NaN, huge ids). No answer is
a 500 and no refused value reaches the database, on SQLite and on PostgreSQL (issue #15 item 1)."""
from __future__ import annotations

import json
import os
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, String, Text

from portal.cli import demo
from portal.extensions import db as _db
from portal.extensions import limiter
from portal.models import Organization, User
from portal.web import hygiene
from tests import route_map

EXAMPLES = int(os.environ.get("HOSTILE_INPUT_EXAMPLES", "8"))
BIDI = "\u202e\u202a\u2066\u2067\u2068\u2069\u200f\u061c"
CONTROLS = "".join(chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), 127, 0x85, 0x9b])

hostile_char = st.sampled_from(CONTROLS + BIDI)
hostile_text = st.one_of(
    st.builds(lambda a, c, b: a + c + b, st.text(max_size=8), hostile_char, st.text(max_size=8)),
    st.sampled_from(["NaN", "sNaN", "-sNaN", "Infinity", "-Infinity", "inf", "1e999999", "9" * 20,
                     "-" + "9" * 20, "a%00b@x.example", "a\x00b@x.example", "Evil\u202eCorp", "0x7fffffff"]),
    st.text(max_size=30),
)


def _stored_text_problems() -> list[str]:
    """Every stored text (JSON included) that holds what the hygiene refuses."""
    problems = []
    for table in _db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (String, Text, JSON))]
        if not columns:
            continue
        for row in _db.session.execute(_db.select(*columns)):
            for column, value in zip(columns, row):
                text = json.dumps(value, ensure_ascii=False) if isinstance(column.type, JSON) else value
                if not isinstance(text, str):
                    continue
                if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in text) \
                        or hygiene.BIDI_CONTROLS.search(text):
                    problems.append(f"{table.name}.{column.name} = {text[:80]!r}")
    return problems


@pytest.fixture
def scene(app, db, client, connection, monkeypatch):
    """The demo's data, a CRM connection on the sandbox, and rate limits and bot timing out of the way."""
    demo.seed()
    monkeypatch.setitem(app.config, "PUBLIC_FORM_MIN_SECONDS", 0)
    monkeypatch.setattr(limiter, "enabled", False)
    northwind = db.session.scalar(db.select(Organization).where(Organization.name == "Northwind Consulting"))
    return {"admin": "admin@acme.example", "partner": "jane@northwind.example",
            "distributor": "dora@atlas.example", "org": northwind,
            "connection": connection}


def _argument_value(argument: str, org_id: int):
    model = route_map.model_for(argument)
    if model is None:
        return "1"
    if model is Organization:
        return org_id
    rows = list(_db.session.scalars(_db.select(model).limit(200)))
    if model is User:
        rows = [r for r in rows if r.role == "partner_user"]
    own = [r for r in rows if org_id in route_map.organization_of(r)]
    chosen = (own or rows or [None])[0]
    return route_map.key_of(chosen, argument) if chosen is not None else "1"


def _client_for(app, who: str | None):
    client = app.test_client()
    if who != "anonymous":
        response = client.submit("/login", {"email": who, "password": demo.DEMO_PASSWORD})
        assert response.status_code == 303, f"{who} cannot sign in"
    return client


def _still_signed_in(app, clients: dict, who: str):
    """The client of `who`, signed in again if a post ended its session (sign out everywhere, a reset)."""
    if who != "anonymous" and clients[who].get("/account").status_code != 200:
        clients[who] = _client_for(app, who)
    return clients[who]


def _pick_poster(app, clients, path: str):
    """The first of anonymous, a partner admin, a distributor admin and an internal admin for whom
    the route is there (not sign-in, not 404)."""
    for who in list(clients):
        client = _still_signed_in(app, clients, who)
        response = client.post(path, data={"csrf_token": client.csrf_token()})
        location = response.headers.get("Location", "")
        if response.status_code in (403, 404, 405) or (response.status_code == 302 and "/login" in location):
            continue
        return who
    return None


def _page_forms(client, app, scene_values) -> list[route_map.HtmlForm]:
    found = []
    for route in route_map.routes(app):
        if "GET" not in route.methods or route.endpoint.startswith(("dev.", "public.brand")):
            continue
        path = route.path(scene_values)
        response = client.get(path)
        if response.status_code == 200 and "html" in response.content_type:
            found += route_map.forms_on(response.get_data(as_text=True), path)
    return found


def test_hostile_values_in_every_form_never_cause_a_500_nor_reach_the_database(app, scene):
    values = {arg: _argument_value(arg, scene["org"].id)
              for route in route_map.routes(app) for arg in route.arguments}
    post_routes = [r for r in route_map.routes(app) if "POST" in r.methods and not r.endpoint.startswith("webhooks.")
                   and r.endpoint != "auth.logout"]
    # Internal routes last: an admin's successful post may deactivate what the partner's posts need.
    post_routes.sort(key=lambda r: r.rule.startswith("/internal"))
    assert len(post_routes) >= 40
    clients = {who: _client_for(app, who) for who in ("anonymous", scene["partner"], scene["distributor"],
                                                       scene["admin"])}
    page_forms = {who: _page_forms(client, app, values) for who, client in clients.items()}
    all_fields: set[str] = set()
    swept = []
    for route in post_routes:
        path = route.path(values)
        who = _pick_poster(app, clients, path)
        if who is None and route.arguments:
            continue  # an argument names no record here (a token): its own tests cover it
        assert who is not None, f"nobody may post to {path}"
        forms = [f for f in page_forms[who] if f.action.split("?")[0] == path]
        fields = {}
        for form in forms:
            fields.update(form.fields)
        all_fields |= set(fields)
        swept.append((route, path, who, fields))
    assert len(swept) >= 40, [r.rule for r, *_ in swept]
    # A route whose form is on no page (an htmx-only action) gets every field name the app uses.
    for route, path, who, fields in swept:
        own_token = route_map.checks_own_token(route)
        _sweep(app, clients, who, path, fields or dict.fromkeys(all_fields, ""), own_token=own_token)


def _sweep(app, clients: dict, who: str, path: str, defaults: dict[str, str], *, own_token: bool):
    names = sorted(n for n in defaults if n != "csrf_token")

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.fixed_dictionaries({name: st.one_of(st.just(defaults[name]), hostile_text) for name in names}))
    def post(data):
        client = _still_signed_in(app, clients, who) if clients.pop("_signed_out", None) else clients[who]
        # A public form carries its own signed token from the page; every other form the session's.
        token = defaults.get("csrf_token") if own_token else client.csrf_token()
        response = client.post(path, data={**data, "csrf_token": token})
        if response.status_code == 302 and "/login" in response.headers.get("Location", ""):
            clients["_signed_out"] = True
        assert response.status_code < 500, f"POST {path} {data!r} answered {response.status_code}"
        assert _stored_text_problems() == [], f"POST {path} {data!r} stored refused text"

    post()


def test_a_nul_in_the_sign_in_email_is_a_field_error(client, db):
    response = client.submit("/login", {"email": "a\x00b@x.example", "password": "whatever-password"})
    assert response.status_code == 422
    assert hygiene.TEXT_REFUSED in response.get_data(as_text=True)


@pytest.mark.parametrize("amount", ["NaN", "sNaN", "Infinity", "-Infinity", "1e40"])
def test_money_fields_refuse_non_finite_and_absurd_amounts(client, db, amount):
    from tests.factories import internal_user
    client.login(internal_user("admin"))
    response = client.submit("/internal/commissions/plans/new", {
        "name": "Hostile", "kind": "flat", "flat_amount": amount, "currency": "USD", "tier": "gold",
        "organization_id": "0"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert hygiene.NUMBER_REFUSED in html or hygiene.NUMBER_TOO_LARGE in html
    from portal.models import CommissionPlan
    assert _db.session.scalar(_db.select(CommissionPlan).where(CommissionPlan.name == "Hostile")) is None


def test_organization_names_refuse_direction_overrides_and_nul(client, db):
    from tests.factories import internal_user
    client.login(internal_user("admin"))
    for name in ["Evil\u202eCorp", "Nul\x00Org"]:
        response = client.submit("/internal/organizations/new", {"name": name, "kind": "partner", "tier": ""})
        assert response.status_code == 422
        assert hygiene.TEXT_REFUSED in response.get_data(as_text=True)
    assert _db.session.scalar(_db.select(Organization).where(Organization.name.like("%Corp%"))) is None


def test_a_twenty_digit_id_in_the_bulk_action_is_refused_plainly(client, db):
    from tests.factories import internal_user
    client.login(internal_user("admin"))
    response = client.submit("/internal/referrals/bulk", {"referral_ids": "9" * 20, "action": "accept"})
    assert response.status_code == 422  # the form is shown again; nothing overflowed
    assert client.get("/internal/referrals/queue").status_code == 200


def test_a_twenty_digit_id_in_a_path_is_a_404(client, db):
    from tests.factories import internal_user
    client.login(internal_user("admin"))
    assert client.get("/internal/referrals/" + "9" * 20).status_code == 404
