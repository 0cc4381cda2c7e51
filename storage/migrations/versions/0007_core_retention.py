"""processed event ids and idempotency keys are pruned past their retention: indexes on their time

Revision ID: 0004_core_retention
Revises: 0003_outbox
Create Date: 2026-11-27
"""

from alembic import op


revision = '0004_core_retention'
down_revision = '0004_prov_state'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('processed_events', schema=None) as batch_op:
        batch_op.create_index('ix_processed_events_received_at', ['received_at'], unique=False)
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index('ix_idempotency_keys_created_at', ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index('ix_idempotency_keys_created_at')
    with op.batch_alter_table('processed_events', schema=None) as batch_op:
        batch_op.drop_index('ix_processed_events_received_at')
