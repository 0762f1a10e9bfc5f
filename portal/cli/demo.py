"""Demo and benchmark data: what `make run` shows a newcomer, and bulk rows for bench/."""
from __future__ import annotations

import random
import secrets
from datetime import timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import case, func, insert

from portal.extensions import db
from portal.models import Commission, DealRegistration, OrgKind, Organization, Referral, ReferralLink, User
from portal.models.types import utcnow
from portal.services import (accounts, applications, commissions, crm, deals, distributors, lead_distribution, leads,
                             ledger, links, payees, payouts, read_cache, referrals, settings, tallies)
from portal.services.reporting import saved_views

DEMO_PASSWORD = "demo-password"
VENDOR_NAME = "Acme Cloud"

DEMO_ORGS = [
    # (kind, name, tier, domain, country)
    ("partner", "Northwind Consulting", "gold", "northwind.example", "US"),
    ("partner", "Bluebird Digital", "silver", "bluebird.example", "GB"),
    ("partner", "Cobalt Systems", "registered", "cobalt.example", "DE"),
    ("distributor", "Atlas Distribution", "platinum", "atlas.example", "NL"),
]
DEMO_USERS = [
    # (email, name, role, organization name)
    ("admin@acme.example", "Ada Admin", "admin", VENDOR_NAME),
    ("manager@acme.example", "Max Manager", "manager", VENDOR_NAME),
    ("sales@acme.example", "Sam Sales", "sales", VENDOR_NAME),
    ("sales2@acme.example", "Sofia Seller", "sales", VENDOR_NAME),
    ("jane@northwind.example", "Jane Doe", "partner_admin", "Northwind Consulting"),
    ("paul@northwind.example", "Paul Partner", "partner_user", "Northwind Consulting"),
    ("bella@bluebird.example", "Bella Byrne", "partner_admin", "Bluebird Digital"),
    ("ben@bluebird.example", "Ben Brooks", "partner_user", "Bluebird Digital"),
    ("carl@cobalt.example", "Carl Cobb", "partner_admin", "Cobalt Systems"),
    ("dora@atlas.example", "Dora Atlas", "partner_admin", "Atlas Distribution"),
]


def already_seeded() -> bool:
    return db.session.scalar(db.select(User.id).where(User.email == DEMO_USERS[0][0])) is not None


def ensure_vendor() -> Organization:
    """The vendor organization, created on first use."""
    vendor = db.session.scalar(db.select(Organization).where(Organization.kind == OrgKind.VENDOR.value))
    if vendor is None:
        vendor = Organization(kind=OrgKind.VENDOR.value, name=VENDOR_NAME, domain="acme.example", country="US")
        db.session.add(vendor)
        db.session.commit()
    return vendor


def seed() -> None:
    """Create the demo organizations and users (call only when not already_seeded())."""
    orgs = {VENDOR_NAME: ensure_vendor()}
    for kind, name, tier, domain, country in DEMO_ORGS:
        orgs[name] = Organization(kind=kind, name=name, tier=tier, domain=domain, country=country)
        db.session.add(orgs[name])
    db.session.flush()
    for email, name, role, org_name in DEMO_USERS:
        accounts.create_user(organization=orgs[org_name], email=email, name=name, role=role, password=DEMO_PASSWORD)
    _seed_plans()
    _seed_exchange_rates()
    _seed_referrals(orgs)
    _seed_deals(orgs)
    _seed_crm()
    _seed_salesforce()
    _seed_links()
    _seed_ledger(orgs)
    _seed_saved_views()
    _seed_partner_application()


DEMO_PLANS = [
    # (name, kind, flat, percent, cap, tier)
    ("Registered: flat fee", "flat", Decimal("250"), None, None, "registered"),
    ("Silver: 5 %", "percent", None, Decimal("5"), None, "silver"),
    ("Gold: 10 %, capped", "percent", None, Decimal("10"), Decimal("10000"), "gold"),
    ("Platinum: 12 %", "percent", None, Decimal("12"), None, "platinum"),
]

