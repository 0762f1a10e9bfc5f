"""Access checks that cannot drift: every route with a record in its path, asked by a partner admin
and a partner user for another organization's record, GET and POST, answers 404; every POST route
refuses a missing CSRF token with 400, but the webhooks and the public forms, which check their own
signed tokens (issue #15 item 8). Routes come from the URL map and records from the demo, so a new
route and a new kind of record are covered without editing this file."""
from __future__ import annotations

import pytest

from portal.cli import demo
from portal.extensions import db as _db
from portal.models import Organization
from tests import route_map
from tests.factories import OrganizationFactory, partner_user

# Path arguments that name no record, with a value that makes the route otherwise valid.
NOT_RECORDS = {"kind": "svg", "key": "submitted", "filename": "css/app.css"}
# Routes whose record argument is a secret of its own (a reset or invitation token), not an id.
PUBLIC_TOKEN_ARGUMENTS = {"token"}


@pytest.fixture
def northwind(app, db):
    demo.seed()
    return db.session.scalar(db.select(Organization).where(Organization.name == "Northwind Consulting"))


@pytest.fixture
def outsider(northwind):
    """A partner organization of its own beside the demo's: every demo record is another organization's."""
    org = OrganizationFactory(name="Outsider Ltd")
    return {"partner_admin": partner_user(role="partner_admin", organization=org),
            "partner_user": partner_user(role="partner_user", organization=org)}


def _foreign_rows(model, org_id: int) -> list:
    rows = list(_db.session.scalars(_db.select(model).limit(500)))
    owned = [(r, route_map.organization_of(r)) for r in rows]
    foreign = [r for r, owners in owned if owners and org_id not in owners]
    return foreign or [r for r, owners in owned if not owners]


def _probes(app, org_id: int):
    """(route, path) for each route with a record argument and each record of another organization."""
    probes = []
    for route in route_map.routes(app):
        records = [a for a in route.records if a not in NOT_RECORDS and a not in PUBLIC_TOKEN_ARGUMENTS]
        if not records or route_map.checks_own_token(route):
            continue
        candidates = {}
        for argument in records:
            model = route_map.model_for(argument)
            rows = _foreign_rows(model, org_id) if model is not None else []
            candidates[argument] = [route_map.key_of(r, argument) for r in rows[:8]] or ["1"]
        fixed = {a: values[0] for a, values in candidates.items()}
        for argument, values in candidates.items():
            for value in values:
                probes.append((route, route.path({**NOT_RECORDS, **fixed, argument: value})))
    return probes


@pytest.mark.parametrize("role", ["partner_admin", "partner_user"])
def test_another_organizations_record_is_a_404_on_every_route(app, client, outsider, role):
    user = outsider[role]
    client.login(user)
    probes = _probes(app, user.organization_id)
    assert len({r.rule for r, _ in probes}) >= 30
    assert any(r.rule.startswith("/partner/team/") for r, _ in probes)
    wrong = []
    for route, path in probes:
        for method in route.methods:
            data = {"csrf_token": client.csrf_token()} if method != "GET" else None
            response = client.open(path, method=method, data=data)
            if response.status_code != 404:
                wrong.append(f"{method} {path} ({route.endpoint}) answered {response.status_code}")
    assert wrong == []


def test_the_matrix_opens_its_own_records_so_its_404s_mean_something(app, client, northwind):
    """The same probes with Northwind's own records are not 404 for its admin (the paths are right)."""
    assert client.submit("/login", {"email": "jane@northwind.example",
                                    "password": demo.DEMO_PASSWORD}).status_code == 303
    opened = []
    for route in route_map.routes(app):
        if "GET" not in route.methods or not route.rule.startswith("/partner/") or not route.arguments:
            continue
        values = dict(NOT_RECORDS)
        for argument in route.arguments:
            model = route_map.model_for(argument)
            own = [r for r in _db.session.scalars(_db.select(model))
                   if northwind.id in route_map.organization_of(r)] if model is not None else []
            if own:
                values[argument] = route_map.key_of(own[0], argument)
        if all(a in values for a in route.arguments):
            response = client.get(route.path(values))
            assert response.status_code == 200, f"{route.rule} answered {response.status_code}"
            opened.append(route.rule)
    assert len(opened) >= 3, opened


@pytest.mark.parametrize("who", ["anonymous", "jane@northwind.example", "admin@acme.example"])
def test_every_post_route_refuses_a_missing_csrf_token(app, client, northwind, who):
    if who != "anonymous":
        assert client.submit("/login", {"email": who, "password": demo.DEMO_PASSWORD}).status_code == 303
    checked = []
    for route in route_map.routes(app):
        unsafe = [m for m in route.methods if m in ("POST", "PUT", "PATCH", "DELETE")]
        if not unsafe or route_map.checks_own_token(route):
            continue
        path = route.path({**NOT_RECORDS, "token": "t"})
        for method in unsafe:
            response = client.open(path, method=method, data={"name": "x"})
            assert response.status_code == 400, f"{method} {path} answered {response.status_code} without a token"
            checked.append(path)
    assert len(checked) >= 40
