import sqlalchemy as sa

from grid.districts import add_district, get_district


def test_postgis_is_there(db):
    assert db.execute(sa.text("SELECT postgis_version()")).scalar()


def test_district_round_trip(db):
    add_district(db, "341802", name="宣州区", scheme="legacy", crs="EPSG:4549")
    d = get_district(db, "341802")
    assert (d.name, d.scheme.value, d.grid_digits, d.crs) == ("宣州区", "legacy", 14, "EPSG:4549")
