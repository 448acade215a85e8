"""`GET /stats`: the evaluation indicators (CJ/T 292) of a district over a period."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.deps import Db, Reader
from cases.stats import stats

router = APIRouter(tags=["cases"])


@router.get("/stats", tags=["cases"])
def evaluation(db: Db, who: Reader, district: str, from_: Annotated[date, Query(alias="from")],
               to: date, by: Literal["district", "department", "grid", "street"] = "district"
               ) -> dict[str, Any]:
    """上报数, 立案数, 结案数, 按期结案数, 结案率, 按期结案率, 返工率, 退回数, overdue."""
    return stats(db, district, from_, to, by)

