"""Component census: class catalog, statuses, field profiles, organisations, components.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 21:04:34.312383
"""

from alembic import op
import geoalchemy2
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('class_catalog',
    sa.Column('scheme', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.Column('major_code', sa.String(length=2), nullable=False),
    sa.Column('major_name', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('name_en', sa.Text(), nullable=True),
    sa.Column('standard', sa.Text(), nullable=False),
    sa.Column('provenance', sa.Text(), nullable=False),
    sa.Column('national', sa.Boolean(), nullable=False),
    sa.Column('loaded_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(scheme = 'legacy' AND code ~ '^[0-9]{4}$') OR (scheme = 'gb47678' AND code ~ '^[0-9]{5}$')", name=op.f('ck_class_catalog_code')),
    sa.CheckConstraint("kind IN ('component', 'event')", name=op.f('ck_class_catalog_kind')),
    sa.CheckConstraint("scheme IN ('legacy', 'gb47678')", name=op.f('ck_class_catalog_scheme')),
    sa.CheckConstraint('major_code = left(code, 2)', name=op.f('ck_class_catalog_major')),
    sa.PrimaryKeyConstraint('scheme', 'kind', 'code', name=op.f('pk_class_catalog'))
    )
    op.create_table('class_mapping',
    sa.Column('legacy_code', sa.String(length=4), nullable=False),
    sa.Column('gb47678_code', sa.String(length=5), nullable=False),
    sa.Column('basis', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('legacy_code', name=op.f('pk_class_mapping'))
    )
    op.create_table('component_status',
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('in_service', sa.Boolean(), nullable=False),
    sa.Column('sort', sa.SmallInteger(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_component_status'))
    )
    op.create_table('field_profile',
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('mapping', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_field_profile'))
    )
    op.create_table('census_import',
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('report', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.ForeignKeyConstraint(['district_code'], ['district.code'], name=op.f('fk_census_import_district_code_district')),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_census_import'))
    )
    op.create_table('organisation',
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('code', sa.Text(), nullable=True),
    sa.Column('credit_code', sa.String(length=18), nullable=True),
    sa.ForeignKeyConstraint(['district_code'], ['district.code'], name=op.f('fk_organisation_district_code_district')),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_organisation')),
    sa.UniqueConstraint('district_code', 'name', name=op.f('uq_organisation_district_code_name'))
    )
    op.create_table('component',
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('code', sa.String(length=17), nullable=False),
    sa.Column('class_code', sa.String(length=5), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('dept_id', sa.BigInteger(), nullable=True),
    sa.Column('owner_id', sa.BigInteger(), nullable=True),
    sa.Column('maintainer_id', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('initial_date', sa.Date(), nullable=True),
    sa.Column('change_date', sa.Date(), nullable=True),
    sa.Column('data_source', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('grid_code', sa.String(length=15), nullable=False),
    sa.Column('file_grid_code', sa.String(length=15), nullable=True),
    sa.Column('attrs', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('geom', geoalchemy2.types.Geometry(srid=4490, dimension=2, spatial_index=False, ), nullable=False),
    sa.Column('import_id', sa.BigInteger(), nullable=False),
    sa.Column('retired_at', sa.Date(), nullable=True),
    sa.Column('retire_reason', sa.Text(), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('left(code, 6) = district_code', name=op.f('ck_component_in_district')),
    sa.ForeignKeyConstraint(['district_code', 'dept_id'], ['organisation.district_code', 'organisation.id'], name=op.f('fk_component_district_code_dept_id_organisation')),
    sa.ForeignKeyConstraint(['district_code', 'import_id'], ['census_import.district_code', 'census_import.id'], name=op.f('fk_component_district_code_import_id_census_import')),
    sa.ForeignKeyConstraint(['district_code', 'maintainer_id'], ['organisation.district_code', 'organisation.id'], name=op.f('fk_component_district_code_maintainer_id_organisation')),
    sa.ForeignKeyConstraint(['district_code', 'owner_id'], ['organisation.district_code', 'organisation.id'], name=op.f('fk_component_district_code_owner_id_organisation')),
    sa.ForeignKeyConstraint(['district_code'], ['district.code'], name=op.f('fk_component_district_code_district')),
    sa.ForeignKeyConstraint(['status'], ['component_status.code'], name=op.f('fk_component_status_component_status')),
    sa.PrimaryKeyConstraint('district_code', 'code', name=op.f('pk_component'))
    )
    op.create_index('ix_component_class', 'component', ['district_code', 'class_code'], unique=False)
    op.create_index('ix_component_geom', 'component', ['geom'], unique=False, postgresql_using='gist')
    op.create_index('ix_component_grid', 'component', ['district_code', 'grid_code'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_component_grid', table_name='component')
    op.drop_index('ix_component_geom', table_name='component', postgresql_using='gist')
    op.drop_index('ix_component_class', table_name='component')
    op.drop_table('component')
    op.drop_table('organisation')
    op.drop_table('census_import')
    op.drop_table('field_profile')
    op.drop_table('component_status')
    op.drop_table('class_mapping')
    op.drop_table('class_catalog')
