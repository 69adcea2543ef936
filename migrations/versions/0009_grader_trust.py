"""How far to trust the grader: problem.grader_notes; assignment.confidence_threshold and hold_for_pilot;
grade.model_confidence, suggested_score and calibration_examples; grading_job.pilot

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grader_notes', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confidence_threshold', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('hold_for_pilot', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('grade', schema=None) as batch_op:
        batch_op.add_column(sa.Column('model_confidence', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('suggested_score', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('calibration_examples', sa.Integer(), nullable=True))
    with op.batch_alter_table('grading_job', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pilot', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('grading_job', schema=None) as batch_op:
        batch_op.drop_column('pilot')
    with op.batch_alter_table('grade', schema=None) as batch_op:
        batch_op.drop_column('calibration_examples')
        batch_op.drop_column('suggested_score')
        batch_op.drop_column('model_confidence')
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_column('hold_for_pilot')
        batch_op.drop_column('confidence_threshold')
    with op.batch_alter_table('problem', schema=None) as batch_op:
        batch_op.drop_column('grader_notes')
