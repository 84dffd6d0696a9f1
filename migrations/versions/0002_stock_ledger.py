"""stock ledger

Revision ID: 0002_stock_ledger
Revises: 0001_foundation
Create Date: 2026-11-29 09:40:58.935354

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002_stock_ledger'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('document_counters',
    sa.Column('prefix', sa.String(length=4), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('prefix', 'year', name=op.f('pk_document_counters'))
    )
    op.create_table('idempotency_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_idempotency_records_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_idempotency_records')),
    sa.UniqueConstraint('user_id', 'key', name='uq_idempotency_records_user_key')
    )
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_records_created_at'), ['created_at'], unique=False)

    op.create_table('issues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('recipient_type', sa.String(length=12), nullable=False),
    sa.Column('recipient_name', sa.String(length=100), nullable=False),
    sa.Column('recipient_contact', sa.String(length=50), nullable=False),
    sa.Column('recipient_id_number', sa.String(length=30), nullable=False),
    sa.Column('purpose', sa.String(length=500), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("recipient_type IN ('household', 'person', 'unit', 'team')", name=op.f('ck_issues_recipient_type')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_issues_site_id_sites')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_issues_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issues')),
    sa.UniqueConstraint('number', name=op.f('uq_issues_number'))
    )
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issues_site_id'), ['site_id'], unique=False)

    op.create_table('transfers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('from_site_id', sa.Integer(), nullable=False),
    sa.Column('to_site_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('requested', 'in_transit', 'received', 'cancelled')", name=op.f('ck_transfers_status')),
    sa.CheckConstraint('from_site_id <> to_site_id', name=op.f('ck_transfers_different_sites')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_transfers_created_by_id_users')),
    sa.ForeignKeyConstraint(['from_site_id'], ['sites.id'], name=op.f('fk_transfers_from_site_id_sites')),
    sa.ForeignKeyConstraint(['to_site_id'], ['sites.id'], name=op.f('fk_transfers_to_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers')),
    sa.UniqueConstraint('number', name=op.f('uq_transfers_number'))
    )
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfers_from_site_id'), ['from_site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_to_site_id'), ['to_site_id'], unique=False)

    op.create_table('receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=True),
    sa.Column('donor', sa.String(length=100), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_receipts_material_id_materials')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_receipts_site_id_sites')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_receipts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts')),
    sa.UniqueConstraint('number', name=op.f('uq_receipts_number'))
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipts_site_id'), ['site_id'], unique=False)

    op.create_table('returns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_returns_issue_id_issues')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_returns_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_returns')),
    sa.UniqueConstraint('number', name=op.f('uq_returns_number'))
    )
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_returns_issue_id'), ['issue_id'], unique=False)

    op.create_table('stock_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=16), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('lot', sa.String(length=64), nullable=True),
    sa.Column('serial', sa.String(length=64), nullable=True),
    sa.Column('production_date', sa.Date(), nullable=True),
    sa.Column('expiry_date', sa.Date(), nullable=True),
    sa.Column('source', sa.String(length=20), nullable=True),
    sa.Column('donor', sa.String(length=100), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('merge_key', sa.String(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('moved_to_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('available', 'on_loan', 'in_transit', 'damaged', 'disposed')", name=op.f('ck_stock_items_status')),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_stock_items_quantity_not_negative')),
    sa.CheckConstraint('serial IS NULL OR quantity <= 1', name=op.f('ck_stock_items_serial_at_most_one')),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_stock_items_material_id_materials')),
    sa.ForeignKeyConstraint(['moved_to_id'], ['stock_items.id'], name=op.f('fk_stock_items_moved_to_id_stock_items')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_stock_items_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_items')),
    sa.UniqueConstraint('label', name=op.f('uq_stock_items_label'))
    )
    with op.batch_alter_table('stock_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_items_expiry_date'), ['expiry_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_items_material_id'), ['material_id'], unique=False)
        batch_op.create_index('ix_stock_items_site_material', ['site_id', 'material_id', 'status'], unique=False)
        batch_op.create_index('uq_stock_items_lot', ['site_id', 'material_id', 'merge_key', 'status'], unique=True, sqlite_where=sa.text("serial IS NULL AND status IN ('available', 'damaged')"), postgresql_where=sa.text("serial IS NULL AND status IN ('available', 'damaged')"))
        batch_op.create_index('uq_stock_items_serial', ['material_id', 'serial'], unique=True, sqlite_where=sa.text('serial IS NOT NULL AND quantity > 0'), postgresql_where=sa.text('serial IS NOT NULL AND quantity > 0'))

    op.create_table('issue_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('is_loan', sa.Boolean(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('returned', sa.Integer(), nullable=False),
    sa.Column('damaged', sa.Integer(), nullable=False),
    sa.Column('lost', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_issue_lines_quantity_positive')),
    sa.CheckConstraint('returned + damaged + lost <= quantity', name=op.f('ck_issue_lines_returns_within_quantity')),
    sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], name=op.f('fk_issue_lines_issue_id_issues')),
    sa.ForeignKeyConstraint(['item_id'], ['stock_items.id'], name=op.f('fk_issue_lines_item_id_stock_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issue_lines'))
    )
    with op.batch_alter_table('issue_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issue_lines_due_date'), ['due_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_issue_lines_issue_id'), ['issue_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issue_lines_item_id'), ['item_id'], unique=False)

    op.create_table('movements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=14), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('balance_after', sa.Integer(), nullable=False),
    sa.Column('status_after', sa.String(length=12), nullable=False),
    sa.Column('document', sa.String(length=20), nullable=True),
    sa.Column('reason', sa.String(length=20), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('receipt', 'issue', 'return', 'transfer_out', 'transfer_in', 'adjustment', 'writeoff', 'stocktake')", name=op.f('ck_movements_kind')),
    sa.CheckConstraint('balance_after >= 0', name=op.f('ck_movements_balance_not_negative')),
    sa.ForeignKeyConstraint(['item_id'], ['stock_items.id'], name=op.f('fk_movements_item_id_stock_items')),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_movements_material_id_materials')),
    sa.ForeignKeyConstraint(['reverses_id'], ['movements.id'], name=op.f('fk_movements_reverses_id_movements')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_movements_site_id_sites')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_movements_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_movements')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_movements_reverses_id'))
    )
    with op.batch_alter_table('movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_movements_at'), ['at'], unique=False)
        batch_op.create_index('ix_movements_document', ['document'], unique=False)
        batch_op.create_index('ix_movements_item_id', ['item_id', 'id'], unique=False)
        batch_op.create_index('ix_movements_material_at', ['material_id', 'at'], unique=False)
        batch_op.create_index('ix_movements_site_at', ['site_id', 'at'], unique=False)

    op.create_table('transfer_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('transfer_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('from_item_id', sa.Integer(), nullable=True),
    sa.Column('to_item_id', sa.Integer(), nullable=True),
    sa.Column('received', sa.Integer(), nullable=True),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_transfer_lines_quantity_positive')),
    sa.CheckConstraint('received IS NULL OR (received >= 0 AND received <= quantity)', name=op.f('ck_transfer_lines_received_within_quantity')),
    sa.ForeignKeyConstraint(['from_item_id'], ['stock_items.id'], name=op.f('fk_transfer_lines_from_item_id_stock_items')),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_transfer_lines_material_id_materials')),
    sa.ForeignKeyConstraint(['to_item_id'], ['stock_items.id'], name=op.f('fk_transfer_lines_to_item_id_stock_items')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_transfer_lines_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_lines'))
    )
    with op.batch_alter_table('transfer_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_lines_from_item_id'), ['from_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfer_lines_transfer_id'), ['transfer_id'], unique=False)

    op.create_table('return_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('return_id', sa.Integer(), nullable=False),
    sa.Column('issue_line_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('condition', sa.String(length=10), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("condition IN ('good', 'damaged', 'lost')", name=op.f('ck_return_lines_condition')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_return_lines_quantity_positive')),
    sa.ForeignKeyConstraint(['issue_line_id'], ['issue_lines.id'], name=op.f('fk_return_lines_issue_line_id_issue_lines')),
    sa.ForeignKeyConstraint(['item_id'], ['stock_items.id'], name=op.f('fk_return_lines_item_id_stock_items')),
    sa.ForeignKeyConstraint(['return_id'], ['returns.id'], name=op.f('fk_return_lines_return_id_returns')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_lines'))
    )
    with op.batch_alter_table('return_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_lines_issue_line_id'), ['issue_line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_return_lines_return_id'), ['return_id'], unique=False)

    create_append_only_guard()


# The ledger is append-only: the database itself refuses to change or remove a movement, whatever
# code (or person with a SQL prompt) tries; a mistake is corrected by a reversing movement.
SQLITE_GUARD = [
    """CREATE TRIGGER movements_no_update BEFORE UPDATE ON movements
       BEGIN SELECT RAISE(ABORT, 'movements are append-only'); END""",
    """CREATE TRIGGER movements_no_delete BEFORE DELETE ON movements
       BEGIN SELECT RAISE(ABORT, 'movements are append-only'); END""",
]
POSTGRESQL_GUARD = [
    """CREATE FUNCTION movements_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'movements are append-only' USING ERRCODE = 'restrict_violation'; END
       $$""",
    """CREATE TRIGGER movements_append_only BEFORE UPDATE OR DELETE ON movements
       FOR EACH ROW EXECUTE FUNCTION movements_append_only()""",
    """CREATE TRIGGER movements_no_truncate BEFORE TRUNCATE ON movements
       FOR EACH STATEMENT EXECUTE FUNCTION movements_append_only()""",
]


def create_append_only_guard():
    statements = SQLITE_GUARD if op.get_bind().dialect.name == "sqlite" else POSTGRESQL_GUARD
    for statement in statements:
        op.execute(statement)


def drop_append_only_guard():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS movements_no_update")
        op.execute("DROP TRIGGER IF EXISTS movements_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS movements_no_truncate ON movements")
        op.execute("DROP TRIGGER IF EXISTS movements_append_only ON movements")
        op.execute("DROP FUNCTION IF EXISTS movements_append_only()")


def downgrade():
    drop_append_only_guard()

    with op.batch_alter_table('return_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_lines_return_id'))
        batch_op.drop_index(batch_op.f('ix_return_lines_issue_line_id'))

    op.drop_table('return_lines')
    with op.batch_alter_table('transfer_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_lines_transfer_id'))
        batch_op.drop_index(batch_op.f('ix_transfer_lines_from_item_id'))

    op.drop_table('transfer_lines')
    with op.batch_alter_table('movements', schema=None) as batch_op:
        batch_op.drop_index('ix_movements_site_at')
        batch_op.drop_index('ix_movements_material_at')
        batch_op.drop_index('ix_movements_item_id')
        batch_op.drop_index('ix_movements_document')
        batch_op.drop_index(batch_op.f('ix_movements_at'))

    op.drop_table('movements')
    with op.batch_alter_table('issue_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issue_lines_item_id'))
        batch_op.drop_index(batch_op.f('ix_issue_lines_issue_id'))
        batch_op.drop_index(batch_op.f('ix_issue_lines_due_date'))

    op.drop_table('issue_lines')
    with op.batch_alter_table('stock_items', schema=None) as batch_op:
        batch_op.drop_index('uq_stock_items_serial', sqlite_where=sa.text('serial IS NOT NULL AND quantity > 0'), postgresql_where=sa.text('serial IS NOT NULL AND quantity > 0'))
        batch_op.drop_index('uq_stock_items_lot', sqlite_where=sa.text("serial IS NULL AND status IN ('available', 'damaged')"), postgresql_where=sa.text("serial IS NULL AND status IN ('available', 'damaged')"))
        batch_op.drop_index('ix_stock_items_site_material')
        batch_op.drop_index(batch_op.f('ix_stock_items_material_id'))
        batch_op.drop_index(batch_op.f('ix_stock_items_expiry_date'))

    op.drop_table('stock_items')
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_returns_issue_id'))

    op.drop_table('returns')
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipts_site_id'))

    op.drop_table('receipts')
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfers_to_site_id'))
        batch_op.drop_index(batch_op.f('ix_transfers_status'))
        batch_op.drop_index(batch_op.f('ix_transfers_from_site_id'))

    op.drop_table('transfers')
    with op.batch_alter_table('issues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issues_site_id'))

    op.drop_table('issues')
    with op.batch_alter_table('idempotency_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_records_created_at'))

    op.drop_table('idempotency_records')
    op.drop_table('document_counters')

