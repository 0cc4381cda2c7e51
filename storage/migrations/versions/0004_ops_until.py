"""assignments.until: the end date an import (or an admin) gives a direct assignment

Revision ID: 0004_ops_until
Revises: 0003_outbox
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_ops_until'
down_revision = '0003_outbox'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('assignments') as batch:
        batch.add_column(sa.Column('until', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('assignments') as batch:
        batch.drop_column('until')
