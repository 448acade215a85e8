"""Running the app under uvicorn."""

from __future__ import annotations

import sys

import uvicorn

from api.app import create_app
from api.settings import Settings


def run(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    app = create_app(settings)
    h, p = host or settings.host, port or settings.port
    print(f"citygrid 已启动：http://{h}:{p}/map（Ctrl-C 停止） (serving on http://{h}:{p}/)",
          file=sys.stderr)
    uvicorn.run(app, host=h, port=p, log_level="warning")
