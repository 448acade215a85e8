"""Unit-grid model: districts, streets, communities, versioned grids, grid imports.

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 20:49:39.290132
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('district',
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('scheme', sa.Text(), nullable=False),
    sa.Column('grid_digits', sa.SmallInteger(), nullable=False),
    sa.Column('crs', sa.Text(), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("code ~ '^[0-9]{6}$'", name=op.f('ck_district_code')),
    sa.CheckConstraint("scheme IN ('legacy', 'gb47678')", name=op.f('ck_district_scheme')),
    sa.CheckConstraint('grid_digits IN (14, 15)', name=op.f('ck_district_grid_digits')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_district'))
    )
    op.create_table('grid_import',
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('report', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['district_code'], ['district.code'], name=op.f('fk_grid_import_district_code_district')),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_grid_import'))
    )
    op.create_table('street',
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('code', sa.String(length=9), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('boundary', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, ), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('left(code, 6) = district_code', name=op.f('ck_street_in_district')),
    sa.ForeignKeyConstraint(['district_code'], ['district.code'], name=op.f('fk_street_district_code_district')),
    sa.PrimaryKeyConstraint('district_code', 'code', name=op.f('pk_street'))
    )
    op.create_table('community',
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('street_code', sa.String(length=9), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('boundary', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, ), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('left(code, 9) = street_code', name=op.f('ck_community_in_street')),
    sa.ForeignKeyConstraint(['district_code', 'street_code'], ['street.district_code', 'street.code'], name=op.f('fk_community_district_code_street_code_street')),
    sa.PrimaryKeyConstraint('district_code', 'code', name=op.f('pk_community'))
    )
    op.create_table('grid',
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('code', sa.String(length=15), nullable=False),
    sa.Column('valid_from', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('valid_to', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('street_code', sa.String(length=9), nullable=False),
    sa.Column('community_code', sa.String(length=12), nullable=False),
    sa.Column('area_m2', sa.Float(), nullable=False),
    sa.Column('attrs', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('import_id', sa.BigInteger(), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, ), nullable=False),
    sa.CheckConstraint('left(code, 12) = community_code', name=op.f('ck_grid_in_community')),
    sa.CheckConstraint('valid_to IS NULL OR valid_to > valid_from', name=op.f('ck_grid_validity')),
    sa.ForeignKeyConstraint(['district_code', 'community_code'], ['community.district_code', 'community.code'], name=op.f('fk_grid_district_code_community_code_community')),
    sa.ForeignKeyConstraint(['district_code', 'import_id'], ['grid_import.district_code', 'grid_import.id'], name=op.f('fk_grid_district_code_import_id_grid_import')),
    sa.ForeignKeyConstraint(['district_code'], ['district.code'], name=op.f('fk_grid_district_code_district')),
    sa.PrimaryKeyConstraint('district_code', 'code', 'valid_from', name=op.f('pk_grid'))
    )
    op.create_index('ix_grid_current', 'grid', ['district_code', 'code'], unique=True, postgresql_where=sa.text('valid_to IS NULL'))
    op.create_index('ix_grid_geom', 'grid', ['geom'], unique=False, postgresql_using='gist')


def downgrade() -> None:
    op.drop_index('ix_grid_geom', table_name='grid', postgresql_using='gist')
    op.drop_index('ix_grid_current', table_name='grid', postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_table('grid')
    op.drop_table('community')
    op.drop_table('street')
    op.drop_table('grid_import')
    op.drop_table('district')
