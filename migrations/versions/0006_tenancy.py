"""Tenancy: API tokens, the audit log, the application role and row-level security per district.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 22:13:32.723622
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# Frozen here: what later code calls the tenant tables must not rewrite this revision.
APP_ROLE = "citygrid_app"
TENANT_TABLES = (
    ("district", "code"), ("street", "district_code"), ("community", "district_code"),
    ("grid_import", "district_code"), ("grid", "district_code"),
    ("organisation", "district_code"), ("census_import", "district_code"),
    ("component", "district_code"), ("rules_import", "district_code"),
    ("duty", "district_code"), ("zone", "district_code"),
    ("case_counter", "district_code"), ("case_file", "district_code"),
    ("case_event", "district_code"), ("audit_event", "district_code"),
)

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_token',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('districts', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('revoked_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('last_used_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('city_admin', 'district_gis', 'operator', 'api_client', 'public_intake')", name=op.f('ck_api_token_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash'))
    )
    op.create_table('audit_event',
    sa.Column('district_code', sa.String(length=6), nullable=False),
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.PrimaryKeyConstraint('district_code', 'id', name=op.f('pk_audit_event'))
    )

    # The application's role: it logs in, but cannot bypass row-level security. Roles belong to
    # the cluster, so another database of the same cluster may have made it already.
    op.execute(f"""DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{APP_ROLE}') THEN
            CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
        END IF; END $$""")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE "
               f"ON TABLES TO {APP_ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES "
               f"TO {APP_ROLE}")
    # Tokens are the administrator's: the application reads them and notes their use.
    op.execute(f"REVOKE INSERT, UPDATE, DELETE ON api_token FROM {APP_ROLE}")
    op.execute(f"GRANT UPDATE (last_used_at) ON api_token TO {APP_ROLE}")
    # History and audit are append-only for the application.
    op.execute(f"REVOKE UPDATE, DELETE ON case_event, audit_event FROM {APP_ROLE}")
    op.execute("""CREATE FUNCTION citygrid_districts() RETURNS text[] LANGUAGE sql STABLE AS
        $$ SELECT string_to_array(nullif(current_setting('citygrid.districts', true), ''), ',')
        $$""")
    for table, column in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"CREATE POLICY tenant ON {table} USING ({column} = ANY (citygrid_districts()))"
                   f" WITH CHECK ({column} = ANY (citygrid_districts()))")

def downgrade() -> None:
    for table, _ in TENANT_TABLES:
        op.execute(f"DROP POLICY tenant ON {table}")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP FUNCTION citygrid_districts()")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {APP_ROLE}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES "
               f"FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {APP_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
    op.drop_table('audit_event')
    op.drop_table('api_token')
