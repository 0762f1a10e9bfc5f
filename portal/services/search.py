"""Global search: one query over referrals, deal registrations, organizations, users and links,
each kind within what the searcher may see (services/access.py), grouped by kind.

PostgreSQL matches with full-text search on the documents of models/search.py (GIN-indexed; every
word of the query is a prefix, so it works while the person is still typing); SQLite, the embedded
default, matches the same documents with LIKE.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import func, literal_column

from portal.extensions import db
from portal.models import DealRegistration, Organization, Referral, ReferralLink, User
from portal.models import search as documents
from portal.services import access

MAX_TERMS = 6
_NOT_IN_TERM = re.compile(r"[\\':&|!()<>*%_]")


@dataclass
class Group:
    kind: str        # referrals | deals | organizations | users | links
    label: str
    rows: list = field(default_factory=list)
    more: bool = False


def terms(q: str) -> list[str]:
    """The query's words, without characters that mean something to tsquery or LIKE."""
    words = [_NOT_IN_TERM.sub(" ", word).strip() for word in (q or "").lower().split()]
    return [w for part in words for w in part.split() if re.search(r"\w", w)][:MAX_TERMS]


def search(user: User, q: str, *, per_kind: int = 5) -> list[Group]:
    """The groups of records matching every word of `q` that `user` may see (empty groups left out)."""
    words = terms(q)
    if not words:
        return []
    groups = []
    for kind, label, model, query, order in _kinds(user):
        rows = list(db.session.scalars(query.where(_matches(model, words)).order_by(*order).limit(per_kind + 1)))
        if rows:
            groups.append(Group(kind, label, rows[:per_kind], more=len(rows) > per_kind))
    return groups


def _kinds(user: User):
    kinds = [("referrals", "Referrals", Referral, access.visible_referrals(user), (Referral.id.desc(),)),
             ("deals", "Deal registrations", DealRegistration, access.visible_deals(user),
              (DealRegistration.id.desc(),))]
    if user.is_internal:
        kinds.append(("organizations", "Organizations", Organization, access.visible_organizations(user),
                      (Organization.name,)))
    if user.is_internal or user.is_partner_admin:
        kinds.append(("users", "Users", User, access.visible_users(user), (User.name,)))
    if user.is_partner:
        kinds.append(("links", "Referral links", ReferralLink, access.visible_links(user), (ReferralLink.id.desc(),)))
    return kinds


def _matches(model, words: list[str]):
    table = model.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        # Every word (split as the index splits them) must start a word of the document.
        parts = [p for word in words for p in re.findall(r"\w+", word)]
        query = " & ".join(f"'{part}':*" for part in parts) or "''"
        # 'simple' as a literal, not a bound parameter: the expression must be the index's own.
        simple = literal_column("'simple'")
        return func.to_tsvector(simple, literal_column(documents.searchable(table))).op("@@")(
            func.to_tsquery(simple, query))
    document = literal_column(documents.document(table))
    return db.and_(*(func.lower(document).contains(word, autoescape=True) for word in words))
