"""issue reversal: when a mistaken issue was reversed (冲销), by whom, and why

Revision ID: 0006_issue_reversal
Revises: 0005_movement_attribution
Create Date: 2026-12-05 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006_issue_reversal'
down_revision = '0005_movement_attribution'
branch_labels = None
depends_on = None

FOREIGN_KEY = 'fk_issues_reversed_by_id_users'


def upgrade():
    # Plain ADD COLUMN on both engines, as in 0005: a batch rebuild of issues on SQLite would drop
    # and re-create a table that issue lines and returns refer to. SQLite cannot add a constraint
    # to a table, so there the foreign key comes with its column (named as the convention names it).
    op.add_column('issues', sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('issues', sa.Column('reversal_note', sa.String(length=500), nullable=False,
                                      server_default=''))
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(f"ALTER TABLE issues ADD COLUMN reversed_by_id INTEGER "
                   f"CONSTRAINT {FOREIGN_KEY} REFERENCES users (id)")
    else:
        op.add_column('issues', sa.Column('reversed_by_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(FOREIGN_KEY), 'issues', 'users', ['reversed_by_id'], ['id'])


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite drops no column that holds a foreign key, and rebuilding issues drops a table
        # that issue lines and returns refer to: that needs foreign keys off, which SQLite allows
        # only between transactions.
        bind = op.get_bind()
        bind.exec_driver_sql("COMMIT")
        bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
        bind.exec_driver_sql("BEGIN")
        with op.batch_alter_table('issues', recreate='always') as batch_op:
            batch_op.drop_column('reversed_by_id')
            batch_op.drop_column('reversal_note')
            batch_op.drop_column('reversed_at')
        bind.exec_driver_sql("COMMIT")
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
        bind.exec_driver_sql("BEGIN")
    else:
        op.drop_constraint(op.f(FOREIGN_KEY), 'issues', type_='foreignkey')
        op.drop_column('issues', 'reversed_by_id')
        op.drop_column('issues', 'reversal_note')
        op.drop_column('issues', 'reversed_at')
