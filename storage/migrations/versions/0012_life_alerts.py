"""alerts: each app's low-license and waitlist alert states, and the renewal milestones told

Revision ID: 0012_life_alerts
Revises: 0011_life_reclaims
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa


revision = '0012_life_alerts'
down_revision = '0011_life_reclaims'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('alert_states',
    sa.Column('app_id', BigId, nullable=False),
    sa.Column('low', sa.Boolean(), nullable=False),
    sa.Column('waiting', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('app_id')
    )
    op.create_table('renewal_alerts',
    sa.Column('id', BigId, nullable=False),
    sa.Column('app_id', BigId, nullable=False),
    sa.Column('renewal_date', sa.Date(), nullable=False),
    sa.Column('milestone', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('app_id', 'renewal_date', 'milestone', name='uq_renewal_alert')
    )


def downgrade() -> None:
    op.drop_table('renewal_alerts')
    op.drop_table('alert_states')
