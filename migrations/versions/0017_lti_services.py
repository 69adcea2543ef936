"""LTI Advantage: the services each LMS link offers (AGS, NRPS), and each student's score sent to the LMS

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('lti_resource_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('context_id', sa.Integer(), nullable=False),
    sa.Column('resource_link_id', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=True),
    sa.Column('lineitems_url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('lineitem_url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('ags_scopes', sa.JSON(), nullable=False),
    sa.Column('memberships_url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], ),
    sa.ForeignKeyConstraint(['context_id'], ['lti_context.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('context_id', 'resource_link_id', name='uq_lti_resource_link')
    )
    with op.batch_alter_table('lti_resource_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_resource_link_context_id'), ['context_id'], unique=False)

    op.create_table('lti_score_send',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('context_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('sub', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('score_given', sa.Float(), nullable=False),
    sa.Column('score_maximum', sa.Float(), nullable=False),
    sa.Column('activity_progress', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('grading_progress', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('timestamp', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('lineitem_url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('queued_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('sent_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignment.id'], ),
    sa.ForeignKeyConstraint(['context_id'], ['lti_context.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('assignment_id', 'context_id', 'user_id', name='uq_lti_score_send')
    )
    with op.batch_alter_table('lti_score_send', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lti_score_send_assignment_id'), ['assignment_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('lti_score_send', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_score_send_assignment_id'))
    op.drop_table('lti_score_send')
    with op.batch_alter_table('lti_resource_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lti_resource_link_context_id'))
    op.drop_table('lti_resource_link')
