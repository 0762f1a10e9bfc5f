"""global search: full-text GIN indexes on PostgreSQL

Revision ID: c8d2e4f6a1b3
Revises: b7c1d2e3f4a5
Create Date: 2026-12-01 23:20:00.000000

The expressions are those of portal/models/search.py (copied: a migration must not change when the
code does). SQLite has no GIN index; search falls back to LIKE there, so nothing is created.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c8d2e4f6a1b3'
down_revision = 'b7c1d2e3f4a5'
branch_labels = None
depends_on = None

DOCUMENTS = {
    "referrals": ("number", "company_name", "company_domain", "contact_first_name", "contact_last_name",
                  "contact_email"),
    "deal_registrations": ("number", "customer_company", "customer_domain", "contact_name", "contact_email"),
    "organizations": ("name", "domain"),
    "users": ("name", "email"),
    "referral_links": ("campaign", "code"),
}


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in DOCUMENTS.items():
        document = " || ' ' || ".join(f"coalesce({c}, '')" for c in columns)
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_{table}_search ON {table} "
                   f"USING gin (to_tsvector('simple', translate({document}, '@.-_+/', '      ')))")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in DOCUMENTS:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_search")
