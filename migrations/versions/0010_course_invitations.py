"""course invitations: every roster row gets a link to join, roster names on enrolments

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('roster_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True))

    op.create_table('course_invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('group_name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=True),
    sa.Column('mail_state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('mail_error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('mailed_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], ),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('course_invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_invitation_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_course_invitation_token_hash'), ['token_hash'], unique=True)
        batch_op.create_index(batch_op.f('ix_course_invitation_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('course_invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_invitation_user_id'))
        batch_op.drop_index(batch_op.f('ix_course_invitation_token_hash'))
        batch_op.drop_index(batch_op.f('ix_course_invitation_course_id'))
    op.drop_table('course_invitation')
    with op.batch_alter_table('enrollment', schema=None) as batch_op:
        batch_op.drop_column('roster_name')
