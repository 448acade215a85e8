"""Render docs/map.png: the demo's sample city in the operator console, in headless Chromium,
as a 值班长 of 宣州区 sees it with a case open.

Run after `make demo` has loaded the sample city (the server need not be running):
    .venv/bin/python scripts/map_screenshot.py
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from pathlib import Path

import requests
import uvicorn
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.app import create_app  # noqa: E402
from api.settings import Settings  # noqa: E402
from api.tokens import create_token  # noqa: E402
from gis.db import make_engine, resolve_url, session_scope  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--lang=zh-CN"]


def duty_officer_token(settings: Settings) -> str:
    """A token for the screenshot's 值班长 (a person with a post, as every operator is)."""
    engine = make_engine(resolve_url(settings))
    try:
        with session_scope(engine) as s:
            raw, _ = create_token(s, role="operator", districts="341802", post="值班长",
                                  name="截图值班长", expires_days=1)
    finally:
        engine.dispose()
    return raw


def main() -> None:
    settings = Settings()
    token = duty_officer_token(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(f"{base}/health", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.05)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page.add_init_script(f"localStorage.setItem('citygrid.token', '{token}')")
        page.goto(f"{base}/map")
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        page.evaluate("citygridMap.jumpTo({center: [118.7555, 30.9445], zoom: 16.2})")
        page.wait_for_function("citygridMap.loaded() && citygridMap.areTilesLoaded()")
        page.wait_for_timeout(800)
        first = page.wait_for_selector("#case-list li[data-number]", timeout=15_000)
        first.click()
        page.wait_for_selector("#case-detail h2[data-number]", timeout=15_000)
        page.wait_for_timeout(800)
        page.screenshot(path=str(ROOT / "docs" / "map.png"))
        browser.close()
    server.should_exit = True
    print(f"wrote {ROOT / 'docs' / 'map.png'}")


if __name__ == "__main__":
    main()
