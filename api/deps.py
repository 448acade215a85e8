"""Dependencies shared by the routers: one session per request on the app's one engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session


def session(request: Request) -> Iterator[Session]:
    engine = request.app.state.context.engine()
    with Session(engine) as s:
        yield s


Db = Annotated[Session, Depends(session)]
