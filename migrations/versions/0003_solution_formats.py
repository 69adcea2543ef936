"""Solutions of every shape: flawed_solution.solution_format (prose or a language), correct solutions
(answer_key.first_wrong_step and submission.error_step may be null: no step is wrong), and how many
correct solutions an assignment mixes in.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('flawed_solution', schema=None) as batch_op:
        batch_op.add_column(sa.Column('solution_format', sa.String(length=40), nullable=False,
                                      server_default='prose'))
    with op.batch_alter_table('answer_key', schema=None) as batch_op:
        batch_op.alter_column('first_wrong_step', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.alter_column('error_step', existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('correct_solutions', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    # A correct solution, or an answer saying no step is wrong, has no step number to go back to:
    # refuse rather than lose them.
    bind = op.get_bind()
    held = (bind.execute(sa.text("SELECT COUNT(*) FROM answer_key WHERE first_wrong_step IS NULL")).scalar()
            + bind.execute(sa.text("SELECT COUNT(*) FROM submission WHERE error_step IS NULL")).scalar())
    if held:
        raise RuntimeError("Cannot downgrade below 0003: the database holds correct solutions or answers saying "
                           "no step is wrong, which the older schema cannot store.")
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_column('correct_solutions')
    with op.batch_alter_table('submission', schema=None) as batch_op:
        batch_op.alter_column('error_step', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('answer_key', schema=None) as batch_op:
        batch_op.alter_column('first_wrong_step', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('flawed_solution', schema=None) as batch_op:
        batch_op.drop_column('solution_format')