# (partner, submitter email, company, domain, contact, value, what happens next)
DEMO_REFERRALS = [
    ("Northwind Consulting", "paul@northwind.example", "Globex Corporation", "globex.example", ("Hank", "Scorpio"), "48000", "submitted"),
    ("Northwind Consulting", "jane@northwind.example", "Initech", "initech.example", ("Bill", "Lumbergh"), "12500", "accepted"),
    ("Northwind Consulting", "paul@northwind.example", "Umbrella Health", "umbrella.example", ("Alice", "Abernathy"), "30000", "sent_to_reseller"),
    ("Northwind Consulting", "jane@northwind.example", "Stark Logistics", "stark.example", ("Pepper", "Potts"), "9000", "rejected"),
    ("Northwind Consulting", "jane@northwind.example", "Wayne Foods", "waynefoods.example", ("Lucius", "Fox"), "10000", "won_payment_pending"),
    ("Bluebird Digital", "ben@bluebird.example", "Soylent Labs", "soylent.example", ("Sol", "Roth"), "22000", "won_payment_completed"),
    ("Bluebird Digital", "bella@bluebird.example", "Tyrell Systems", "tyrell.example", ("Rachael", "Tyrell"), "60000", "lost"),
    ("Bluebird Digital", "ben@bluebird.example", "Cyberdyne Retail", "cyberdyne.example", ("Miles", "Dyson"), "15000", "submitted"),
]


def _seed_plans() -> None:
    for name, kind, flat, percent, cap, tier in DEMO_PLANS:
        commissions.save_plan(name=name, kind=kind, flat_amount=flat, percent=percent, cap_amount=cap,
                              currency="USD", tier=tier, organization_id=None)


# The demo's plans pay in USD: a deal won in one of these is converted at the rate (Commissions,
# Exchange rates); in any other currency its commission is held for someone to decide.
DEMO_RATES = [("EUR", "USD", Decimal("1.08")), ("GBP", "USD", Decimal("1.27")), ("JPY", "USD", Decimal("0.0067"))]


def _seed_exchange_rates() -> None:
    admin = accounts.find_by_email("admin@acme.example")
    for base, quote, rate in DEMO_RATES:
        commissions.add_rate(base_currency=base, quote_currency=quote, rate=rate, valid_on=utcnow().date() - timedelta(days=30),
                             by=admin)


def _seed_referrals(orgs: dict[str, Organization]) -> None:
    manager = accounts.find_by_email("manager@acme.example")
    sales = accounts.find_by_email("sales@acme.example")
    for partner, email, company, domain, (first, last), value, outcome in DEMO_REFERRALS:
        data = referrals.ReferralInput(contact_first_name=first, contact_last_name=last,
                                       contact_email=f"{first.lower()}@{domain}", company_name=company,
                                       company_domain=domain, estimated_value=Decimal(value), currency="USD",
                                       notes=f"{company} is looking for a cloud platform for its growing team.",
                                       consent=True)
        referral = referrals.submit(data, partner_org=orgs[partner], by=accounts.find_by_email(email)).referral
        if outcome in {"accepted", "won_payment_pending", "won_payment_completed", "lost"}:
            referrals.accept(referral, by=manager, owner=sales)
        if outcome == "sent_to_reseller":
            referrals.route_to_reseller(referral, by=manager, reseller=orgs["Atlas Distribution"])
        elif outcome == "rejected":
            referrals.reject(referral, by=manager, reason="Stark Logistics is already an Acme Cloud customer.")
        elif outcome in {"won_payment_pending", "won_payment_completed"}:
            referrals.mark_won(referral, amount=Decimal(value), by=sales)
            if outcome == "won_payment_completed":
                referrals.mark_commission_paid(referral, by=manager)
        elif outcome == "lost":
            referrals.mark_lost(referral, reason="The customer chose to stay with their current provider.", by=sales)


