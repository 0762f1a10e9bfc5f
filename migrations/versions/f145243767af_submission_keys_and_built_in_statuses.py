"""submission keys and built-in statuses

Revision ID: f145243767af
Revises: 2a8edb85792b
Create Date: 2026-12-01 22:35:03.533549

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = 'f145243767af'
down_revision = '2a8edb85792b'
branch_labels = None
depends_on = None


# The built-in statuses, one per workflow stage (portal/models/referrals.py Stage and STAGE_LABELS as
# they were when this ran): stored here so that no first request has to create them.
BUILTIN_STATUSES = [("submitted", "Submitted"), ("accepted", "Accepted"), ("sent_to_reseller", "Sent to reseller"),
                    ("rejected", "Rejected"), ("won_payment_pending", "Won, payment pending"),
                    ("won_payment_completed", "Won, payment completed"), ("lost", "Lost")]


def upgrade():
    op.create_table('submission_keys',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('location', sa.String(length=2000), nullable=True),
    sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_submission_keys_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_submission_keys'))
    )
    # An existing database may have some already (stored by a first write): add only the missing ones.
    for position, (key, label) in enumerate(BUILTIN_STATUSES):
        op.execute(sa.text("INSERT INTO referral_statuses (key, label, stage, position, builtin) "
                           "SELECT :key, :label, :key, :position, :builtin WHERE NOT EXISTS "
                           "(SELECT 1 FROM referral_statuses WHERE key = :key)")
                   .bindparams(key=key, label=label, position=position * 10, builtin=True))


def downgrade():
    op.drop_table('submission_keys')
