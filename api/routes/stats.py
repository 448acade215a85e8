"""`GET /stats`: the evaluation indicators (CJ/T 292) of a district over a period, by area,
department, post or person, with the score and grade of the city's 考核办法; `GET /stats/cases`:
the cases behind one of its numbers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from api.deps import Db, Reader
from api.tokens import patrols
from cases.evaluation import cases_behind, evaluate, period
from cases.scoring import scheme_for, score_rows

router = APIRouter(tags=["evaluation"])
By = Literal["district", "street", "grid", "department", "post", "person"]
From = Annotated[date, Query(alias="from", description="first day (China Standard Time)")]
At = Annotated[datetime | None, Query(description="the moment of counting (default: now); a "
                                                  "step is late when done after its due time, "
                                                  "or undone at min(at, end of to) past it")]


@router.get("/stats")
def evaluation(db: Db, who: Reader, district: str, from_: From,
               to: Annotated[date, Query(description="last day, inclusive")],
               by: By = "district", at: At = None) -> dict[str, Any]:
    """Indicators per area (district, street, grid), department, post or person; each late
    step charged to whoever held it; rates over what should have happened."""
    p = period(db, district, from_, to, at, patrols(db, district))
    rows = score_rows(evaluate(db, p, by), by, scheme_for(db, p.district))
    return {"district": p.district, "from": p.start.isoformat(), "to": p.end.isoformat(),
            "at": p.at.isoformat(), "by": by, "rows": rows}


@router.get("/stats/cases")
def evaluation_cases(db: Db, who: Reader, district: str, from_: From, to: date, by: By,
                     key: Annotated[str, Query(description="the row's key (post:person for "
                                                           "by=person)")],
                     indicator: str, at: At = None) -> dict[str, Any]:
    """The case numbers one of `/stats`'s numbers is made of (a rate: its numerator's)."""
    p = period(db, district, from_, to, at, patrols(db, district))
    return {"district": p.district, "by": by, "key": key, "indicator": indicator,
            "cases": cases_behind(db, p, by, key, indicator)}