DEMO_RESELLER_PLANS = [
    # (name, percent, tier): what the reseller of a won deal registration earns, beside the referrer
    ("Platinum resellers: 5 %", Decimal("5"), "platinum"),
    ("Gold resellers: 4 %", Decimal("4"), "gold"),
]
# (partner, registering user, customer, domain, contact, amount, what happens next)
DEMO_DEALS = [
    ("Bluebird Digital", "bella@bluebird.example", "Initrode", "initrode.example", "Peter Gibbons", "18000", "submitted"),
    ("Cobalt Systems", "carl@cobalt.example", "Vandelay Industries", "vandelay.example", "Art Vandelay", "26000", "pre_approved"),
    ("Bluebird Digital", "bella@bluebird.example", "Oceanic Airlines", "oceanic.example", "Kate Austen", "90000", "rejected"),
    ("Cobalt Systems", "carl@cobalt.example", "Duff Brewing", "duff.example", "Duffman Barley", "14000", "lost"),
    ("Bluebird Digital", "ben@bluebird.example", "Massive Dynamic", "massive.example", "Nina Sharp", "52000", "expired"),
]


def _seed_deals(orgs: dict[str, Organization]) -> None:
    """Deal registrations in every status; Umbrella Health's lead at Atlas converted; Globex won, paying Jane and Dora."""
    manager = accounts.find_by_email("manager@acme.example")
    dora = accounts.find_by_email("dora@atlas.example")
    settings.save("distribution", {**settings.get("distribution"), "enabled": True, "on_behalf": "assigned"})
    db.session.commit()
    distributors.set_distributors(orgs["Northwind Consulting"], [orgs["Atlas Distribution"].id])
    for name, percent, tier in DEMO_RESELLER_PLANS:
        commissions.save_plan(name=name, kind="percent", flat_amount=None, percent=percent, cap_amount=None,
                              currency="USD", tier=tier, organization_id=None, audience="reseller")
    lead_distribution.save_rule(name="Gold and platinum resellers", tiers=["gold", "platinum"], countries=[],
                                partner_countries=[], field_key=None, field_values=[])

    for partner, email, company, domain, contact, amount, outcome in DEMO_DEALS:
        data = deals.DealInput(customer_company=company, customer_domain=domain, contact_name=contact,
                               contact_email=f"{contact.split()[0].lower()}@{domain}", amount=Decimal(amount),
                               currency="USD", products="Acme Cloud platform, 3-year subscription")
        deal = deals.register(data, by=accounts.find_by_email(email))
        if outcome in {"pre_approved", "lost", "expired"}:
            deals.pre_approve(deal, by=manager)
        if outcome in {"lost", "expired"}:
            deals.approve(deal, by=manager)
        if outcome == "rejected":
            deals.reject(deal, by=manager, reason="Oceanic Airlines buys from us directly.")
        elif outcome == "lost":
            deals.mark_lost(deal, reason="The customer postponed the project by a year.", by=manager)
        elif outcome == "expired":
            deal.expires_at = utcnow() - timedelta(hours=1)  # its protection ran out: the sweep expires it
            db.session.commit()
            deals.sweep_expiry()

    # Umbrella Health (Jane's referral, sent to Atlas as a lead): Dora converted the lead; approved, open.
    umbrella = db.session.scalar(db.select(Referral).where(Referral.company_name == "Umbrella Health"))
    lead = leads.current_for(umbrella)
    leads.accept(lead, by=dora)
    approved = deals.register(deals.input_from_lead(lead), by=dora, lead=lead)
    deals.approve(approved, by=manager, owner=accounts.find_by_email("sales@acme.example"))

    # Globex: Jane referred it, Atlas won it; both are paid their own commission.
    jane = accounts.find_by_email("jane@northwind.example")
    data = referrals.ReferralInput(contact_first_name="Hank", contact_last_name="Scorpio",
                                   contact_email="hank@globex-energy.example", company_name="Globex Energy",
                                   company_domain="globex-energy.example", estimated_value=Decimal("40000"),
                                   currency="USD", consent=True, notes="Globex Energy wants a reseller nearby.")
    globex = referrals.submit(data, partner_org=orgs["Northwind Consulting"], by=jane).referral
    referrals.route_to_reseller(globex, by=manager, reseller=orgs["Atlas Distribution"])
    lead = leads.current_for(globex)
    leads.accept(lead, by=dora)
    won = deals.register(deals.input_from_lead(lead), by=dora, lead=lead)
    deals.approve(won, by=manager)
    deals.mark_won(won, amount=Decimal("42000"), by=manager)

    # Dora registers a deal for Northwind, owned by Jane (two-tier, on the partner's behalf).
    deals.register(deals.DealInput(customer_company="Wonka Sweets", customer_domain="wonka.example",
                                   contact_name="Charlie Bucket", contact_email="charlie@wonka.example",
                                   amount=Decimal("24000"), currency="USD", products="Acme Cloud for 40 stores"),
                   by=dora, partner_org_id=orgs["Northwind Consulting"].id, owner_id=jane.id)


