"""Cases (案卷) with their append-only history, the handling manual and the working calendar.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 21:39:49.039254
"""

from alembic import op
import geoalchemy2
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_day',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('source', sa.Text(), nullable=False),
    sa.CheckConstraint("kind IN ('holiday', 'workday')", name=op.f('ck_calendar_day_kind')),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_day'))
    )
    op.create_table('centre_step',
    sa.Column('scope', sa.String(length=6), nullable=False),
    sa.Column('step', sa.Text(), nullable=False),
    sa.Column('limit_value', sa.Float(), nullable=False),
    sa.Column('limit_unit', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('scope', 'step', name=op.f('pk_centre_step'))
    )
    op.create_table('duplicate_rule',
    sa.Column('scope', sa.String(length=6), nullable=False),
    sa.Column('scheme', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('class_code', sa.String(length=5), nullable=False),
    sa.Column('radius_m', sa.Float(), nullable=False),
    sa.Column('window_hours', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'scheme', 'kind', 'class_code', name=op.f('pk_duplicate_rule'))
    )
    op.create_table('handling_rule',
    sa.Column('scope', sa.String(length=6), nullable=False),
    sa.Column('scheme', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('class_code', sa.String(length=5), nullable=False),
    sa.Column('condition_no', sa.SmallInteger(), nullable=False),
    sa.Column('stage_no', sa.SmallInteger(), nullable=False),
    sa.Column('filing_condition', sa.Text(), nullable=False),
    sa.Column('stage_name', sa.Text(), nullable=True),
    sa.Column('limit_value', sa.Float(), nullable=False),
    sa.Column('limit_unit', sa.Text(), nullable=False),
    sa.Column('closing_condition', sa.Text(), nullable=True),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.CheckConstraint("limit_unit IN ('hours', 'natural_days', 'working_hours', 'working_days')", name=op.f('ck_handling_rule_unit')),
    sa.CheckConstraint('limit_value >= 0', name=op.f('ck_handling_rule_limit')),
    sa.PrimaryKeyConstraint('scope', 'scheme', 'kind', 'class_code', 'condition_no', 'stage_no', name=op.f('pk_handling_rule'))
    )
    op.create_table('working_period',
    sa.Column('start', sa.Time(), nullable=False),
    sa.Column('end', sa.Time(), nullable=False),
    sa.PrimaryKeyConstraint('start', name=op.f('pk_working_period'))
    )
    op.create_table('case_counter',
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['district_code'], ['district.code'], name=op.f('fk_case_counter_district_code_district')),
    sa.PrimaryKeyConstraint('district_code', 'day', name=op.f('pk_case_counter'))
    )
    op.create_table('case_file',
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('number', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('class_code', sa.String(length=5), nullable=False),
    sa.Column('class_name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('media', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'[]'::jsonb"), nullable=False),
    sa.Column('reporter', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='POINT', srid=4490, dimension=2, spatial_index=False, ), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('department', sa.Text(), nullable=True),
    sa.Column('snapshot', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('grid_code', sa.String(length=15), nullable=False),
    sa.Column('street_code', sa.String(length=9), nullable=False),
    sa.Column('community_code', sa.String(length=12), nullable=False),
    sa.Column('condition_no', sa.SmallInteger(), nullable=False),
    sa.Column('stage_no', sa.SmallInteger(), nullable=False),
    sa.Column('reported_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('filed_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('dispatched_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('handled_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('closed_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('step_due_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('disposal_due_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('rework_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('return_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("kind IN ('component', 'event')", name=op.f('ck_case_file_kind')),
    sa.CheckConstraint("state IN ('reported', 'filed', 'dispatched', 'handled', 'closed', 'void')", name=op.f('ck_case_file_state')),
    sa.ForeignKeyConstraint(['district_code'], ['district.code'], name=op.f('fk_case_file_district_code_district')),
    sa.PrimaryKeyConstraint('district_code', 'number', name=op.f('pk_case_file'))
    )
    op.create_index('ix_case_file_class', 'case_file', ['district_code', 'class_code', 'reported_at'], unique=False)
    op.create_index('ix_case_file_geom', 'case_file', ['geom'], unique=False, postgresql_using='gist')
    op.create_index('ix_case_file_state', 'case_file', ['district_code', 'state'], unique=False)
    op.create_table('case_event',
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('number', sa.Text(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('from_state', sa.Text(), nullable=True),
    sa.Column('to_state', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('department', sa.Text(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.ForeignKeyConstraint(['district_code', 'number'], ['case_file.district_code', 'case_file.number'], name=op.f('fk_case_event_district_code_number_case_file')),
    sa.PrimaryKeyConstraint('district_code', 'number', 'seq', name=op.f('pk_case_event'))
    )

    # The history of a case is append-only: no update or delete, whoever asks.
    op.execute("CREATE FUNCTION case_event_append_only() RETURNS trigger LANGUAGE plpgsql AS "
               "$$ BEGIN RAISE EXCEPTION 'case history is append-only'; END $$")
    op.execute("CREATE TRIGGER case_event_append_only BEFORE UPDATE OR DELETE ON case_event "
               "FOR EACH ROW EXECUTE FUNCTION case_event_append_only()")

def downgrade() -> None:
    op.execute("DROP TRIGGER case_event_append_only ON case_event")
    op.execute("DROP FUNCTION case_event_append_only()")
    op.drop_table('case_event')
    op.drop_index('ix_case_file_state', table_name='case_file')
    op.drop_index('ix_case_file_geom', table_name='case_file', postgresql_using='gist')
    op.drop_index('ix_case_file_class', table_name='case_file')
    op.drop_table('case_file')
    op.drop_table('case_counter')
    op.drop_table('working_period')
    op.drop_table('handling_rule')
    op.drop_table('duplicate_rule')
    op.drop_table('centre_step')
    op.drop_table('calendar_day')
