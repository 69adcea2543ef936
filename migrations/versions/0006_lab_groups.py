"""lab groups: groups of a course's students who share lab work

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lab_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('max_size', sa.Integer(), nullable=True),
    sa.Column('open_to_join', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('course_id', 'name', name='uq_lab_group_course_name')
    )
    with op.batch_alter_table('lab_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_group_course_id'), ['course_id'], unique=False)

    op.create_table('lab_group_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['lab_group.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('course_id', 'user_id', name='uq_lab_group_member_course_user')
    )
    with op.batch_alter_table('lab_group_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_group_member_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_group_member_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('lab_group_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_group_member_user_id'))
        batch_op.drop_index(batch_op.f('ix_lab_group_member_group_id'))

    op.drop_table('lab_group_member')
    with op.batch_alter_table('lab_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_group_course_id'))

    op.drop_table('lab_group')
