"""lab rubrics: criteria, groups' points per criterion, students' adjustments, and when grades were released

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lab_criterion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lab_criterion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_criterion_lab_id'), ['lab_id'], unique=False)

    op.create_table('lab_criterion_score',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('graded_by_id', sa.Integer(), nullable=True),
    sa.Column('graded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['criterion_id'], ['lab_criterion.id'], ),
    sa.ForeignKeyConstraint(['graded_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['lab_group.id'], ),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('criterion_id', 'group_id', name='uq_lab_criterion_score')
    )
    with op.batch_alter_table('lab_criterion_score', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_criterion_score_lab_id'), ['lab_id'], unique=False)

    op.create_table('lab_adjustment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('points', sa.Float(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('graded_by_id', sa.Integer(), nullable=True),
    sa.Column('graded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['graded_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('lab_id', 'user_id', name='uq_lab_adjustment')
    )
    with op.batch_alter_table('lab_adjustment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_adjustment_lab_id'), ['lab_id'], unique=False)

    with op.batch_alter_table('lab', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grades_released_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lab', schema=None) as batch_op:
        batch_op.drop_column('grades_released_at')
    with op.batch_alter_table('lab_adjustment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_adjustment_lab_id'))
    op.drop_table('lab_adjustment')
    with op.batch_alter_table('lab_criterion_score', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_criterion_score_lab_id'))
    op.drop_table('lab_criterion_score')
    with op.batch_alter_table('lab_criterion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_criterion_lab_id'))
    op.drop_table('lab_criterion')
