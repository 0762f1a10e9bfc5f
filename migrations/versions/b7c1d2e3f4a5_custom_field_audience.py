"""custom field audience

Revision ID: b7c1d2e3f4a5
Revises: c5e1a7d2f9b3
Create Date: 2026-12-01 22:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c1d2e3f4a5'
down_revision = 'c5e1a7d2f9b3'
branch_labels = None
depends_on = None


def upgrade():
    # Existing fields keep what they did: asked of partners.
    with op.batch_alter_table('custom_fields', schema=None) as batch_op:
        batch_op.add_column(sa.Column('audience', sa.String(length=10), server_default='partners', nullable=False))


def downgrade():
    with op.batch_alter_table('custom_fields', schema=None) as batch_op:
        batch_op.drop_column('audience')