def _seed_links() -> None:
    """Jane's "Spring campaign" link: a few visitors, and one prospect who came back three days later."""
    link = links.create(by=accounts.find_by_email("jane@northwind.example"), campaign="Spring campaign")
    for visitor in ("demo-visitor-0001", "demo-visitor-0002", "demo-visitor-0003"):
        links.record_visit(link, visitor)
    data = referrals.ReferralInput(contact_first_name="Marge", contact_last_name="Gunderson",
                                   contact_email="marge@brainerd.example", company_name="Brainerd Outfitters",
                                   contact_phone="+1 218 555 0147", consent=True,
                                   notes="Saw Northwind's newsletter; we need cloud backups for six stores.")
    links.submit(link, data, first_visit_at=utcnow() - timedelta(days=3))


def _seed_partner_application() -> None:
    """One company waiting in "Partners" → "Applications", to approve (or reject) in the tour."""
    applications.submit(applications.ApplicationInput(
        company_name="Contoso Cloud Services", domain="contoso.example", country="NL",
        contact_name="Carla Contoso", contact_email="carla@contoso.example",
        offering="Managed cloud hosting for 300 small businesses in the Benelux; we resell backup and security."))


# (partner, company, domain, won amount, days since won, what happens next) — the commission ledger's states.
DEMO_WINS = [
    ("Northwind Consulting", "Hooli Studios", "hooli.example", "40000", 45, "open batch"),
    ("Northwind Consulting", "Vandelay Imports", "vandelay.example", "18000", 38, "open batch"),
    ("Bluebird Digital", "Oscorp Energy", "oscorp.example", "26000", 70, "paid batch"),
    ("Bluebird Digital", "Massive Dynamic", "massive.example", "14000", 12, "lost"),
    ("Northwind Consulting", "Prestige Worldwide", "prestige.example", "9000", 5, "pending"),
]


def _seed_ledger(orgs: dict[str, Organization]) -> None:
    """Commissions in every ledger state: pending, approved (in an open batch), paid in a paid batch,
    voided by a lost deal, and a clawback (a paid deal lost) still to net; payee details for both partners."""
    manager = accounts.find_by_email("manager@acme.example")
    sales = accounts.find_by_email("sales@acme.example")
    payees.save(orgs["Northwind Consulting"], by=accounts.find_by_email("jane@northwind.example"), method="bank",
                account_name="Northwind Consulting LLC", iban="DE89370400440532013000", bic="COBADEFFXXX",
                tax_id="US-47-1234567")
    payees.save(orgs["Bluebird Digital"], by=accounts.find_by_email("bella@bluebird.example"), method="paypal",
                account_name="Bluebird Digital Ltd", paypal_email="payouts@bluebird.example", tax_id="GB123456789")
    won = {}
    for partner, company, domain, amount, days, _ in DEMO_WINS:
        data = referrals.ReferralInput(contact_first_name="Demo", contact_last_name=company.split()[0],
                                       contact_email=f"buyer@{domain}", company_name=company, company_domain=domain,
                                       estimated_value=Decimal(amount), currency="USD", consent=True)
        referral = referrals.submit(data, partner_org=orgs[partner], by=None, actor_label="Demo").referral
        referrals.accept(referral, by=manager, owner=sales)
        referrals.mark_won(referral, amount=Decimal(amount), won_at=utcnow() - timedelta(days=days), by=sales)
        won[company] = referral
    ledger.approve_due()
    paid = payouts.create_batch(by=manager, currency="USD", partner_org_ids=[orgs["Bluebird Digital"].id])
    payouts.mark_paid(paid, by=manager, reference="SEPA-DEMO-0001")
    referrals.mark_lost(won["Massive Dynamic"], reason="The customer cancelled during the trial.", by=sales)
    soylent = db.session.scalar(db.select(Referral).where(Referral.company_name == "Soylent Labs"))
    referrals.mark_lost(soylent, reason="Refunded after 20 days: the rollout was cancelled.", by=manager)
    payouts.create_batch(by=manager, currency="USD", partner_org_ids=[orgs["Northwind Consulting"].id])


