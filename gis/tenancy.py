"""The tenant boundary, enforced by PostgreSQL: row-level security keyed by the district code.

A table of district data says so where it is defined, `info={"tenant": "<column>"}` (see
`tenant`); every such table gets the policy below (migrations 0006 and 0009, and `protect` for
tables made at run time, such as a district's census partition). The application's database
role (`APP_ROLE`, which cannot bypass it) sees a row only when its district is among those the
request's token may see, which the API sets per transaction (`confine`). The CLI works as the
owner: a local administrator.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

APP_ROLE = "citygrid_app"
DISTRICTS_SETTING = "citygrid.districts"
# the caller's districts, read once per statement rather than once per row (migration 0009)
DISTRICTS = "(SELECT citygrid_districts())::text[]"


def tenant(column: str = "district_code") -> dict[str, Any]:
    """The `info` of a table of district data: the column holding the district code."""
    return {"tenant": column}


def tenant_tables(metadata: sa.MetaData) -> list[tuple[str, str]]:
    """(table, district column) of every table of district data, in dependency order."""
    return [(t.name, t.info["tenant"]) for t in metadata.sorted_tables if "tenant" in t.info]


def policy(table: str, column: str = "district_code") -> str:
    """The statement that confines a table to the caller's districts."""
    return (f"CREATE POLICY tenant ON {table} USING ({column} = ANY ({DISTRICTS})) "
            f"WITH CHECK ({column} = ANY ({DISTRICTS}))")


def protect(connection: Any, table: str, column: str = "district_code") -> None:
    """Row-level security on a table made at run time (a partition of a tenant table)."""
    connection.execute(sa.text(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"))
    connection.execute(sa.text(policy(table, column)))


def confine(connection: Any, districts: list[str]) -> None:
    """Confine the rest of this transaction to `districts` (none: nothing)."""
    connection.execute(sa.text("SELECT set_config(:name, :codes, true)"),
                       {"name": DISTRICTS_SETTING, "codes": ",".join(districts)})
