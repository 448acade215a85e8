"""Components partitioned by district: one partition per district and a default one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 23:00:00
"""

from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

INDEXES = ("pk_component", "ix_component_geom", "ix_component_class", "ix_component_grid")
COLUMNS = """
    district_code varchar(6) NOT NULL, code varchar(17) NOT NULL, class_code varchar(5) NOT NULL,
    name text NOT NULL, dept_id bigint, owner_id bigint, maintainer_id bigint, status text,
    initial_date date, change_date date, data_source text, note text,
    grid_code varchar(15) NOT NULL, file_grid_code varchar(15),
    attrs jsonb NOT NULL DEFAULT '{}'::jsonb, geom geometry(GEOMETRY, 4490) NOT NULL,
    import_id bigint NOT NULL, retired_at date, retire_reason text,
    updated_at timestamptz NOT NULL DEFAULT now()"""
CONSTRAINTS = """
    CONSTRAINT pk_component PRIMARY KEY (district_code, code),
    CONSTRAINT ck_component_in_district CHECK (left(code, 6) = district_code),
    CONSTRAINT fk_component_district_code_district FOREIGN KEY (district_code)
        REFERENCES district (code),
    CONSTRAINT fk_component_status_component_status FOREIGN KEY (status)
        REFERENCES component_status (code),
    CONSTRAINT fk_component_district_code_dept_id_organisation FOREIGN KEY (district_code, dept_id)
        REFERENCES organisation (district_code, id),
    CONSTRAINT fk_component_district_code_owner_id_organisation
        FOREIGN KEY (district_code, owner_id) REFERENCES organisation (district_code, id),
    CONSTRAINT fk_component_district_code_maintainer_id_organisation
        FOREIGN KEY (district_code, maintainer_id) REFERENCES organisation (district_code, id),
    CONSTRAINT fk_component_district_code_import_id_census_import
        FOREIGN KEY (district_code, import_id) REFERENCES census_import (district_code, id)"""


def _rebuild(partitioned: bool) -> None:
    op.execute("ALTER TABLE component RENAME TO component_before")
    for name in INDEXES:
        op.execute(f"ALTER INDEX {name} RENAME TO {name}_before")
    tail = " PARTITION BY LIST (district_code)" if partitioned else ""
    op.execute(f"CREATE TABLE component ({COLUMNS},{CONSTRAINTS}){tail}")
    op.execute("CREATE INDEX ix_component_geom ON component USING gist (geom)")
    op.execute("CREATE INDEX ix_component_class ON component (district_code, class_code)")
    op.execute("CREATE INDEX ix_component_grid ON component (district_code, grid_code)")
    if partitioned:
        op.execute("CREATE TABLE component_default PARTITION OF component DEFAULT")
        op.execute("""DO $$ DECLARE d text; BEGIN
            FOR d IN SELECT code FROM district LOOP
                EXECUTE format('CREATE TABLE component_%s PARTITION OF component '
                               'FOR VALUES IN (%L)', d, d);
            END LOOP; END $$""")
    op.execute("INSERT INTO component SELECT * FROM component_before")
    op.execute("DROP TABLE component_before")
    op.execute("ALTER TABLE component ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY tenant ON component USING (district_code = ANY "
               "(citygrid_districts())) WITH CHECK (district_code = ANY (citygrid_districts()))")
    if partitioned:
        # a partition read directly is bound like the table it belongs to
        op.execute("""DO $$ DECLARE t text; BEGIN
            FOR t IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                     WHERE i.inhparent = 'component'::regclass LOOP
                EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
                EXECUTE format('CREATE POLICY tenant ON %I USING (district_code = ANY '
                               '(citygrid_districts())) WITH CHECK (district_code = ANY '
                               '(citygrid_districts()))', t);
            END LOOP; END $$""")


def upgrade() -> None:
    _rebuild(partitioned=True)


def downgrade() -> None:
    _rebuild(partitioned=False)