DEMO_VIEWS = [
    # (owner, entity, name, query, sharing, pinned)
    ("jane@northwind.example", "referrals", "Won this year",
     "f1=stage&o1=in&v1=won_payment_pending,won_payment_completed&sort=-won_at"
     "&cols=number,company_name,won_at,won_amount,commission_amount,commission_status", "private", True),
    ("jane@northwind.example", "referrals", "Open pipeline (team)",
     "f1=stage&o1=in&v1=submitted,accepted,sent_to_reseller&sort=-estimated_value"
     "&cols=number,company_name,submitted_by,status,estimated_value", "organization", False),
    ("manager@acme.example", "referrals", "Open referrals by partner",
     "f1=stage&o1=in&v1=submitted,accepted,sent_to_reseller&sort=partner_name"
     "&cols=partner_name,number,company_name,status,owner,estimated_value", "internal", True),
    ("manager@acme.example", "commissions", "Commissions awaiting payout",
     "f1=status&o1=in&v1=pending,approved&sort=created_at&cols=partner,referral,company_name,amount,status",
     "private", True),
]


def _seed_saved_views() -> None:
    for email, entity, name, query, sharing, pinned in DEMO_VIEWS:
        saved_views.save(accounts.find_by_email(email), entity=entity, name=name, query=query, sharing=sharing,
                         pin=pinned)


def logins() -> list[tuple[str, str, str]]:
    return [(email, role, org) for email, _name, role, org in DEMO_USERS]


def seed_bench(*, partners: int, referrals: int, heavy_partner_referrals: int = 0, deals: int = 0,
               heavy_partner_deals: int = 0) -> dict[str, int | str]:
    """Bulk-insert `partners` partner organizations, each with an admin user (password DEMO_PASSWORD), and
    `referrals` referrals spread over them, the last 12 months and every stage, with commissions for won ones.

    `heavy_partner_referrals` of them go to the first bench partner (a big partner among many); the rest are
    spread evenly over the others. `deals` deal registrations likewise (`heavy_partner_deals` of them the
    first partner's). Rows go in with Core executemany in chunks: no services, mail or events.
    """
    ensure_vendor()
    password_hash = accounts.hash_password(DEMO_PASSWORD)
    run = secrets.token_hex(3)
    tiers = ["registered", "silver", "gold", "platinum"]
    org_rows = [dict(kind="partner", name=f"Bench Partner {run}-{i:05d}", tier=tiers[i % 4], status="active",
                     domain=f"bench{run}-{i}.example") for i in range(partners)]
    org_ids = list(db.session.scalars(insert(Organization).returning(Organization.id, sort_by_parameter_order=True),
                                      org_rows)) if org_rows else []
    read_cache.written(read_cache.ORGANIZATIONS)  # a Core insert: no flush hook saw it
    user_rows = [dict(organization_id=org_id, email=f"bench{run}-{i}@partner.example", name=f"Bench User {i}",
                      role="partner_admin", password_hash=password_hash, active=True,
                      session_token=secrets.token_hex(16), notification_preferences={})
                 for i, org_id in enumerate(org_ids)]
    user_ids = list(db.session.scalars(insert(User).returning(User.id, sort_by_parameter_order=True),
                                       user_rows)) if user_rows else []
    staff_email = f"bench{run}-staff@acme.example"
    db.session.execute(insert(User), [dict(organization_id=ensure_vendor().id, email=staff_email, name="Bench Manager",
                                           role="manager", password_hash=password_hash, active=True,
                                           session_token=secrets.token_hex(16), notification_preferences={})])
    counts: dict[str, int | str] = {"partners": len(org_ids), "users": len(user_ids), "bench_run": run,
                                    "staff_manager": staff_email}
    if org_ids:
        link = ReferralLink(partner_org_id=org_ids[0], user_id=user_ids[0], campaign="Bench campaign")
        db.session.add(link)
        db.session.flush()
        counts["link_code"] = link.code
    if referrals > 0 and org_ids:
        heavy = min(max(heavy_partner_referrals, 0), referrals)
        owners = _bench_owners(list(zip(org_ids, user_ids)), referrals, heavy)
        counts["referrals"] = _bench_referrals(run, owners)
        counts["commissions"] = _bench_commissions(org_ids)
        if heavy:
            counts["heavy_partner_referrals"] = sum(1 for org_id, _ in owners if org_id == org_ids[0])
            counts["heavy_partner_admin"] = user_rows[0]["email"]
    if deals > 0 and org_ids:
        heavy = min(max(heavy_partner_deals, 0), deals)
        owners = _bench_owners(list(zip(org_ids, user_ids)), deals, heavy)
        counts["deals"] = _bench_deals(run, owners)
        if heavy:
            counts["heavy_partner_deals"] = sum(1 for org_id, _ in owners if org_id == org_ids[0])
            counts["heavy_partner_admin"] = user_rows[0]["email"]
    # The rows went in with Core, past the session hooks that keep the dashboards' tallies: count them now.
    tallies.rebuild(db.session)
    read_cache.written(read_cache.TALLIES)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Fresh statistics (or the planner misjudges tables that just grew a thousandfold) and a visibility
        # map, so counts can be answered from the indexes alone.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    return counts


