"""amounts keep three decimals: a referral's estimated and won value, a deal registration's amount and
won amount, and the referrals' tallied value lost the last digit of the currencies with three (KWD)

Revision ID: 8e4a2c6b1d37
Revises: 7c3d9e1f5a28
Create Date: 2026-12-04 02:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8e4a2c6b1d37'
down_revision = '7c3d9e1f5a28'
branch_labels = None
depends_on = None

# table -> (column, digits before, digits after): one more digit in all, so no stored value loses room.
COLUMNS = {"referrals": [("estimated_value", 14, 15), ("won_amount", 14, 15)],
           "deal_registrations": [("amount", 14, 15), ("won_amount", 14, 15)],
           "referral_tallies": [("estimated_value", 18, 19)]}


def upgrade():
    _retype(upgrading=True)


def downgrade():
    _retype(upgrading=False)


def _retype(*, upgrading: bool) -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, before, after in columns:
                old, new = (sa.Numeric(before, 2), sa.Numeric(after, 3))[::1 if upgrading else -1]
                batch_op.alter_column(name, existing_type=old, type_=new, existing_nullable=True)
