"""LTI: platforms and deployments an administrator switched off; the LMS's name and e-mail claims kept on
each LTI account (shown when linking it to a local account)

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('lti_platform', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table('lti_deployment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    with op.batch_alter_table('lti_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_claim', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('email_claim', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lti_account', schema=None) as batch_op:
        batch_op.drop_column('email_claim')
        batch_op.drop_column('name_claim')
    with op.batch_alter_table('lti_deployment', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')
    with op.batch_alter_table('lti_platform', schema=None) as batch_op:
        batch_op.drop_column('disabled_at')