# How bench referrals are spread over the stages (weights), roughly a healthy pipeline.
BENCH_STAGES = {"submitted": 18, "accepted": 20, "sent_to_reseller": 10, "rejected": 10,
                "won_payment_pending": 12, "won_payment_completed": 14, "lost": 16}
BENCH_CHUNK = 5000


def _bench_owners(partners: list[tuple[int, int]], total: int, heavy: int) -> list[tuple[int, int]]:
    """(partner org id, submitting user id) for each referral: `heavy` for the first, the rest round-robin."""
    if heavy and len(partners) > 1:
        others = partners[1:]
        return [partners[0]] * heavy + [others[i % len(others)] for i in range(total - heavy)]
    return [partners[i % len(partners)] for i in range(total)]


def _bench_referrals(run: str, owners: list[tuple[int, int]]) -> int:
    rng = random.Random(run)
    now = utcnow()
    stages, weights = list(BENCH_STAGES), list(BENCH_STAGES.values())
    table = Referral.__table__
    connection = db.session.connection()
    for offset in range(0, len(owners), BENCH_CHUNK):
        rows = []
        for i, (org_id, user_id) in enumerate(owners[offset:offset + BENCH_CHUNK], start=offset):
            stage = rng.choices(stages, weights)[0]
            created = now - timedelta(seconds=rng.randrange(365 * 86400))
            value = Decimal(rng.randrange(20, 4000) * 50)
            won = stage.startswith("won")
            rows.append(dict(
                number=f"B{run}{i:07d}", partner_org_id=org_id, submitted_by_id=user_id, source="portal",
                contact_first_name="Bench", contact_last_name=f"Contact {i}", contact_email=f"c{i}@b{run}-{i}.example",
                company_name=f"Bench Customer {run}-{i}", company_domain=f"b{run}-{i}.example", company_country="US",
                estimated_value=value, currency="EUR" if i % 10 == 0 else "USD", consent=True, custom_fields={},
                status=stage, stage=stage, routing="reseller" if stage == "sent_to_reseller" else "direct",
                rejection_reason="Outside our market." if stage == "rejected" else None,
                lost_reason="Chose a competitor." if stage == "lost" else None,
                won_amount=value if won else None,
                won_at=min(created + timedelta(days=rng.randrange(1, 60)), now) if won else None,
                duplicate_flag=False, created_at=created, updated_at=created))
        connection.execute(insert(table), rows)
    return len(owners)


# How bench registrations are spread over the statuses (weights); a tenth wait for review.
BENCH_DEAL_STATUSES = {"submitted": 6, "pre_approved": 4, "approved": 30, "rejected": 10, "won": 25, "lost": 15,
                       "expired": 10}


