"""stocking norms

Revision ID: 0003_norms
Revises: 0002_stock_ledger
Create Date: 2026-11-29 10:18:59.750582

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003_norms'
down_revision = '0002_stock_ledger'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('norms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('site_kind', sa.String(length=20), nullable=False),
    sa.Column('hazard', sa.String(length=20), nullable=True),
    sa.Column('min_quantity', sa.Integer(), nullable=False),
    sa.Column('per_person', sa.Numeric(precision=12, scale=4, asdecimal=False), nullable=False),
    sa.Column('count_agreement_sites', sa.Boolean(), nullable=False),
    sa.Column('readiness', sa.String(length=10), nullable=True),
    sa.Column('basis', sa.String(length=500), nullable=False),
    sa.CheckConstraint("hazard IS NULL OR hazard IN ('three_outages', 'earthquake', 'flood', 'debris_flow', 'fire', 'chemical')", name=op.f('ck_norms_hazard')),
    sa.CheckConstraint("readiness IS NULL OR readiness IN ('comms', 'power', 'water', 'food')", name=op.f('ck_norms_readiness')),
    sa.CheckConstraint("site_kind IN ('county_depot', 'town_store', 'village_point', 'agreement_site')", name=op.f('ck_norms_site_kind')),
    sa.CheckConstraint('min_quantity >= 0', name=op.f('ck_norms_min_quantity')),
    sa.CheckConstraint('per_person >= 0', name=op.f('ck_norms_per_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_norms'))
    )
    with op.batch_alter_table('norms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_norms_site_kind'), ['site_kind'], unique=False)

    op.create_table('norm_materials',
    sa.Column('norm_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_norm_materials_material_id_materials')),
    sa.ForeignKeyConstraint(['norm_id'], ['norms.id'], name=op.f('fk_norm_materials_norm_id_norms'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('norm_id', 'material_id', name=op.f('pk_norm_materials'))
    )
    with op.batch_alter_table('norm_materials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_norm_materials_material_id'), ['material_id'], unique=False)




def downgrade():

    with op.batch_alter_table('norm_materials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_norm_materials_material_id'))

    op.drop_table('norm_materials')
    with op.batch_alter_table('norms', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_norms_site_kind'))

    op.drop_table('norms')

