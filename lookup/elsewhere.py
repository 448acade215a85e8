"""Where the districts are that this process does not serve (`CITYGRID_DISTRICTS`): their street
outlines, so that a point in one of them is answered 421 `district_not_served` naming it (a
router in front sends the lookup on) rather than "in no grid". A few hundred polygons a county,
loaded with the index and reloaded when the county's grids change."""

from __future__ import annotations

import numpy as np
import shapely
import sqlalchemy as sa
from shapely import STRtree
from sqlalchemy.orm import Session


class Elsewhere:
    """The outlines of other districts, immutable (a change makes a new one)."""

    def __init__(self, outlines: dict[str, list[shapely.Geometry]]) -> None:
        self.outlines = outlines
        codes, geoms = [], []
        for code, parts in sorted(outlines.items()):
            codes += [code] * len(parts)
            geoms += parts
        self.codes = np.array(codes, dtype=object)
        self.geoms = np.array(geoms, dtype=object)
        shapely.prepare(self.geoms)
        self.tree = STRtree(self.geoms) if geoms else None

    @classmethod
    def load(cls, session: Session, codes: list[str]) -> Elsewhere:
        """The street outlines (EPSG:4490) of these districts."""
        return cls(_outlines(session, codes))

    def changed(self, session: Session, code: str) -> Elsewhere:
        """This one with district `code`'s outlines read again."""
        return Elsewhere({**{c: g for c, g in self.outlines.items() if c != code},
                          **_outlines(session, [code])})

    def at(self, lon: float, lat: float) -> str | None:
        """The district whose outline holds the point, if any."""
        if self.tree is None:
            return None
        hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
        return str(self.codes[int(min(hits))]) if len(hits) else None


def _outlines(session: Session, codes: list[str]) -> dict[str, list[shapely.Geometry]]:
    if not codes:
        return {}
    rows = session.execute(sa.text(
        "SELECT district_code, ST_AsBinary(outline) FROM street "
        "WHERE district_code = ANY(:codes) AND outline IS NOT NULL ORDER BY district_code, code"),
        {"codes": codes}).all()
    found: dict[str, list[shapely.Geometry]] = {}
    for code, wkb in rows:
        found.setdefault(code, []).append(shapely.from_wkb(bytes(wkb)))
    return found