def _bench_deals(run: str, owners: list[tuple[int, int]]) -> int:
    rng = random.Random(f"deals-{run}")
    now = utcnow()
    statuses, weights = list(BENCH_DEAL_STATUSES), list(BENCH_DEAL_STATUSES.values())
    connection = db.session.connection()
    for offset in range(0, len(owners), BENCH_CHUNK):
        rows = []
        for i, (org_id, user_id) in enumerate(owners[offset:offset + BENCH_CHUNK], start=offset):
            status = rng.choices(statuses, weights)[0]
            created = now - timedelta(seconds=rng.randrange(365 * 86400))
            amount = Decimal(rng.randrange(20, 4000) * 50)
            decided = status not in ("submitted", "pre_approved", "rejected")
            rows.append(dict(
                number=f"D{run}{i:07d}", partner_org_id=org_id, owner_id=user_id, registered_by_id=user_id,
                hidden_from_distributor=False, customer_company=f"Bench End Customer {run}-{i}",
                customer_domain=f"d{run}-{i}.example", customer_country="US", contact_name=f"Bench Buyer {i}",
                contact_email=f"buyer{i}@d{run}-{i}.example", amount=amount, currency="EUR" if i % 10 == 0 else "USD",
                expected_close=(created + timedelta(days=90)).date(), custom_fields={}, status=status,
                conflict_flag=False, won_amount=amount if status == "won" else None,
                won_at=min(created + timedelta(days=60), now) if status == "won" else None,
                approved_at=created + timedelta(days=2) if decided else None,
                expires_at=created + timedelta(days=92) if decided else None,
                created_at=created, updated_at=created))
        connection.execute(insert(DealRegistration.__table__), rows)
    return len(owners)


def _bench_commissions(org_ids: list[int]) -> int:
    """10 % of the won amount for every won bench referral, in one INSERT ... SELECT."""
    paid = Referral.stage == "won_payment_completed"
    won = (db.select(Referral.id, Referral.partner_org_id, func.round(Referral.won_amount / 10, 2), Referral.currency,
                     case((paid, "paid"), else_="pending"), case((paid, Referral.won_at), else_=None), Referral.won_at)
           .where(Referral.partner_org_id.in_(org_ids),
                  Referral.stage.in_(("won_payment_pending", "won_payment_completed"))))
    db.session.execute(insert(Commission).from_select(
        ["referral_id", "partner_org_id", "amount", "currency", "status", "paid_at", "created_at"], won))
    return db.session.scalar(db.select(func.count()).select_from(Commission)
                             .where(Commission.partner_org_id.in_(org_ids)))


# The HubSpot sandbox composed into the demo (SANDBOX_CRMS): its documented demo token and app
# secret (crm_sandbox/README.md); the sandbox posts its webhooks to /webhooks/hubspot (portal/__init__.py).
DEMO_HUBSPOT_TOKEN = "pat-na1-sandbox-demo-token"
DEMO_HUBSPOT_SECRET = "sandbox-demo-client-secret"


DEMO_CRM_NAME = "HubSpot (sandbox)"


def _sandbox_base_url() -> str:
    """The sandbox is served by the portal itself, so its base URL is the portal's public one."""
    return current_app.config["PUBLIC_BASE_URL"] + "/sandbox/hubspot"


def _seed_crm() -> None:
    """Connect the demo to the HubSpot sandbox: new referrals become deals, Closed Won comes back."""
    if not current_app.config.get("SANDBOX_CRMS") or current_app.config.get("TESTING"):
        return
    crm.create_connection(name=DEMO_CRM_NAME, base_url=_sandbox_base_url(), token=DEMO_HUBSPOT_TOKEN,
                          webhook_secret=DEMO_HUBSPOT_SECRET, sync_trigger="auto")


def point_crm_at_sandbox() -> bool:
    """The demo's sandbox connection follows the address the portal is served at (`make run HOST=…
    PORT=…` sets PUBLIC_BASE_URL), so a demo seeded on one host or port keeps syncing on another."""
    if not current_app.config.get("SANDBOX_CRMS"):
        return False
    wanted = _sandbox_base_url()
    connection = next((c for c in crm.list_connections()
                       if c.name == DEMO_CRM_NAME and c.base_url.endswith("/sandbox/hubspot")), None)
    if connection is None or connection.base_url == wanted:
        return False
    crm.update_connection(connection, name=connection.name, base_url=wanted, sync_trigger=connection.sync_trigger,
                          existing_policy=connection.existing_policy, active=connection.active)
    return True


