"""CRM connections: `settings` becomes `options` (the portal's Settings are another thing); the
CRM's property lists are cached on the connection.

Revision ID: c5e1a7d2f9b3
Revises: 11dee8dc9672
Create Date: 2026-12-01 22:45:00
"""
from alembic import op
import sqlalchemy as sa

import portal.models.types

# revision identifiers, used by Alembic.
revision = 'c5e1a7d2f9b3'
down_revision = '11dee8dc9672'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('crm_connections', schema=None) as batch_op:
        batch_op.alter_column('settings', new_column_name='options', existing_type=sa.JSON(), existing_nullable=False)
        batch_op.add_column(sa.Column('crm_properties', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('crm_properties_at', portal.models.types.UTCDateTime(), nullable=True))
    with op.batch_alter_table('crm_connections', schema=None) as batch_op:
        batch_op.alter_column('crm_properties', server_default=None, existing_type=sa.JSON(), existing_nullable=False)


def downgrade():
    with op.batch_alter_table('crm_connections', schema=None) as batch_op:
        batch_op.drop_column('crm_properties_at')
        batch_op.drop_column('crm_properties')
        batch_op.alter_column('options', new_column_name='settings', existing_type=sa.JSON(), existing_nullable=False)
