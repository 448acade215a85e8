"""`citygrid district add | list | show`: the districts (the tenants)."""

from __future__ import annotations

import json

import click

from api.cli.base import acting, cli, echo_err, session


@cli.group()
def district() -> None:
    """Districts (county-level units): the tenants of all data."""


@district.command("add")
@click.argument("code")
@click.option("--name", help="Name, e.g. 宣州区 (required for a new district).")
@click.option("--scheme", type=click.Choice(["legacy", "gb47678"]),
              help="Code scheme: legacy (CJ/T 213/214) or gb47678 (GB/T 47678).")
@click.option("--grid-digits", type=click.Choice(["14", "15"]),
              help="Length of grid codes (default: 14 legacy, 15 gb47678).")
@click.option("--crs", help="Projected CRS in metres for areas and tolerances, e.g. EPSG:4549.")
@click.option("--public-listing/--no-public-listing", default=None,
              help="List the district's cases through Open311 to callers without a token "
                   "(public fields only; off by default).")
def district_add(code: str, name: str | None, scheme: str | None, grid_digits: str | None,
                 crs: str | None, public_listing: bool | None) -> None:
    """Register a district, or update it."""
    from grid.districts import add_district

    with acting("district.add") as (s, op):
        d, created = add_district(s, code, name=name, scheme=scheme,
                                  grid_digits=int(grid_digits) if grid_digits else None, crs=crs,
                                  public_listing=public_listing)
        from census.partitions import ensure_partition

        ensure_partition(s, d.code)
        op.district, op.detail = d.code, {**d.to_dict(), "created": created}
    echo_err(f"district {d.code} {d.name} {'added' if created else 'updated'}: scheme "
              f"{d.scheme.value}, {d.grid_digits}-character grid codes, CRS {d.crs or 'not set'}"
              + ("; cases listed publicly through Open311" if d.public_listing else ""))


@district.command("list")
def district_list() -> None:
    """List districts as JSON."""
    from grid.districts import list_districts
    from grid.store import grid_count

    with session() as s:
        rows = [{**d.to_dict(), "grids": grid_count(s, d.code)} for d in list_districts(s)]
    click.echo(json.dumps(rows, ensure_ascii=False, indent=2))


@district.command("show")
@click.argument("code")
def district_show(code: str) -> None:
    """A district with its streets, communities and grid counts, as JSON."""
    from grid.districts import get_district
    from grid.store import hierarchy

    with session() as s:
        d = get_district(s, code)
        data = {**d.to_dict(), "streets": hierarchy(s, d.code)}
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


