"""the course's listing stamp: course.listing_version, bumped by triggers on assignments, their
problems and solutions (classroom/listing_stamp.py)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

from classroom import listing_stamp


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.add_column(sa.Column('listing_version', sa.Integer(), server_default='0', nullable=False))
    listing_stamp.install(op.get_bind())


def downgrade() -> None:
    bind = op.get_bind()
    for statement in listing_stamp.drop_statements(bind.dialect.name):
        bind.exec_driver_sql(statement)
    with op.batch_alter_table('course', schema=None) as batch_op:
        batch_op.drop_column('listing_version')
