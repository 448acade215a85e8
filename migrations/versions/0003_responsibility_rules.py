"""Responsibility rules: the responsibility list (权责清单) and responsibility zones, versioned.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 21:31:44.380456
"""

from alembic import op
import geoalchemy2
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rules_import',
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('report', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['district_code'], ['district.code'], name=op.f('fk_rules_import_district_code_district')),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_rules_import'))
    )
    op.create_table('duty',
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('class_code', sa.String(length=5), nullable=False),
    sa.Column('valid_from', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('valid_to', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('department', sa.Text(), nullable=False),
    sa.Column('radius_m', sa.Float(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('import_id', sa.BigInteger(), nullable=False),
    sa.CheckConstraint("kind IN ('component', 'event')", name=op.f('ck_duty_kind')),
    sa.CheckConstraint('radius_m IS NULL OR radius_m > 0', name=op.f('ck_duty_radius')),
    sa.ForeignKeyConstraint(['district_code', 'import_id'], ['rules_import.district_code', 'rules_import.id'], name=op.f('fk_duty_district_code_import_id_rules_import')),
    sa.ForeignKeyConstraint(['district_code'], ['district.code'], name=op.f('fk_duty_district_code_district')),
    sa.PrimaryKeyConstraint('district_code', 'kind', 'class_code', 'valid_from', name=op.f('pk_duty'))
    )
    op.create_index('ix_duty_current', 'duty', ['district_code', 'kind', 'class_code'], unique=True, postgresql_where=sa.text('valid_to IS NULL'))
    op.create_table('zone',
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('valid_from', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('valid_to', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('unit', sa.Text(), nullable=False),
    sa.Column('classes', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('area_m2', sa.Float(), nullable=False),
    sa.Column('import_id', sa.BigInteger(), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, ), nullable=False),
    sa.ForeignKeyConstraint(['district_code', 'import_id'], ['rules_import.district_code', 'rules_import.id'], name=op.f('fk_zone_district_code_import_id_rules_import')),
    sa.ForeignKeyConstraint(['district_code'], ['district.code'], name=op.f('fk_zone_district_code_district')),
    sa.PrimaryKeyConstraint('district_code', 'code', 'valid_from', name=op.f('pk_zone'))
    )
    op.create_index('ix_zone_current', 'zone', ['district_code', 'code'], unique=True, postgresql_where=sa.text('valid_to IS NULL'))
    op.create_index('ix_zone_geom', 'zone', ['geom'], unique=False, postgresql_using='gist')


def downgrade() -> None:
    op.drop_index('ix_zone_geom', table_name='zone', postgresql_using='gist')
    op.drop_index('ix_zone_current', table_name='zone', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_table('zone')
    op.drop_index('ix_duty_current', table_name='duty', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_table('duty')
    op.drop_table('rules_import')
