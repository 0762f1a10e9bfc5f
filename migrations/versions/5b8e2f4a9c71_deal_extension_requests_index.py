"""deal registrations: a partial index for the extension requests the queue's first page lists

Revision ID: 5b8e2f4a9c71
Revises: 3d9f1b7c2e64
Create Date: 2026-12-03 19:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b8e2f4a9c71'
down_revision = '3d9f1b7c2e64'
branch_labels = None
depends_on = None

WHERE = "status = 'approved' AND extension_requested_at IS NOT NULL"


def upgrade():
    with op.batch_alter_table('deal_registrations', schema=None) as batch_op:
        batch_op.create_index('ix_deal_registrations_extension_requests', ['extension_requested_at'], unique=False,
                              postgresql_where=sa.text(WHERE), sqlite_where=sa.text(WHERE))


def downgrade():
    with op.batch_alter_table('deal_registrations', schema=None) as batch_op:
        batch_op.drop_index('ix_deal_registrations_extension_requests', postgresql_where=sa.text(WHERE),
                            sqlite_where=sa.text(WHERE))
