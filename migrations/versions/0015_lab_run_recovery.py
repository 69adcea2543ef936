"""lab runs keep a sign of life (heartbeat_at) and count how often they were sent to the queue again

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lab_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('heartbeat_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('recoveries', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('lab_run', schema=None) as batch_op:
        batch_op.drop_column('recoveries')
        batch_op.drop_column('heartbeat_at')
