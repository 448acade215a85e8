"""The components' grid index is on grid_code alone, not (district_code, grid_code): within a
district's partition district_code is one value, and an index sort whose first column is one
value compares every pair in full (abbreviated keys stand for the first column only). A first
census of 200,000 components built it in 0.27–0.42 s; on grid_code alone 0.15 s
(bench/census_import.py). A grid code begins with its district's code, so the index finds the
same rows in the default partition too, and it serves a grid_code filter without a district.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 02:10:00
"""

from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # on the partitioned table: every partition's index goes and comes with it
    op.execute("DROP INDEX ix_component_grid")
    op.execute("CREATE INDEX ix_component_grid ON component (grid_code)")


def downgrade() -> None:
    op.execute("DROP INDEX ix_component_grid")
    op.execute("CREATE INDEX ix_component_grid ON component (district_code, grid_code)")
