"""the version (Slack's date_update) of each user group's members the licenses follow

Revision ID: 0004_core_group_members
Revises: 0004_core_retention
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_core_group_members'
down_revision = '0004_core_retention'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('group_versions',
    sa.Column('group_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Float(), nullable=True),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('group_id')
    )


def downgrade() -> None:
    op.drop_table('group_versions')
