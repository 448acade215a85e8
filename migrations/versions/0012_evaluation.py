"""The city's 考核办法 (evaluation rules) as data: weights, formulas and grade bands per kind of
row, as the TOML the city wrote (`citygrid evaluation import FILE [--district CODE]`); and the
indexes a month's evaluation reads a year of cases through: cases by last change (those changed
since its moment), by report and filing time (valid reports, 漏报), the running clocks, events by
action (处置, 作废, 退回… among a month's events), each covering what it is asked, so the index
alone answers; and statistics on (step, post), so the planner knows how many of a month's events
are steps done by the post that held them.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 12:00:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('evaluation_scheme',
                    sa.Column('scope', sa.String(length=6), nullable=False),
                    sa.Column('name', sa.Text(), nullable=False),
                    sa.Column('body', sa.Text(), nullable=False),
                    sa.Column('source', sa.Text(), nullable=False),
                    sa.Column('loaded_at', postgresql.TIMESTAMP(timezone=True),
                              server_default=sa.text('now()'), nullable=False),
                    sa.PrimaryKeyConstraint('scope', name=op.f('pk_evaluation_scheme')))
    op.create_index('ix_case_file_updated', 'case_file',
                    ['district_code', 'updated_at', 'reported_at'])
    op.create_index('ix_case_file_reported', 'case_file', ['district_code', 'reported_at'],
                    postgresql_include=['number', 'filed_at', 'self_handled'])
    op.create_index('ix_case_file_filed', 'case_file', ['district_code', 'filed_at'],
                    postgresql_include=['number', 'source', 'grid_code'])
    op.create_index('ix_case_event_action', 'case_event', ['district_code', 'at'],
                    postgresql_where=sa.text("action IN ('rework', 'approve', 'cancel')"))
    op.create_index('ix_case_event_handle', 'case_event', ['district_code', 'at'],
                    postgresql_include=['number', 'department', 'due'],
                    postgresql_where=sa.text("action = 'handle'"))
    op.create_index('ix_case_event_report', 'case_event', ['district_code', 'at'],
                    postgresql_include=['number', 'post', 'person', 'to_state'],
                    postgresql_where=sa.text("action = 'report'"))
    # the centre's steps (cases.flow.CENTRE_STEPS) done by the post holding them
    op.create_index('ix_case_event_step', 'case_event', ['district_code', 'at'],
                    postgresql_include=['step', 'post', 'person', 'due'],
                    postgresql_where=sa.text(
                        "(step, post) IN (('accept', '受理员'), ('confirm', '监督员'), "
                        "('file', '值班长'), ('dispatch', '派遣员'), ('check', '监督员'), "
                        "('close', '值班长')) AND action <> 'reject'"))
    op.execute("CREATE STATISTICS st_case_event_step_post (mcv) ON step, post FROM case_event")
    op.drop_index('ix_case_file_due', table_name='case_file')
    op.create_index('ix_case_file_due', 'case_file', ['district_code', 'step_due_at'],
                    postgresql_include=['number', 'state', 'step', 'department', 'grid_code',
                                        'street_code', 'updated_at'],
                    postgresql_where=sa.text('step_due_at IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_case_file_due', table_name='case_file')
    op.create_index('ix_case_file_due', 'case_file', ['district_code', 'step_due_at'])
    op.drop_index('ix_case_event_step', table_name='case_event')
    op.drop_index('ix_case_event_report', table_name='case_event')
    op.drop_index('ix_case_event_handle', table_name='case_event')
    op.drop_index('ix_case_event_action', table_name='case_event')
    op.execute("DROP STATISTICS st_case_event_step_post")
    op.drop_index('ix_case_file_filed', table_name='case_file')
    op.drop_index('ix_case_file_reported', table_name='case_file')
    op.drop_index('ix_case_file_updated', table_name='case_file')
    op.drop_table('evaluation_scheme')
