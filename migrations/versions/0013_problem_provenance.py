"""Where a harvested problem came from when no lab harvest says it (run-benchmark --harvest-into):
problem.origin_strategy_sha256 and origin_sample_index, for the dataset export

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.add_column(sa.Column('origin_strategy_sha256', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      nullable=True))
        batch_op.add_column(sa.Column('origin_sample_index', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.drop_column('origin_sample_index')
        batch_op.drop_column('origin_strategy_sha256')
