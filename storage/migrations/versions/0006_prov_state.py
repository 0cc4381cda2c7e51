"""provisioning (SCIM) settings on apps, each user's provisioning state, usage-rights API tokens

Revision ID: 0004_prov_state
Revises: 0003_outbox
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_prov_state'
down_revision = '0004_size_apps'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provisioning_scim_url', sa.String(length=2000), nullable=True))
        batch_op.add_column(sa.Column('provisioning_token_env', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('provisioning_deprovision', sa.String(length=12), nullable=True))
    op.create_table('provisioning_states',
    sa.Column('id', BigId, nullable=False),
    sa.Column('app_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.String(length=64), nullable=False),
    sa.Column('want', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('vendor_id', sa.String(length=200), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('app_id', 'user_id', name='uq_provisioning_app_user')
    )
    with op.batch_alter_table('provisioning_states', schema=None) as batch_op:
        batch_op.create_index('ix_provisioning_app_state', ['app_id', 'state'], unique=False)
    op.create_table('app_tokens',
    sa.Column('id', BigId, nullable=False),
    sa.Column('app_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['app_id'], ['apps.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('app_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_app_tokens_app_id'), ['app_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('app_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_app_tokens_app_id'))
    op.drop_table('app_tokens')
    with op.batch_alter_table('provisioning_states', schema=None) as batch_op:
        batch_op.drop_index('ix_provisioning_app_state')
    op.drop_table('provisioning_states')
    with op.batch_alter_table('apps', schema=None) as batch_op:
        batch_op.drop_column('provisioning_deprovision')
        batch_op.drop_column('provisioning_token_env')
        batch_op.drop_column('provisioning_scim_url')
