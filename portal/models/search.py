"""What global search reads from each table: one text "document" per row, the same SQL on both databases.

On PostgreSQL each document has a GIN index on `to_tsvector('simple', document)`, and the search
service queries that very expression, so the planner uses the index. The 'simple' configuration
(no stemming, no stop words) suits names, emails and numbers better than a language's. SQLite has no
such index: the service matches the same document with LIKE instead. The indexes are created with
the tables (tests) and by the migration (deployments); Alembic's autogenerate never sees them.
"""
from __future__ import annotations

from sqlalchemy import DDL, event

from portal.models.accounts import Organization, User
from portal.models.deals import DealRegistration
from portal.models.links import ReferralLink
from portal.models.referrals import Referral


# table -> the columns of its document, in order.
COLUMNS = {
    Referral.__table__: ("number", "company_name", "company_domain", "contact_first_name", "contact_last_name",
                         "contact_email"),
    DealRegistration.__table__: ("number", "customer_company", "customer_domain", "contact_name", "contact_email"),
    Organization.__table__: ("name", "domain"),
    User.__table__: ("name", "email"),
    ReferralLink.__table__: ("campaign", "code"),
}


def document(table, *, qualified: bool = True) -> str:
    """The SQL of `table`'s search document. Queries qualify the columns (pages join other tables);
    PostgreSQL resolves both spellings to the same columns, so the index still applies."""
    prefix = f"{table.name}." if qualified else ""
    return " || ' ' || ".join(f"coalesce({prefix}{c}, '')" for c in COLUMNS[table])


# Emails, domains and numbers are split into words ("grace@harbour-analytics.example" is grace,
# harbour, analytics, example), so a half-typed email or a number's digits still match as prefixes.
SEPARATORS = "@.-_+/"


def searchable(table, *, qualified: bool = True) -> str:
    """The SQL of the text PostgreSQL turns into a tsvector: the document with separators as spaces."""
    return f"translate({document(table, qualified=qualified)}, '{SEPARATORS}', '{' ' * len(SEPARATORS)}')"


def index_name(table) -> str:
    return f"ix_{table.name}_search"


def create_index_sql(table) -> str:
    return (f"CREATE INDEX IF NOT EXISTS {index_name(table)} ON {table.name} "
            f"USING gin (to_tsvector('simple', {searchable(table, qualified=False)}))")


for _table in COLUMNS:
    event.listen(_table, "after_create", DDL(create_index_sql(_table)).execute_if(dialect="postgresql"))
