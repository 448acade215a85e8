"""Grids and components lose their direct foreign key to district: it is implied by the keys
they keep (a grid's district_code is its community's, whose street is the district's, and its
import's; a component's is its census import's, which refers to the district), so a district
with grids or components still cannot be dropped. Each checked row cost an index probe and a
row lock of `district`: about 30 ms of a 10,000-grid import, and one more scan of every
component when a first census is attached (bench/grid_import.py, bench/census_import.py).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 12:20:00
"""

from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint('fk_grid_district_code_district', 'grid', type_='foreignkey')
    op.drop_constraint('fk_component_district_code_district', 'component', type_='foreignkey')


def downgrade() -> None:
    op.create_foreign_key('fk_component_district_code_district', 'component', 'district',
                          ['district_code'], ['code'])
    op.create_foreign_key('fk_grid_district_code_district', 'grid', 'district',
                          ['district_code'], ['code'])
