"""partner applications

Revision ID: b7c41e2d9a10
Revises: d7b2c4e8a1f6
Create Date: 2026-12-02 00:15:00

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = 'b7c41e2d9a10'
down_revision = 'd7b2c4e8a1f6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('partner_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_name', sa.String(length=200), nullable=False),
    sa.Column('domain', sa.String(length=255), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('contact_name', sa.String(length=200), nullable=False),
    sa.Column('contact_email', sa.String(length=254), nullable=False),
    sa.Column('offering', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', portal.models.types.UTCDateTime(), nullable=True),
    sa.Column('organization_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('partner_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_applications_contact_email'), ['contact_email'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_applications_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_applications_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('partner_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_applications_status'))
        batch_op.drop_index(batch_op.f('ix_partner_applications_created_at'))
        batch_op.drop_index(batch_op.f('ix_partner_applications_contact_email'))
    op.drop_table('partner_applications')
