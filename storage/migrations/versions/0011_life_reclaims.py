"""issue 13: usage imported from vendors (app_usage) and "Keep or release?" reclaims (reclaims, reclaim_asks)

Revision ID: 0011_life_reclaims
Revises: 0010_life_time_limits
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op


revision = '0011_life_reclaims'
down_revision = '0010_life_time_limits'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'app_usage',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('app_id', BigId, sa.ForeignKey('apps.id', ondelete='CASCADE'), nullable=False),
        sa.Column('user_id', sa.String(64), nullable=False),
        sa.Column('last_active', sa.Date(), nullable=False),
        sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('app_id', 'user_id', name='uq_app_usage_app_user'),
    )
    op.create_table(
        'reclaims',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('app_id', BigId, sa.ForeignKey('apps.id', ondelete='CASCADE'), nullable=False),
        sa.Column('started_by', sa.String(64), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('remind_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('idle_days', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('group_holders', sa.JSON(), nullable=False),
    )
    op.create_index('uq_reclaims_open_app', 'reclaims', ['app_id'], unique=True,
                    sqlite_where=sa.text("status = 'open'"), postgresql_where=sa.text("status = 'open'"))
    op.create_index('ix_reclaims_status_ends', 'reclaims', ['status', 'ends_at'])
    op.create_table(
        'reclaim_asks',
        sa.Column('id', BigId, primary_key=True),
        sa.Column('reclaim_id', BigId, sa.ForeignKey('reclaims.id', ondelete='CASCADE'), nullable=False),
        sa.Column('user_id', sa.String(64), nullable=False),
        sa.Column('state', sa.String(12), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint('reclaim_id', 'user_id', name='uq_reclaim_ask_user'),
    )
    op.create_index('ix_reclaim_asks_reclaim_id', 'reclaim_asks', ['reclaim_id'])


def downgrade() -> None:
    op.drop_table('reclaim_asks')
    op.drop_table('reclaims')
    op.drop_table('app_usage')
