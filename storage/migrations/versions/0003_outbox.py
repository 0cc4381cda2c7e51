"""the outbox: messages written with the change they follow, delivered by serve

Revision ID: 0003_outbox
Revises: 0002
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa


revision = '0003_outbox'
down_revision = '0002'
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lane', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('recipient', sa.String(length=64), nullable=False),
    sa.Column('facts', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('available_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_pending', ['id'], unique=False, sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.create_index('ix_outbox_lane_pending', ['lane', 'id'], unique=False, sqlite_where=PENDING,
                              postgresql_where=PENDING)
        batch_op.create_index('ix_outbox_done', ['done_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_done')
        batch_op.drop_index('ix_outbox_lane_pending', sqlite_where=PENDING, postgresql_where=PENDING)
        batch_op.drop_index('ix_outbox_pending', sqlite_where=PENDING, postgresql_where=PENDING)

    op.drop_table('outbox')
