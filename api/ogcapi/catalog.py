"""The collections: for each, the SQL that reads its features, the geometry type it declares and
the times a `datetime` filter compares.

One geometry type per collection: GDAL (and so QGIS) declares a layer's type from the features
it reads first, so a collection mixing points, lines and polygons becomes a "Point" layer that
GeoPackage will not hold. The census is therefore three collections, one per dimension, and the
census's lines and polygons are served as Multi* (as grids and boundaries are stored) so that
a delivery mixing LineString and MultiLineString still gives one type.
"""

from __future__ import annotations

from dataclasses import dataclass

# China Standard Time: a census date (初始日期, 变更日期) is a day in 宣城, not in UTC
_DAY_START = "({0})::timestamp AT TIME ZONE 'Asia/Shanghai'"
_DAY_END = "(({0}) + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' - interval '1 microsecond'"


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    columns: str      # the id and the properties
    source: str       # FROM … WHERE … (more conditions are appended with AND)
    geom: str         # the stored geometry (EPSG:4490), which a bbox compares (its index)
    id_column: str
    filters: dict[str, str]   # query parameter → column it filters
    # the order of pages: the id, or columns an index gives in the id's order (so that a page
    # is read from the index rather than sorted out of the whole collection)
    order_by: str = ""
    geometry_type: str = ""   # the one type of every feature (GeoJSON's name)
    output: str = ""          # the geometry served, when it is not `geom` as stored
    # a feature's time as a closed interval (first, last instant; timestamptz), which a
    # `datetime` parameter must intersect (OGC API – Features Part 1, 7.15.4)
    time: tuple[str, str] | None = None

    def select(self) -> str:
        return (f"SELECT {self.columns}, ST_AsBinary({self.output or self.geom}) AS wkb "
                f"{self.source}")


_DUE = ("(CASE WHEN c.state = 'dispatched' THEN c.disposal_due_at "
        "WHEN c.state IN ('reported', 'filed', 'handled') THEN c.step_due_at END)")

_COMPONENT_COLUMNS = (
    "c.code AS id, c.district_code AS district, c.class_code, cc.name AS class_name, "
    "c.name, c.status, c.grid_code, d.name AS department, o.name AS owner, "
    "k.name AS maintainer, c.initial_date::text AS initial_date, "
    "c.change_date::text AS change_date")
# component_confined (migration 0009): the census the caller may see, through which a bbox
# reaches the spatial index
_COMPONENT_SOURCE = (
    "FROM component_confined c JOIN district dd ON dd.code = c.district_code "
    "LEFT JOIN class_catalog cc ON cc.scheme = dd.scheme AND cc.kind = 'component' "
    "AND cc.code = c.class_code "
    "LEFT JOIN organisation d ON d.district_code = c.district_code AND d.id = c.dept_id "
    "LEFT JOIN organisation o ON o.district_code = c.district_code AND o.id = c.owner_id "
    "LEFT JOIN organisation k ON k.district_code = c.district_code "
    "AND k.id = c.maintainer_id WHERE c.retired_at IS NULL")
# a component's life as the census records it: from its 初始日期 to its 变更日期 (either alone
# when the other is missing), whole days
_COMPONENT_TIME = (_DAY_START.format("coalesce(c.initial_date, c.change_date)"),
                   _DAY_END.format("coalesce(c.change_date, c.initial_date)"))


def _components(suffix: str, kind: str, dimension: int, geometry_type: str,
                output: str) -> Collection:
    return Collection(
        f"components-{suffix}", f"管理部件（{kind}）census components: {suffix}",
        f"The live component census, its {suffix} only (one geometry type per layer).",
        _COMPONENT_COLUMNS, f"{_COMPONENT_SOURCE} AND ST_Dimension(c.geom) = {dimension}",
        "c.geom", "c.code", {"district": "c.district_code", "class": "c.class_code"},
        # a code begins with its district's: the primary key's order is the code's
        order_by="c.district_code, c.code", geometry_type=geometry_type, output=output,
        time=_COMPONENT_TIME)


def _division(cid: str, table: str, title: str, what: str, alias: str,
              more: str = "") -> Collection:
    """Streets or communities: their own boundary where delivered, else their grids' union."""
    shape = f"coalesce({alias}.boundary, {alias}.outline)"
    return Collection(
        cid, title, f"{what}: their own boundary where delivered, else the union of their "
        "grids.", f"{alias}.code AS id, {alias}.district_code AS district{more}, {alias}.name",
        f"FROM {table} {alias} WHERE {shape} IS NOT NULL", shape, f"{alias}.code",
        {"district": f"{alias}.district_code"}, geometry_type="MultiPolygon")


COLLECTIONS = {c.id: c for c in (
    Collection(
        "grids", "单元网格 unit grids", "Current unit grids of every district.",
        "g.code AS id, g.district_code AS district, g.street_code AS street_code, "
        "s.name AS street, g.community_code AS community_code, cm.name AS community, "
        "round(g.area_m2::numeric, 1)::float AS area_m2",
        "FROM grid g LEFT JOIN street s ON s.district_code = g.district_code "
        "AND s.code = g.street_code LEFT JOIN community cm ON cm.district_code = "
        "g.district_code AND cm.code = g.community_code WHERE g.valid_to IS NULL",
        "g.geom", "g.code", {"district": "g.district_code"}, geometry_type="MultiPolygon"),
    _division("streets", "street", "街道 streets", "Streets (街道/乡镇)", "s"),
    _division("communities", "community", "社区 communities", "Communities (社区/村)", "c",
              ", c.street_code"),
    # a one-point MultiPoint (as some shapefiles deliver points) is served as the Point it is
    _components("points", "点", 0, "Point",
                "CASE WHEN ST_NumGeometries(c.geom) = 1 THEN ST_GeometryN(c.geom, 1) "
                "ELSE c.geom END"),
    _components("lines", "线", 1, "MultiLineString", "ST_Multi(c.geom)"),
    _components("polygons", "面", 2, "MultiPolygon", "ST_Multi(c.geom)"),
    Collection(
        "cases", "案件 cases", "Cases with their state and the department that holds them; "
        "`datetime` selects them by the time they were reported.",
        "c.number AS id, c.district_code AS district, c.state, c.source, c.kind, "
        f"c.class_code, c.class_name, c.description, c.department, c.grid_code, "
        f"c.reported_at::text AS reported_at, c.closed_at::text AS closed_at, "
        f"{_DUE}::text AS due_at, coalesce({_DUE} < now(), false) AS overdue",
        "FROM case_file c WHERE true", "c.geom", "c.number",
        {"district": "c.district_code", "state": "c.state", "class": "c.class_code"},
        geometry_type="Point", time=("c.reported_at", "c.reported_at")),
)}
