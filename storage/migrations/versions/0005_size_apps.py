"""apps at any size: folded name and vendor, a low-seat threshold, retired apps, grants in waitlist order

Revision ID: 0004_size_apps
Revises: 0003_outbox
Create Date: 2026-11-27
"""

import unicodedata

from alembic import op
import sqlalchemy as sa


revision = '0004_size_apps'
down_revision = '0004_ops_until'
branch_labels = None
depends_on = None


def _fold(text: str) -> str:
    # bot/names.py fold, frozen here as it was when this revision was written
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(unicodedata.normalize("NFKC", bare.casefold()).split())


def upgrade() -> None:
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_fold', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('vendor_fold', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('low_seat_threshold', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.alter_column('name_fold', server_default=None)
        batch_op.alter_column('vendor_fold', server_default=None)
        batch_op.create_index(batch_op.f('ix_apps_name_fold'), ['name_fold'], unique=False)
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.create_index('ix_grants_app_id', ['app_id', 'id'], unique=False)
    apps = sa.table('apps', sa.column('id', sa.Integer), sa.column('name', sa.String),
                    sa.column('vendor', sa.String), sa.column('name_fold', sa.String),
                    sa.column('vendor_fold', sa.String))
    connection = op.get_bind()
    for app_id, name, vendor in connection.execute(sa.select(apps.c.id, apps.c.name, apps.c.vendor)).all():
        connection.execute(apps.update().where(apps.c.id == app_id).values(name_fold=_fold(name)[:200],
                                                                            vendor_fold=_fold(vendor)[:200]))


def downgrade() -> None:
    with op.batch_alter_table('grants', schema=None) as batch_op:
        batch_op.drop_index('ix_grants_app_id')
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_apps_name_fold'))
        batch_op.drop_column('retired_at')
        batch_op.drop_column('low_seat_threshold')
        batch_op.drop_column('vendor_fold')
        batch_op.drop_column('name_fold')
