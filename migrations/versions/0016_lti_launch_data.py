"""LTI 1.3: the server-side store of launch states, nonces and deep-linking requests (without Redis)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lti_launch_data',
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('lti_launch_data', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_launch_data_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('lti_launch_data', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_launch_data_expires_at'))
    op.drop_table('lti_launch_data')
