"""movement attribution: how the user came in, and the request's idempotency key

Revision ID: 0005_movement_attribution
Revises: 0004_equipment_tests
Create Date: 2026-12-02 07:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005_movement_attribution'
down_revision = '0004_equipment_tests'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN on both engines: a batch rebuild would copy the append-only ledger and
    # drop its triggers on SQLite.
    op.add_column('movements', sa.Column('credential', sa.String(length=40), nullable=True))
    op.add_column('movements', sa.Column('idempotency_key', sa.String(length=100), nullable=True))


def downgrade():
    # DROP COLUMN in place (SQLite 3.35+), for the same reason.
    op.execute("ALTER TABLE movements DROP COLUMN idempotency_key")
    op.execute("ALTER TABLE movements DROP COLUMN credential")
