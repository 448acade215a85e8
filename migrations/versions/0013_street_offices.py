"""The office that answers for a street or town (属地兜底): named by the street boundary file
(`street.office`, with the street's kind 街道/镇/乡 in `street.kind`) or by the 权责清单
(`street_office`, versioned like the rest of the list).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 12:00:00
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

APP_ROLE = "citygrid_app"
ONCE = "(SELECT citygrid_districts())::text[]"


def upgrade() -> None:
    op.add_column('street', sa.Column('kind', sa.Text(), nullable=True))
    op.add_column('street', sa.Column('office', sa.Text(), nullable=True))
    op.create_check_constraint(op.f('ck_street_kind'), 'street', "kind IN ('街道', '镇', '乡')")
    op.create_table('street_office',
                    sa.Column('district_code', sa.String(length=6), nullable=False),
                    sa.Column('street_code', sa.String(length=9), nullable=False),
                    sa.Column('valid_from', postgresql.TIMESTAMP(timezone=True), nullable=False),
                    sa.Column('valid_to', postgresql.TIMESTAMP(timezone=True), nullable=True),
                    sa.Column('office', sa.Text(), nullable=False),
                    sa.Column('import_id', sa.BigInteger(), nullable=False),
                    sa.ForeignKeyConstraint(
                        ['district_code', 'import_id'],
                        ['rules_import.district_code', 'rules_import.id'],
                        name=op.f('fk_street_office_district_code_import_id_rules_import')),
                    sa.ForeignKeyConstraint(
                        ['district_code', 'street_code'],
                        ['street.district_code', 'street.code'],
                        name=op.f('fk_street_office_district_code_street_code_street')),
                    sa.ForeignKeyConstraint(
                        ['district_code'], ['district.code'],
                        name=op.f('fk_street_office_district_code_district')),
                    sa.PrimaryKeyConstraint('district_code', 'street_code', 'valid_from',
                                            name=op.f('pk_street_office')))
    op.create_index('ix_street_office_current', 'street_office',
                    ['district_code', 'street_code'], unique=True,
                    postgresql_where=sa.text('valid_to IS NULL'))
    # a table of district data: confined like the others (migrations 0006 and 0009)
    op.execute("ALTER TABLE street_office ENABLE ROW LEVEL SECURITY")
    op.execute(f"CREATE POLICY tenant ON street_office USING (district_code = ANY ({ONCE})) "
               f"WITH CHECK (district_code = ANY ({ONCE}))")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON street_office TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_index('ix_street_office_current', table_name='street_office',
                  postgresql_where=sa.text('valid_to IS NULL'))
    op.drop_table('street_office')
    op.drop_constraint(op.f('ck_street_kind'), 'street', type_='check')
    op.drop_column('street', 'office')
    op.drop_column('street', 'kind')
