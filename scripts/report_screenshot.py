"""Render docs/evaluation.png: the monthly evaluation page of the hand-counted November of
tests/test_evaluation.py (the tiny county), in headless Chromium.

    .venv/bin/python scripts/report_screenshot.py

It makes a throwaway database on citygrid's own cluster (or DATABASE_URL's server) and drops it.
"""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import sync_playwright
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import migrations  # noqa: E402
from gis.db import ensure_postgis, make_engine  # noqa: E402
from tests import tiny  # noqa: E402
from tests.conftest import ARGS, CHROMIUM, Databases, _server_url, make_token, serving  # noqa: E402  # noqa: E402
from tests.histories import replay  # noqa: E402
from tests.test_evaluation import REPORT, month  # noqa: E402


def main() -> None:
    dbs = Databases(_server_url())
    url = dbs.create(f"report{uuid.uuid4().hex[:6]}")
    try:
        engine = make_engine(url)
        ensure_postgis(engine)
        migrations.upgrade(engine)
        with tempfile.TemporaryDirectory() as folder:
            with Session(engine) as s:
                tiny.build(s, Path(folder))
                s.commit()
            replay(engine, Path(folder), month())
        engine.dispose()
        token = make_token(url)
        with serving(url) as base, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 1000},
                                          locale="zh-CN", device_scale_factor=1)
            context.add_init_script(f"localStorage.setItem('citygrid.token', '{token}')")
            page = context.new_page()
            page.goto(f"{base}/reports/evaluation?" + urlencode(REPORT))
            page.wait_for_function("window.citygridReportReady === true", timeout=60_000)
            out = ROOT / "docs" / "evaluation.png"
            page.screenshot(path=str(out), full_page=False)
            browser.close()
        print(f"wrote {out}")
    finally:
        dbs.drop_all()


if __name__ == "__main__":
    main()
