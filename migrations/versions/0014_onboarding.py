"""Onboarding: each county's 贯标 conformance reports (the 检查督办 view lists the latest) and the
rows its imports rejected, with their attributes and shapes, for the map. Both are district data
behind the tenant wall.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 18:00:00
"""

from alembic import op
import geoalchemy2
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from gis.tenancy import policy

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conformance_result',
                    sa.Column('district_code', sa.String(length=6), nullable=False),
                    sa.Column('generated_at', postgresql.TIMESTAMP(timezone=True),
                              nullable=False),
                    sa.Column('verdict', sa.Text(), nullable=False),
                    sa.Column('body', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
                    sa.CheckConstraint("verdict IN ('pass', 'warn', 'fail')",
                                       name=op.f('ck_conformance_result_verdict')),
                    sa.ForeignKeyConstraint(['district_code'], ['district.code'],
                                            name=op.f('fk_conformance_result_district_code_district')),
                    sa.PrimaryKeyConstraint('district_code', 'generated_at',
                                            name=op.f('pk_conformance_result')))
    op.create_table('import_reject',
                    sa.Column('district_code', sa.String(length=6), nullable=False),
                    sa.Column('source', sa.Text(), nullable=False),
                    sa.Column('row', sa.Integer(), nullable=False),
                    sa.Column('kind', sa.Text(), nullable=False),
                    sa.Column('code', sa.Text(), nullable=True),
                    sa.Column('reason', sa.Text(), nullable=False),
                    sa.Column('reason_zh', sa.Text(), nullable=False),
                    sa.Column('message', sa.Text(), nullable=False),
                    sa.Column('clashes_with', sa.Integer(), nullable=True),
                    sa.Column('attrs', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
                    sa.Column('geom', geoalchemy2.types.Geometry(
                        srid=4490, spatial_index=False, from_text='ST_GeomFromEWKT',
                        name='geometry'), nullable=True),
                    sa.Column('at', postgresql.TIMESTAMP(timezone=True),
                              server_default=sa.text('now()'), nullable=False),
                    sa.ForeignKeyConstraint(['district_code'], ['district.code'],
                                            name=op.f('fk_import_reject_district_code_district')),
                    sa.PrimaryKeyConstraint('district_code', 'source', 'row',
                                            name=op.f('pk_import_reject')))
    op.create_index('ix_import_reject_geom', 'import_reject', ['geom'], unique=False,
                    postgresql_using='gist')
    for table in ('conformance_result', 'import_reject'):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(policy(table))


def downgrade() -> None:
    op.drop_index('ix_import_reject_geom', table_name='import_reject',
                  postgresql_using='gist')
    op.drop_table('import_reject')
    op.drop_table('conformance_result')
