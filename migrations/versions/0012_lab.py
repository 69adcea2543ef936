"""the AI lab: labs with a practice exam, groups' synthetic problems, strategies, model runs and attempts,
and harvested failures

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lab',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('course_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('exam_hidden', sa.Boolean(), nullable=False),
    sa.Column('samples', sa.Integer(), nullable=False),
    sa.Column('token_budget', sa.Integer(), nullable=False),
    sa.Column('leaderboard_visible', sa.Boolean(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['course.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lab', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_course_id'), ['course_id'], unique=False)

    op.create_table('lab_exam_problem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], ),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('lab_id', 'problem_id', name='uq_lab_exam_problem')
    )
    with op.batch_alter_table('lab_exam_problem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_exam_problem_lab_id'), ['lab_id'], unique=False)

    op.create_table('lab_problem',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('exam_problem_id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('reference_solution', sa.Text(), nullable=False),
    sa.Column('reference_answer', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('answer_mode', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('answer_tolerance', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('answer_tests', sa.JSON(), nullable=False),
    sa.Column('answer_tests_failed', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['exam_problem_id'], ['problem.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['lab_group.id'], ),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lab_problem', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_problem_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_problem_lab_id'), ['lab_id'], unique=False)

    op.create_table('lab_strategy',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('system_prompt', sa.Text(), nullable=False),
    sa.Column('example_ids', sa.JSON(), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['lab_group.id'], ),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('lab_id', 'group_id', 'version', name='uq_lab_strategy_version')
    )
    with op.batch_alter_table('lab_strategy', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_strategy_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_strategy_lab_id'), ['lab_id'], unique=False)

    op.create_table('lab_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('strategy_id', sa.Integer(), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('samples', sa.Integer(), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('completed', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Integer(), nullable=False),
    sa.Column('tokens_in', sa.Integer(), nullable=False),
    sa.Column('tokens_out', sa.Integer(), nullable=False),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('started_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('finished_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['group_id'], ['lab_group.id'], ),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], ),
    sa.ForeignKeyConstraint(['started_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['strategy_id'], ['lab_strategy.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('lab_run', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_run_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_run_lab_id'), ['lab_id'], unique=False)

    op.create_table('lab_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('item', sa.Integer(), nullable=False),
    sa.Column('sample_index', sa.Integer(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('lab_problem_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('final_answer', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('verdict', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('strategy_id', sa.Integer(), nullable=False),
    sa.Column('tokens_in', sa.Integer(), nullable=False),
    sa.Column('tokens_out', sa.Integer(), nullable=False),
    sa.Column('latency_ms', sa.Integer(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['lab_problem_id'], ['lab_problem.id'], ),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], ),
    sa.ForeignKeyConstraint(['run_id'], ['lab_run.id'], ),
    sa.ForeignKeyConstraint(['strategy_id'], ['lab_strategy.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('run_id', 'item', 'sample_index', name='uq_lab_attempt_sample')
    )
    with op.batch_alter_table('lab_attempt', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_attempt_run_id'), ['run_id'], unique=False)

    op.create_table('lab_harvest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('lab_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('attempt_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('steps', sa.JSON(), nullable=False),
    sa.Column('first_wrong_step', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('error_kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('exportable', sa.Boolean(), nullable=False),
    sa.Column('problem_id', sa.Integer(), nullable=True),
    sa.Column('submitted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['attempt_id'], ['lab_attempt.id'], ),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['group_id'], ['lab_group.id'], ),
    sa.ForeignKeyConstraint(['lab_id'], ['lab.id'], ),
    sa.ForeignKeyConstraint(['problem_id'], ['problem.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('attempt_id')
    )
    with op.batch_alter_table('lab_harvest', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_harvest_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_harvest_lab_id'), ['lab_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('lab_harvest', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_harvest_lab_id'))
        batch_op.drop_index(batch_op.f('ix_lab_harvest_group_id'))

    op.drop_table('lab_harvest')
    with op.batch_alter_table('lab_attempt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_attempt_run_id'))

    op.drop_table('lab_attempt')
    with op.batch_alter_table('lab_run', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_run_lab_id'))
        batch_op.drop_index(batch_op.f('ix_lab_run_group_id'))

    op.drop_table('lab_run')
    with op.batch_alter_table('lab_strategy', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_strategy_lab_id'))
        batch_op.drop_index(batch_op.f('ix_lab_strategy_group_id'))

    op.drop_table('lab_strategy')
    with op.batch_alter_table('lab_problem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_problem_lab_id'))
        batch_op.drop_index(batch_op.f('ix_lab_problem_group_id'))

    op.drop_table('lab_problem')
    with op.batch_alter_table('lab_exam_problem', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_exam_problem_lab_id'))

    op.drop_table('lab_exam_problem')
    with op.batch_alter_table('lab', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lab_course_id'))

    op.drop_table('lab')
