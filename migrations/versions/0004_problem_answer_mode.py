"""problem.answer_mode, answer_tolerance, answer_tests, answer_tests_failed: how final answers are checked

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_mode', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False,
                                      server_default='auto'))
        batch_op.add_column(sa.Column('answer_tolerance', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.add_column(sa.Column('answer_tests', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('answer_tests_failed', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.drop_column('answer_tests_failed')
        batch_op.drop_column('answer_tests')
        batch_op.drop_column('answer_tolerance')
        batch_op.drop_column('answer_mode')
