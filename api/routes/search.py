"""`GET /search`: find a grid, a component or a case by its code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import Db, Reader
from cases.search import search

router = APIRouter(tags=["map"])


@router.get("/search")
def search_route(db: Db, who: Reader,
                 q: Annotated[str, Query(description="grid code, 标识码 or case no.")]
                 ) -> dict[str, Any]:
    """Find a grid, a component or a case by its code."""
    return search(db, q)
