"""commission currencies and exchange rates

Revision ID: 4df5200f7659
Revises: 0d3ec190b25f
Create Date: 2026-12-01 22:17:20.887589

"""
from alembic import op
import sqlalchemy as sa

import portal.models.types


# revision identifiers, used by Alembic.
revision = '4df5200f7659'
down_revision = '0d3ec190b25f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('exchange_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('base_currency', sa.String(length=3), nullable=False),
    sa.Column('quote_currency', sa.String(length=3), nullable=False),
    sa.Column('rate', sa.Numeric(precision=18, scale=8), nullable=False),
    sa.Column('valid_on', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', portal.models.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_exchange_rates_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exchange_rates')),
    sa.UniqueConstraint('base_currency', 'quote_currency', 'valid_on', name='uq_exchange_rates_pair_day')
    )
    with op.batch_alter_table('commission_plans', schema=None) as batch_op:
        batch_op.alter_column('flat_amount',
               existing_type=sa.NUMERIC(precision=14, scale=2),
               type_=sa.Numeric(precision=14, scale=3),
               existing_nullable=True)
        batch_op.alter_column('cap_amount',
               existing_type=sa.NUMERIC(precision=14, scale=2),
               type_=sa.Numeric(precision=14, scale=3),
               existing_nullable=True)

    with op.batch_alter_table('commissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_amount', sa.Numeric(precision=14, scale=3), nullable=True))
        batch_op.add_column(sa.Column('source_currency', sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column('fx_rate', sa.Numeric(precision=18, scale=8), nullable=True))
        batch_op.add_column(sa.Column('fx_rate_date', sa.Date(), nullable=True))
        batch_op.alter_column('amount',
               existing_type=sa.NUMERIC(precision=14, scale=2),
               type_=sa.Numeric(precision=14, scale=3),
               nullable=True)

    # What existing commissions were earned on: the referral's won amount, in its currency.
    op.execute("UPDATE commissions SET source_amount = (SELECT won_amount FROM referrals "
               "WHERE referrals.id = commissions.referral_id), source_currency = (SELECT currency "
               "FROM referrals WHERE referrals.id = commissions.referral_id)")


def downgrade():
    with op.batch_alter_table('commissions', schema=None) as batch_op:
        batch_op.alter_column('amount',
               existing_type=sa.Numeric(precision=14, scale=3),
               type_=sa.NUMERIC(precision=14, scale=2),
               nullable=False)
        batch_op.drop_column('fx_rate_date')
        batch_op.drop_column('fx_rate')
        batch_op.drop_column('source_currency')
        batch_op.drop_column('source_amount')

    with op.batch_alter_table('commission_plans', schema=None) as batch_op:
        batch_op.alter_column('cap_amount',
               existing_type=sa.Numeric(precision=14, scale=3),
               type_=sa.NUMERIC(precision=14, scale=2),
               existing_nullable=True)
        batch_op.alter_column('flat_amount',
               existing_type=sa.Numeric(precision=14, scale=3),
               type_=sa.NUMERIC(precision=14, scale=2),
               existing_nullable=True)

    op.drop_table('exchange_rates')
