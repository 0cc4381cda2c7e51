"""the audit log tamper-evident: entries hash-chained (the existing ones hashed here), TRUNCATE refused
(PostgreSQL), an INSERT over an existing entry refused (SQLite's REPLACE), and the chain's head

Revision ID: 0004_core_audit_chain
Revises: 0004_core_group_members
Create Date: 2026-11-27
"""

from alembic import op
import sqlalchemy as sa

from storage.audit_chain import GENESIS, entry_hash, row_contents
from storage.models import UTCDateTime


revision = '0004_core_audit_chain'
down_revision = '0004_core_group_members'
branch_labels = None
depends_on = None

BATCH = 2000
REFUSE = "SELECT RAISE(ABORT, 'audit_log is append-only')"
SQLITE_UP = [
    # REPLACE INTO deletes the old row without firing DELETE triggers, but it is an INSERT: refused here
    "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
    f"WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id) BEGIN {REFUSE}; END",
    f"CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain BEGIN {REFUSE}; END",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS audit_chain_no_delete", "DROP TRIGGER IF EXISTS audit_log_no_replace"]
POSTGRES_UP = [
    # row-level triggers never fire on TRUNCATE: a statement-level one does
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
    "CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS audit_chain_no_truncate ON audit_chain",
    "DROP TRIGGER IF EXISTS audit_chain_no_delete ON audit_chain",
    "DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
]
# as 0001 made it
SQLITE_NO_UPDATE = f"CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log BEGIN {REFUSE}; END"

audit_log = sa.table(
    'audit_log',
    sa.column('id', sa.BigInteger()), sa.column('at', UTCDateTime()), sa.column('actor', sa.String()),
    sa.column('via', sa.String()), sa.column('action', sa.String()), sa.column('app', sa.String()),
    sa.column('targets', sa.JSON()), sa.column('detail', sa.JSON()), sa.column('seats_total', sa.Integer()),
    sa.column('seats_assigned', sa.Integer()), sa.column('seats_available', sa.Integer()),
    sa.column('prev_hash', sa.String()), sa.column('hash', sa.String()),
)
audit_chain = sa.table('audit_chain', sa.column('id', sa.Integer()), sa.column('last_id', sa.BigInteger()),
                       sa.column('last_hash', sa.String()))


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.add_column('audit_log', sa.Column('prev_hash', sa.String(length=64), nullable=True))
    op.add_column('audit_log', sa.Column('hash', sa.String(length=64), nullable=True))
    op.create_table('audit_chain',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=True),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    last_id, last_hash = _chain_existing_entries(sqlite)
    op.execute(audit_chain.insert().values(id=1, last_id=last_id, last_hash=last_hash))
    for statement in SQLITE_UP if sqlite else POSTGRES_UP:
        op.execute(statement)


def _chain_existing_entries(sqlite: bool) -> tuple[int | None, str]:
    """Hashes the entries written before the chain, oldest first (the append-only trigger is lifted for
    the length of this migration's transaction only)."""
    connection = op.get_bind()
    op.execute("DROP TRIGGER audit_log_no_update" if sqlite
               else "ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
    last_id, previous = None, GENESIS
    update = (audit_log.update().where(audit_log.c.id == sa.bindparam('entry_id'))
              .values(prev_hash=sa.bindparam('chained_to'), hash=sa.bindparam('digest')))
    while True:  # a batch at a time, each batch's updates in one executemany
        rows = connection.execute(sa.select(audit_log).where(audit_log.c.id > (last_id or 0))
                                  .order_by(audit_log.c.id).limit(BATCH)).all()
        if not rows:
            break
        changes = []
        for row in rows:
            digest = entry_hash(previous, row_contents(row))
            changes.append({'entry_id': row.id, 'chained_to': previous, 'digest': digest})
            last_id, previous = row.id, digest
        connection.execute(update, changes)
    op.execute(SQLITE_NO_UPDATE if sqlite else "ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only")
    return last_id, previous


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for statement in SQLITE_DOWN if sqlite else POSTGRES_DOWN:
        op.execute(statement)
    op.drop_table('audit_chain')
    if sqlite:  # a plain DROP COLUMN (SQLite 3.35+): a batch rebuild would lose the table's triggers
        op.execute("ALTER TABLE audit_log DROP COLUMN hash")
        op.execute("ALTER TABLE audit_log DROP COLUMN prev_hash")
    else:
        op.drop_column('audit_log', 'hash')
        op.drop_column('audit_log', 'prev_hash')
