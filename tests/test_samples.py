"""The sample city: what the script makes is what is committed, and it loads cleanly."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import sqlalchemy as sa

from api.demo import load_samples
from gis.db import session_scope
from grid import store
from grid.inspect import qa_stored
from tests.conftest import ROOT, SAMPLES


def digests(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.suffix != ".py"
            and "__pycache__" not in p.parts}


def test_the_generator_reproduces_the_committed_files(tmp_path):
    script = SAMPLES / "make_samples.py"
    subprocess.run([sys.executable, str(script), str(tmp_path)], check=True, cwd=ROOT)
    assert digests(tmp_path) == digests(SAMPLES)


def test_the_sample_city_loads_twice_without_change(fresh_engine):
    messages = []
    load_samples(fresh_engine, echo=messages.append, cases=False)
    with session_scope(fresh_engine) as s:
        assert store.grid_count(s, "341802") == 270
        assert store.grid_count(s, "341881") == 225
        for code in ("341802", "341881"):
            assert qa_stored(s, code).findings == []
        names = {c["name"] for st in store.hierarchy(s, "341881") for c in st["communities"]}
        assert "宜堃社区" in names
        counts = dict(s.execute(sa.text(
            "SELECT district_code, count(*) FROM component GROUP BY 1")).all())
        assert counts == {"341802": 2594, "341881": 2216}
    assert all("，拒绝 0 (" in m for m in messages), messages
    first = len(messages)
    load_samples(fresh_engine, echo=messages.append, cases=False)
    second = messages[first:]
    assert len(second) == first
    assert all("新增 0，更新 0" in m or "边界导入" in m for m in second), second
    assert any("单元网格导入" in m and "未变 270" in m for m in second)


def test_the_demo_reports_its_sample_cases_once(fresh_engine):
    messages = []
    load_samples(fresh_engine, echo=messages.append)
    load_samples(fresh_engine, echo=messages.append)
    assert sum("sample cases reported" in m for m in messages) == 1
    with session_scope(fresh_engine) as s:
        states = dict(s.execute(sa.text("SELECT state, count(*) FROM case_file GROUP BY 1")).all())
    assert states == {"reported": 1, "accepted": 1, "filed": 1, "dispatched": 2, "handled": 1,
                      "closed": 1}
