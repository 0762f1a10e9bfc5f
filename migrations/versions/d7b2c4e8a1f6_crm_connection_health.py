"""CRM connections remember the health of their pushes: failing since, last error, next retry,
and whether the admins were told.

Revision ID: d7b2c4e8a1f6
Revises: c5e1a7d2f9b3
Create Date: 2026-12-01 23:00:00
"""
from alembic import op
import sqlalchemy as sa

import portal.models.types

# revision identifiers, used by Alembic.
revision = 'd7b2c4e8a1f6'
down_revision = '2e452a7594f4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('crm_connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failing_since', portal.models.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('last_error_at', portal.models.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('next_retry_at', portal.models.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('failure_notified_at', portal.models.types.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('crm_connections', schema=None) as batch_op:
        for name in ('failure_notified_at', 'next_retry_at', 'last_error_at', 'last_error', 'failing_since'):
            batch_op.drop_column(name)
