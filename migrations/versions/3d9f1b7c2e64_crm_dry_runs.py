"""Sync dry runs: what a connection's sync would do, per record, computed with read calls only.

Revision ID: 3d9f1b7c2e64
Revises: e3a9c4b7d2f1
Create Date: 2026-12-02 06:20:00
"""
from alembic import op
import sqlalchemy as sa

import portal.models.types

# revision identifiers, used by Alembic.
revision = '3d9f1b7c2e64'
down_revision = 'e3a9c4b7d2f1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'crm_dry_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('done', sa.Integer(), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.Column('calls', sa.Integer(), nullable=False),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
        sa.Column('started_at', portal.models.types.UTCDateTime(), nullable=True),
        sa.Column('finished_at', portal.models.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['connection_id'], ['crm_connections.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('crm_dry_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_crm_dry_runs_connection_id'), ['connection_id'], unique=False)
    op.create_table(
        'crm_dry_run_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dry_run_id', sa.Integer(), nullable=False),
        sa.Column('entity_type', sa.String(length=20), nullable=False),
        sa.Column('entity_id', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=120), nullable=False),
        sa.Column('action', sa.String(length=10), nullable=False),
        sa.Column('crm_object', sa.String(length=40), nullable=False),
        sa.Column('crm_id', sa.String(length=40), nullable=True),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('related', sa.JSON(), nullable=False),
        sa.Column('message', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['dry_run_id'], ['crm_dry_runs.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('crm_dry_run_items', schema=None) as batch_op:
        batch_op.create_index('ix_crm_dry_run_items_run_action', ['dry_run_id', 'action'], unique=False)


def downgrade():
    with op.batch_alter_table('crm_dry_run_items', schema=None) as batch_op:
        batch_op.drop_index('ix_crm_dry_run_items_run_action')
    op.drop_table('crm_dry_run_items')
    with op.batch_alter_table('crm_dry_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_crm_dry_runs_connection_id'))
    op.drop_table('crm_dry_runs')
