"""the partner's referral and deal lists' and the review queue's indexes end on the id, as their order does

Revision ID: 7c3d9e1f5a28
Revises: 5b8e2f4a9c71
Create Date: 2026-12-04 01:50:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7c3d9e1f5a28'
down_revision = '5b8e2f4a9c71'
branch_labels = None
depends_on = None

INDEXES = {"referrals": {"ix_referrals_partner_created": ["partner_org_id", "created_at"],
                         "ix_referrals_stage_created": ["stage", "created_at"]},
           "deal_registrations": {"ix_deal_registrations_partner_created": ["partner_org_id", "created_at"]}}


def upgrade():
    _rebuild(extra=["id"])


def downgrade():
    _rebuild(extra=[])


def _rebuild(*, extra: list[str]) -> None:
    for table, indexes in INDEXES.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, columns in indexes.items():
                batch_op.drop_index(name)
                batch_op.create_index(name, [*columns, *extra], unique=False)
