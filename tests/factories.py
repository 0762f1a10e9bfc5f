"""factory_boy factories: valid by default, sequences for unique fields, traits for common states."""
from __future__ import annotations

from decimal import Decimal

import factory
from werkzeug.security import generate_password_hash

from portal.extensions import db
from portal.models import CommissionPlan, DealRegistration, Organization, Referral, ReferralLink, User

from tests.conftest import TEST_PASSWORD

_HASH = generate_password_hash(TEST_PASSWORD, method="pbkdf2:sha256:1000")


class BaseFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        # Resolved on each use: tests swap db.session for one bound to their transaction.
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class OrganizationFactory(BaseFactory):
    class Meta:
        model = Organization

    kind = "partner"
    name = factory.Sequence(lambda n: f"Partner {n:04d}")
    status = "active"
    tier = "silver"
    domain = factory.Sequence(lambda n: f"partner{n}.example")
    country = "US"

    class Params:
        vendor = factory.Trait(kind="vendor", name="Acme Cloud", tier=None, domain="acme.example")
        distributor = factory.Trait(kind="distributor", tier="gold")
        inactive = factory.Trait(status="inactive")


class UserFactory(BaseFactory):
    class Meta:
        model = User

    organization = factory.SubFactory(OrganizationFactory)
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"User {n}")
    role = "partner_user"
    password_hash = _HASH
    active = True
    notification_preferences = factory.LazyFunction(dict)

    class Params:
        invited = factory.Trait(password_hash=None)
        deactivated = factory.Trait(active=False)


def vendor_org() -> Organization:
    existing = db.session.scalar(db.select(Organization).where(Organization.kind == "vendor"))
    return existing or OrganizationFactory(vendor=True)


def internal_user(role: str = "admin", **kwargs) -> User:
    return UserFactory(organization=vendor_org(), role=role, **kwargs)


def partner_user(role: str = "partner_user", organization: Organization | None = None, **kwargs) -> User:
    return UserFactory(organization=organization or OrganizationFactory(), role=role, **kwargs)


class ReferralFactory(BaseFactory):
    class Meta:
        model = Referral

    partner_org = factory.SubFactory(OrganizationFactory)
    submitted_by = factory.LazyAttribute(lambda o: UserFactory(organization=o.partner_org))
    source = "portal"
    contact_first_name = "Casey"
    contact_last_name = factory.Sequence(lambda n: f"Customer{n}")
    contact_email = factory.Sequence(lambda n: f"casey{n}@customer{n}.example")
    company_name = factory.Sequence(lambda n: f"Customer {n} Ltd")
    company_domain = factory.Sequence(lambda n: f"customer{n}.example")
    estimated_value = Decimal("5000.00")
    currency = "USD"
    consent = True
    status = "submitted"
    stage = "submitted"
    number = factory.Sequence(lambda n: f"R-F{n:05d}")
    custom_fields = factory.LazyFunction(dict)


class CommissionPlanFactory(BaseFactory):
    class Meta:
        model = CommissionPlan

    name = factory.Sequence(lambda n: f"Plan {n}")
    kind = "percent"
    percent = Decimal("10")
    currency = "USD"
    tier = "silver"


class ReferralLinkFactory(BaseFactory):
    class Meta:
        model = ReferralLink

    user = factory.LazyFunction(lambda: UserFactory(role="partner_admin"))
    partner_org = factory.LazyAttribute(lambda o: o.user.organization)
    campaign = factory.Sequence(lambda n: f"Campaign {n}")
    active = True

    class Params:
        inactive = factory.Trait(active=False)


class DealRegistrationFactory(BaseFactory):
    class Meta:
        model = DealRegistration

    partner_org = factory.SubFactory(OrganizationFactory)
    owner = factory.LazyAttribute(lambda o: UserFactory(organization=o.partner_org, role="partner_admin"))
    registered_by = factory.LazyAttribute(lambda o: o.owner)
    customer_company = factory.Sequence(lambda n: f"End Customer {n} GmbH")
    customer_domain = factory.Sequence(lambda n: f"endcustomer{n}.example")
    contact_name = "Robin Buyer"
    contact_email = factory.Sequence(lambda n: f"robin{n}@endcustomer{n}.example")
    amount = Decimal("20000.00")
    currency = "USD"
    status = "submitted"
    number = factory.Sequence(lambda n: f"D-F{n:05d}")
    custom_fields = factory.LazyFunction(dict)
