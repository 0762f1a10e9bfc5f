"""What bench/portal_load.py measures: one Scenario per page, and the seeded users they sign in as.

A scenario's clients sign in from a user pool (`auth`; None is anonymous) and build every request
from a client's context `c`: `c.index` (0..clients-1), `c.n` (requests it has sent in this
scenario), `c.seed` (the `name: value` lines seed-bench printed) and `c.state` (what `setup`, run
once per client before the first warm-up and not timed, left there; `c.csrf_token(path)` GETs a
form page in the client's session and returns its token; `c.form_token(scope)` is the signed token
a public form page would serve: each sends one referral, and a GET before every post would measure
the page as well as the post). `healthz` comes first: it is the
ceiling every other scenario's requests/s is divided by.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

# portal/cli/demo.py DEMO_PASSWORD: every user seed-bench creates has it.
BENCH_PASSWORD = "demo-password"
# portal_load.py runs the portal with this secret key; the load generator signs public form tokens with it.
BENCH_SECRET_KEY = "portal-bench-secret-key"
CEILING = "healthz"


class Request(NamedTuple):
    method: str
    path: str
    form: dict[str, str] | None = None


def get(path: str) -> Request:
    return Request("GET", path)


def post(path: str, form: dict[str, str]) -> Request:
    return Request("POST", path, form)


def _successful(status: int) -> bool:
    return 200 <= status < 300


@dataclass(frozen=True)
class Scenario:
    name: str
    request: Callable[[Any], Request]
    auth: str | None = None
    setup: Callable[[Any], None] | None = None
    # A 302 to /login must count as a failure, or a lost session would look like a fast page.
    ok: Callable[[int], bool] = _successful


SCENARIOS = [
    Scenario("healthz", request=lambda c: get("/healthz")),
    Scenario("dashboard", auth="partner", request=lambda c: get("/partner/")),
    # The vendor's overview of every partner: its counts must not grow with the referrals table.
    Scenario("internal_dashboard", auth="staff", request=lambda c: get("/internal/")),
    # The big partner's list, paging through the first 20 pages (newest first), as people do.
    Scenario("referral_list", auth="heavy_partner", request=lambda c: get(f"/partner/referrals?page={c.n % 20 + 1}")),
    Scenario("review_queue", auth="staff", request=lambda c: get(f"/internal/referrals/queue?page={c.n % 20 + 1}")),
    # The big reseller's deal registrations (5,000 among many), first 20 pages; the internal registrations queue.
    Scenario("deal_list", auth="heavy_partner", request=lambda c: get(f"/partner/deals?page={c.n % 20 + 1}")),
    Scenario("deal_queue", auth="staff", request=lambda c: get(f"/internal/deals/queue?page={c.n % 20 + 1}")),
    # A prospect opening a partner's link: anonymous, click counting included (each client is one visitor).
    Scenario("link_page", request=lambda c: get(f"/r/{c.seed['link_code']}")),
    # Prospects submitting the link's form, each with an address of their own; 303 is the thank-you page.
    # A served form's token sends one referral: each post carries a token of its own, as if just served.
    Scenario("link_submit", request=lambda c: post(f"/r/{c.seed['link_code']}", _prospect(c)),
             ok=lambda status: status == 303),
]


def _prospect(c) -> dict[str, str]:
    return {"csrf_token": c.form_token(c.seed["link_code"]), "contact_first_name": "Pat", "contact_last_name": f"Prospect {c.n}",
            "contact_email": f"pat{c.index}-{c.n}@prospect{c.index}.example", "company_name": f"Prospect {c.index} Inc",
            "contact_phone": "", "notes": "Benchmark", "consent": "y", "homepage": ""}
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}

# Emails of the users each pool's clients sign in as, from seed-bench's output. Client i signs in
# as user i % len(pool); the login limit only counts failures, so one user may serve several.
POOLS: dict[str, Callable[[dict[str, str]], list[str]]] = {
    "partner": lambda seed: [f"bench{seed['bench_run']}-{i}@partner.example" for i in range(int(seed["users"]))],
    "heavy_partner": lambda seed: [seed["heavy_partner_admin"]],
    "staff": lambda seed: [seed["staff_manager"]],
}
