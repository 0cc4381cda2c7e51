"""Time-limited licenses: reminders before an assignment's end, and a request's "For how long"

assignments.until_set_at: when `until` was last set (re-arms the reminders; a reminder is owed only if the
license already ended on that day when the reminder's day came); assignments.reminded_days: the last
reminder sent, in days before the end (7, then 1; NULL: none yet); license_requests.duration_days: how long
an approved request's license lasts (NULL: permanently).

Revision ID: 0010_life_time_limits
Revises: 0004_core_audit_chain
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa


revision = '0010_life_time_limits'
down_revision = '0004_core_audit_chain'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assignments') as batch:
        batch.add_column(sa.Column('until_set_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('reminded_days', sa.Integer(), nullable=True))
        # the expiry step's scan: assignments with an end date
        batch.create_index('ix_assignments_until', ['until'])
    with op.batch_alter_table('license_requests') as batch:
        batch.add_column(sa.Column('duration_days', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('license_requests') as batch:
        batch.drop_column('duration_days')
    with op.batch_alter_table('assignments') as batch:
        batch.drop_index('ix_assignments_until')
        batch.drop_column('reminded_days')
        batch.drop_column('until_set_at')
