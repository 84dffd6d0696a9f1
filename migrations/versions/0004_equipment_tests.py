"""equipment tests

Revision ID: 0004_equipment_tests
Revises: 0003_norms
Create Date: 2026-11-29 10:22:21.407785

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004_equipment_tests'
down_revision = '0003_norms'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('equipment_tests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('tested_on', sa.Date(), nullable=False),
    sa.Column('result', sa.String(length=8), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("result IN ('ok', 'fault')", name=op.f('ck_equipment_tests_result')),
    sa.ForeignKeyConstraint(['item_id'], ['stock_items.id'], name=op.f('fk_equipment_tests_item_id_stock_items')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_equipment_tests_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equipment_tests'))
    )
    with op.batch_alter_table('equipment_tests', schema=None) as batch_op:
        batch_op.create_index('ix_equipment_tests_item_tested_on', ['item_id', 'tested_on'], unique=False)




def downgrade():

    with op.batch_alter_table('equipment_tests', schema=None) as batch_op:
        batch_op.drop_index('ix_equipment_tests_item_tested_on')

    op.drop_table('equipment_tests')