# The Salesforce sandbox composed into the demo: its documented connected-app defaults
# (crm_sandbox/README.md, Settings). Referrals: manual, so that automatic pushes go to HubSpot and a
# person sends a referral to Salesforce with "Sync now" (which then goes to both). Deal
# registrations (which only Salesforce syncs): automatically when registered and when approved.
DEMO_SALESFORCE_CLIENT = ("sandbox-demo-client-id", "sandbox-demo-client-secret", "sandbox-demo-refresh-token")


def _seed_salesforce() -> None:
    """Connect the demo to the Salesforce sandbox: a referral (on Sync now) or a deal registration (as
    it is registered) becomes a Lead; convert it there and win its Opportunity, and the portal follows."""
    if not current_app.config.get("SANDBOX_CRMS") or current_app.config.get("TESTING"):
        return
    client_id, secret, refresh_token = DEMO_SALESFORCE_CLIENT
    crm.create_connection(name="Salesforce (sandbox)", provider="salesforce",
                          base_url=current_app.config["PUBLIC_BASE_URL"] + "/sandbox/salesforce", token="",
                          credentials={"client_id": client_id, "client_secret": secret,
                                       "refresh_token": refresh_token}, sync_trigger="manual",
                          options={crm.DEAL_EVENTS_OPTION: ["created", "approved"]})
    _seed_salesforce_accounts()


# Accounts in the Salesforce sandbox for the organization matching wizard (issue #14): some demo
# partners match exactly, some fuzzily (another legal form, a website or a contact's email domain),
# Cobalt Systems not at all, and two flagged Accounts match no organization ("Please select" finds
# them). The unflagged one is never offered.
DEMO_ACCOUNTS = [
    # (name, website, flagged, partner status, contact email)
    ("Northwind Consulting", "https://northwind.example", True, "Active Partner", None),
    ("BLUEBIRD DIGITAL Ltd.", "https://www.bluebird.example/", True, "Active Partner", None),
    ("Atlas Distribution GmbH", None, True, "Active Distributor", "einkauf@atlas.example"),
    ("Fabrikam Resellers Inc.", "https://fabrikam.example", True, "Inactive Partner", None),
    ("Contoso Partners", "https://contoso.example", True, "Active Partner", None),
    ("Cobalt Mining Corp", "https://cobalt-mining.example", False, None, None),
]


def _seed_salesforce_accounts() -> None:
    """Create the demo Accounts through the sandbox's own REST API (the sandbox runs in this process;
    the portal's server is not up while seeding), unless they are there from an earlier seed."""
    sandbox = current_app.extensions.get("crm_sandbox")
    if sandbox is None:
        return
    http = sandbox.test_client()
    base = "/sandbox/salesforce"
    client_id, secret, refresh_token = DEMO_SALESFORCE_CLIENT
    token = http.post(f"{base}/services/oauth2/token", data={
        "grant_type": "refresh_token", "client_id": client_id, "client_secret": secret,
        "refresh_token": refresh_token}).get_json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    api = f"{base}/services/data/v62.0"
    existing = {r["Name"] for r in http.get(f"{api}/query", headers=headers,
                                            query_string={"q": "SELECT Name FROM Account"}).get_json()["records"]}
    wanted = [a for a in DEMO_ACCOUNTS if a[0] not in existing]
    if not wanted:
        return
    records = [{"attributes": {"type": "Account"}, "Name": name, "Website": website, "Sync_with_Portal__c": flagged,
                **({"Portal_Partner_Status__c": status} if status else {})}
               for name, website, flagged, status, _email in wanted]
    results = http.post(f"{api}/composite/sobjects", headers=headers,
                        json={"allOrNone": True, "records": records}).get_json()
    for (name, _website, _flagged, _status, email), result in zip(wanted, results):
        if email and result.get("success"):
            http.post(f"{api}/sobjects/Contact", headers=headers,
                      json={"LastName": name.split()[0], "Email": email, "AccountId": result["id"]})
