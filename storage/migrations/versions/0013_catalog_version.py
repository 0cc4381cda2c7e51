"""catalog_version: one number bumped by every change to apps, seats or grants, for processes that keep
what they read of the catalog

Revision ID: 0013_catalog_version
Revises: 0012_life_alerts
Create Date: 2026-11-28
"""

from alembic import op
import sqlalchemy as sa


revision = '0013_catalog_version'
down_revision = '0012_life_alerts'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table('catalog_version',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.bulk_insert(table, [{'id': 1, 'n': 0}])


def downgrade() -> None:
    op.drop_table('catalog_version')
