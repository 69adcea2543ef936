"""answer_key.reason_model: the model that proposed a key's reason (a bank's key imported without one)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('answer_key', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason_model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('answer_key', schema=None) as batch_op:
        batch_op.drop_column('reason_model')
