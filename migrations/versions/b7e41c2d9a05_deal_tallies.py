"""deal tallies: deal registrations per partner and status, for the internal dashboard

Revision ID: b7e41c2d9a05
Revises: 33d3bb69997b
Create Date: 2026-12-02 06:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e41c2d9a05'
down_revision = '33d3bb69997b'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('deal_tallies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_org_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('deals', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['partner_org_id'], ['organizations.id'], name=op.f('fk_deal_tallies_partner_org_id_organizations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_tallies')),
    sa.UniqueConstraint('partner_org_id', 'status', name='uq_deal_tallies_key')
    )
    # Count what is there already; from now on services/tallies.py keeps the counts with every change.
    op.execute("INSERT INTO deal_tallies (partner_org_id, status, deals) "
               "SELECT partner_org_id, status, count(*) FROM deal_registrations GROUP BY partner_org_id, status")


def downgrade():
    op.drop_table('deal_tallies')
