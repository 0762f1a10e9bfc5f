"""referrals: a prospect's submission is announced by the worker; the flag says it still waits

Revision ID: 9f3b6d1e4c52
Revises: 8e4a2c6b1d37
Create Date: 2026-12-04 19:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9f3b6d1e4c52'
down_revision = '8e4a2c6b1d37'
branch_labels = None
depends_on = None

# As SQLAlchemy writes `where(Referral.announcement_pending)` on each, so the sweep's query uses the index.
WHERE = {"postgresql_where": sa.text("announcement_pending"), "sqlite_where": sa.text("announcement_pending = 1")}


def upgrade():
    # A constant default: PostgreSQL adds the column without rewriting the table.
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('announcement_pending', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.create_index('ix_referrals_announcement_pending', ['created_at'], unique=False, **WHERE)


def downgrade():
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_referrals_announcement_pending', **WHERE)
        batch_op.drop_column('announcement_pending')
