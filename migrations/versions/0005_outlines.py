"""Street and community outlines (the union of their grids) for drawing on the map.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 21:51:01.193793
"""

from alembic import op
import geoalchemy2
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('community', sa.Column('outline', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, ), nullable=True))
    op.add_column('street', sa.Column('outline', geoalchemy2.types.Geometry(geometry_type='MULTIPOLYGON', srid=4490, dimension=2, spatial_index=False, ), nullable=True))


def downgrade() -> None:
    op.drop_column('street', 'outline')
    op.drop_column('community', 'outline')
