"""The whole CJ/T 315 flow: 受理, 核实, 核查通过 and 结案 as steps of their own, 挂账, requests
(延期, 退回, 挂账) pending until approved, a clock for every step on the calendar of whoever holds
it, and cases that keep the code generation they were filed under.

- case_file: the scheme it was filed under; the step whose clock runs now and since when; the
  pending request; what is left of the disposal clock while suspended; counters of extensions and
  urgings; 自行处置, a deadline from the manual's default row, a deadline beyond the calendar's
  known holidays (provisional); the 回访 satisfaction. The filing condition is set at 立案.
- case_event: post and person (were role and actor); `department` is now the actor's department
  (a 专业部门's), `target` the department an action names (派遣 to whom, 退回 to whom); and the
  step the action ended with its due time, and the step it started with its due time and holder,
  so that lateness can be charged to whoever held the case at any moment.
- duty_period: the centre's duty hours (every day); calendar_year: the years whose holidays and
  调休 are loaded.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 08:00:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

STATES = ("'reported', 'accepted', 'filed', 'dispatched', 'handled', 'checked', 'closed', "
          "'suspended', 'void'")
TZ = postgresql.TIMESTAMP(timezone=True)


def upgrade() -> None:
    add = op.add_column
    add('case_file', sa.Column('scheme', sa.Text(), nullable=True))
    op.execute("UPDATE case_file c SET scheme = d.scheme FROM district d "
               "WHERE d.code = c.district_code")
    op.alter_column('case_file', 'scheme', nullable=False)
    for name, type_ in (('step', sa.Text()), ('step_started_at', TZ), ('accepted_at', TZ),
                        ('confirmed_at', TZ), ('checked_at', TZ), ('suspended_at', TZ),
                        ('disposal_left_s', sa.Float()), ('satisfaction', sa.Text()),
                        ('pending', postgresql.JSONB(astext_type=sa.Text()))):
        add('case_file', sa.Column(name, type_, nullable=True))
    for name in ('needs_confirmation', 'self_handled', 'manual_default', 'provisional'):
        add('case_file', sa.Column(name, sa.Boolean(), server_default=sa.text('false'),
                                   nullable=False))
    for name in ('extension_count', 'urge_count'):
        add('case_file', sa.Column(name, sa.Integer(), server_default='0', nullable=False))
    op.alter_column('case_file', 'condition_no', nullable=True)
    op.alter_column('case_file', 'stage_no', nullable=True)
    op.drop_constraint(op.f('ck_case_file_state'), 'case_file')
    op.create_check_constraint(op.f('ck_case_file_state'), 'case_file', f"state IN ({STATES})")
    op.create_check_constraint(op.f('ck_case_file_satisfaction'), 'case_file',
                               "satisfaction IS NULL OR satisfaction IN "
                               "('满意', '基本满意', '不满意')")
    op.create_index('ix_case_file_due', 'case_file', ['district_code', 'step_due_at'])

    op.alter_column('case_event', 'role', new_column_name='post', nullable=True)
    op.alter_column('case_event', 'actor', new_column_name='person')
    for name, type_ in (('target', sa.Text()), ('step', sa.Text()), ('due', TZ),
                        ('next_step', sa.Text()), ('next_due', TZ), ('next_holder', sa.Text())):
        add('case_event', sa.Column(name, type_, nullable=True))
    # the history is append-only for everyone else: only this revision rewrites it, once
    op.execute("ALTER TABLE case_event DISABLE TRIGGER case_event_append_only")
    op.execute("UPDATE case_event SET target = department, "
               "department = detail ->> 'by_department', "
               "next_due = (detail ->> 'due_at')::timestamptz "
               "WHERE action IN ('report', 'dispatch', 'return')")
    op.execute("UPDATE case_event SET department = detail ->> 'by_department', "
               "next_due = (detail ->> 'due_at')::timestamptz "
               "WHERE action NOT IN ('report', 'dispatch', 'return')")
    op.execute("ALTER TABLE case_event ENABLE TRIGGER case_event_append_only")
    op.create_index('ix_case_event_at', 'case_event', ['district_code', 'at'])

    op.create_table('duty_period',
                    sa.Column('start', sa.Time(), nullable=False),
                    sa.Column('end', sa.Time(), nullable=False),
                    sa.PrimaryKeyConstraint('start', name=op.f('pk_duty_period')))
    op.create_table('calendar_year',
                    sa.Column('year', sa.SmallInteger(), nullable=False),
                    sa.Column('source', sa.Text(), nullable=False),
                    sa.Column('loaded_at', TZ, server_default=sa.text('now()'),
                              nullable=False),
                    sa.PrimaryKeyConstraint('year', name=op.f('pk_calendar_year')))
    # reference data of the whole city, read by the application role
    op.execute("GRANT SELECT ON duty_period, calendar_year TO citygrid_app")


def downgrade() -> None:
    op.drop_table('calendar_year')
    op.drop_table('duty_period')
    op.drop_index('ix_case_event_at', table_name='case_event')
    for name in ('next_holder', 'next_due', 'next_step', 'due', 'step', 'target'):
        op.drop_column('case_event', name)
    op.alter_column('case_event', 'person', new_column_name='actor')
    op.alter_column('case_event', 'post', new_column_name='role', nullable=False)
    op.drop_index('ix_case_file_due', table_name='case_file')
    op.drop_constraint(op.f('ck_case_file_satisfaction'), 'case_file')
    op.drop_constraint(op.f('ck_case_file_state'), 'case_file')
    op.create_check_constraint(op.f('ck_case_file_state'), 'case_file',
                               "state IN ('reported', 'filed', 'dispatched', 'handled', "
                               "'closed', 'void')")
    for name in ('scheme', 'step', 'step_started_at', 'accepted_at', 'confirmed_at',
                 'checked_at', 'suspended_at', 'disposal_left_s', 'satisfaction', 'pending',
                 'needs_confirmation', 'self_handled', 'manual_default', 'provisional',
                 'extension_count', 'urge_count'):
        op.drop_column('case_file', name)
