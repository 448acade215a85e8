"""Photos of cases (现场照片), kept with the case behind the tenant wall.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 21:00:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from gis.tenancy import policy

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_media',
                    sa.Column('district_code', sa.String(length=6), nullable=False),
                    sa.Column('number', sa.Text(), nullable=False),
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('content_type', sa.Text(), nullable=False),
                    sa.Column('size', sa.Integer(), nullable=False),
                    sa.Column('sha256', sa.String(length=64), nullable=False),
                    sa.Column('data', sa.LargeBinary(), nullable=False),
                    sa.Column('post', sa.Text(), nullable=True),
                    sa.Column('person', sa.Text(), nullable=False),
                    sa.Column('at', postgresql.TIMESTAMP(timezone=True),
                              server_default=sa.text('now()'), nullable=False),
                    sa.CheckConstraint('size > 0', name=op.f('ck_case_media_size')),
                    sa.ForeignKeyConstraint(['district_code', 'number'],
                                            ['case_file.district_code', 'case_file.number'],
                                            name=op.f('fk_case_media_district_code_case_file')),
                    sa.PrimaryKeyConstraint('district_code', 'number', 'id',
                                            name=op.f('pk_case_media')))
    op.execute("ALTER TABLE case_media ENABLE ROW LEVEL SECURITY")
    op.execute(policy('case_media'))


def downgrade() -> None:
    op.drop_table('case_media')
