"""One import at a time per district: two imports of one district run one after the other (the
second against what the first left: nothing lost, nothing doubled), the one that waits is told
who holds the district and since when, --no-wait and an upload that waited long enough refuse
with district_busy, having written nothing. And a district's first census, swapped in as a
partition of its own, deadlocks neither with another county's nor with readers."""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.operation import Caller, operation
from api.settings import Settings
from census.importer import import_components
from gis.db import make_engine
from grid.districts import add_district
from grid.importer import import_grids
from grid.locks import MAX_LABEL, Waiting, label_text, parse_label
from tests.conftest import CITYGRID, bearer, make_token
from tests.gridfiles import X0, Y0, block, grid_file, write_geojson

D, OTHER = "341802", "341881"
N = 300
SINCE = r"自 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d 起"


def count(url: str, sql: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.execute(sql).fetchone()[0])


def census_file(folder, district: str = D, n: int = N):
    """n manhole covers inside the 3×2 block of grids (EPSG:4549)."""
    folder.mkdir(parents=True, exist_ok=True)
    return write_geojson(folder / "部件.geojson", [
        ({"标识码": f"{district}0101{i:06d}", "部件名称": "上水井盖", "主管部门": "住建局",
          "状态": "完好"}, shapely.Point(X0 + 5 + i % 290, Y0 - 5 - (i * 7) % 190))
        for i in range(1, n + 1)])


@pytest.fixture
def files(tmp_path):
    """A 3×2 block of grids and a census of N manhole covers inside it."""
    return grid_file(tmp_path / "grids", block(3, 2)), census_file(tmp_path / "census")


def register(engine, district: str, name: str) -> None:
    """As `district add` does it: with a census partition of its own, still empty."""
    from census.partitions import ensure_partition

    with Session(engine) as s:
        add_district(s, district, name=name, scheme="legacy", crs="EPSG:4549")
        ensure_partition(s, district)
        s.commit()


@pytest.fixture
def district(fresh_url):
    """宣州区 registered, nothing imported yet."""
    eng = make_engine(fresh_url)
    register(eng, D, "宣州区")
    yield eng
    eng.dispose()


@pytest.fixture
def with_grids(district, files):
    with Session(district) as s:
        assert import_grids(s, files[0], D)[0].imported == 6
        s.commit()
    return district


def together(engine, *works: Callable[[Session], object]) -> list[object]:
    """Run each work in a thread of its own, all at once, each in its own committed
    transaction."""
    start = threading.Barrier(len(works))
    results: list[object] = []
    errors: list[BaseException] = []

    def run(work: Callable[[Session], object]) -> None:
        try:
            with Session(engine) as s:
                start.wait()
                results.append(work(s))
                s.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    return results


def test_two_census_imports_of_one_file_into_a_fresh_district_both_succeed(with_grids, files,
                                                                           fresh_url):
    def work(s: Session) -> object:
        return import_components(s, files[1], D)

    reports = together(with_grids, work, work)
    first, second = sorted(reports, key=lambda r: -r.imported)       # type: ignore[attr-defined]
    assert (first.imported, first.unchanged) == (N, 0)
    assert first.extra["loaded"] == "fresh partition"       # the first census's own partition
    assert (second.imported, second.updated, second.unchanged) == (0, 0, N)
    assert count(fresh_url, "SELECT count(*) FROM component") == N
    assert count(fresh_url, "SELECT count(DISTINCT code) FROM component") == N
    assert count(fresh_url, "SELECT count(*) FROM organisation") == 1
    assert count(fresh_url, "SELECT count(*) FROM census_import") == 2


def test_two_grid_imports_of_one_file_into_a_fresh_district_both_succeed(district, files,
                                                                         fresh_url):
    def work(s: Session) -> object:
        return import_grids(s, files[0], D)[0]

    reports = together(district, work, work)
    assert sorted((r.imported, r.unchanged) for r in reports) == [(0, 6), (6, 0)]  # type: ignore[attr-defined]
    assert count(fresh_url, "SELECT count(*) FROM grid") == 6
    assert count(fresh_url, "SELECT count(*) FROM grid_import") == 2


@pytest.fixture
def two_counties(with_grids, tmp_path):
    """宣州区 and 宁国市, both with grids and neither with a census."""
    register(with_grids, OTHER, "宁国市")
    with Session(with_grids) as s:
        grids = grid_file(tmp_path / "grids_b", block(3, 2, district=OTHER))
        assert import_grids(s, grids, OTHER)[0].imported == 6
        s.commit()
    return with_grids


def test_first_census_imports_of_two_counties_at_once_both_succeed(two_counties, tmp_path,
                                                                   fresh_url):
    """Each swap needs the tables the census refers to, which the other has written to."""
    n = 2000
    paths = {d: census_file(tmp_path / d, d, n) for d in (D, OTHER)}
    reports = together(two_counties, *[
        lambda s, d=d: import_components(s, paths[d], d) for d in (D, OTHER)])
    assert sorted((r.district, r.imported, r.extra["loaded"])  # type: ignore[attr-defined]
                  for r in reports) == [(D, n, "fresh partition"), (OTHER, n, "fresh partition")]
    assert count(fresh_url, "SELECT count(DISTINCT code) FROM component") == 2 * n


def test_a_first_census_does_not_catch_the_lookup_index_reloading_another_county(
        two_counties, tmp_path, fresh_url):
    """A running server reloads a county (district row, then its grids and census) while
    another county's first census is swapped in."""
    from lookup.index import LookupIndex

    with Session(two_counties) as s:
        import_components(s, census_file(tmp_path / OTHER, OTHER), OTHER)
        s.commit()
    index = LookupIndex(two_counties)
    stop = threading.Event()
    errors: list[BaseException] = []
    reloads = [0]

    def reload() -> None:
        while not stop.is_set():
            try:
                index.reload(OTHER)
                reloads[0] += 1
            except BaseException as exc:
                errors.append(exc)
                return

    readers = [threading.Thread(target=reload) for _ in range(3)]
    for r in readers:
        r.start()
    try:
        with Session(two_counties) as s:
            report = import_components(s, census_file(tmp_path / D, D, 3000), D)
            s.commit()
    finally:
        stop.set()
        for r in readers:
            r.join(timeout=60)
    assert not errors, errors
    assert reloads[0] > 0
    assert report.extra["loaded"] == "fresh partition" and report.imported == 3000


@contextmanager
def holding(engine, action: str, actor: str) -> Iterator[Session]:
    """Another import holding the district (as the CLI or an upload holds it) until the block
    ends; then it rolls back."""
    with Session(engine) as s, operation(s, Caller(actor, "cli"), action, district=D,
                                         waiting=Waiting()) as op:
        yield s
        op.refuse()


@pytest.mark.parametrize(("kind", "holder", "holder_zh"), [
    ("grids", "import.components", "部件普查导入"),
    ("components", "import.grids", "单元网格导入"),
    ("components", "rules.import", "权责清单或责任区域导入"),
])
def test_no_wait_refuses_at_once_naming_the_holder(with_grids, files, cli, fresh_url, kind,
                                                   holder, holder_zh):
    grids_before = count(fresh_url, "SELECT count(*) FROM grid_import")
    path = files[0] if kind == "grids" else files[1]
    with holding(with_grids, holder, "cli:张三"):
        result = cli("import", kind, str(path), "--district", D, "--no-wait", check=75)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert re.fullmatch(
        rf"citygrid: 区县 {D} 正在进行另一项导入：{holder_zh}（cli:张三，{SINCE}）；本次未导入任何"
        rf"数据，请稍后再试 \(district {D} is busy with {re.escape(holder)} by cli:张三 since "
        r"[-0-9: ]+; nothing was imported, try again later\)", lines[0]), lines[0]
    assert count(fresh_url, "SELECT count(*) FROM grid_import") == grids_before
    assert count(fresh_url, "SELECT count(*) FROM component") == 0
    assert count(fresh_url, "SELECT count(*) FROM audit_event WHERE action LIKE 'import.%'") == 0


def test_a_census_import_waits_for_the_district_and_says_once_who_holds_it(with_grids, files,
                                                                           cli, fresh_url):
    with holding(with_grids, "import.grids", "cli:李四"):
        proc = subprocess.Popen([str(CITYGRID), "import", "components", str(files[1]),
                                 "--district", D], env=cli.env, cwd=cli.cwd, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        watchdog = threading.Timer(120, proc.kill)
        watchdog.start()
        try:
            told = proc.stderr.readline()            # type: ignore[union-attr]
            # told while it waits: nothing of it is written yet
            assert count(fresh_url, "SELECT count(*) FROM census_import") == 0
        except BaseException:
            proc.kill()
            raise
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        watchdog.cancel()
    assert re.fullmatch(
        rf"区县 {D} 正在进行另一项导入：单元网格导入（cli:李四，{SINCE}）；等它结束后再导入 "
        rf"\(district {D} is busy with import.grids by cli:李四 since [-0-9: ]+; waiting for it "
        r"to finish\)\n", told), told
    assert proc.returncode == 0, err
    assert "正在进行另一项导入" not in err and "Traceback" not in err
    assert count(fresh_url, "SELECT count(*) FROM component") == N


def test_an_upload_waits_a_bounded_time_then_answers_409(with_grids, files, fresh_url):
    token = make_token(fresh_url, "district_gis", D, name="王五")
    settings = Settings(database_url=fresh_url, import_wait_s=0.3)
    with TestClient(create_app(settings)) as c:
        def upload():
            with open(files[1], "rb") as f:
                return c.post("/imports/components", headers=bearer(token),
                              params={"district": D}, files={"file": ("部件.geojson", f)})

        with holding(with_grids, "import.components", "cli:张三"):
            busy = upload()
        assert busy.status_code == 409, busy.text
        error = busy.json()["error"]
        assert error["code"] == "district_busy"
        assert re.match(rf"区县 {D} 正在进行另一项导入：部件普查导入（cli:张三，{SINCE}）；"
                        "本次未导入", error["message"]), error["message"]
        assert error["detail"]["holder"]["actor"] == "cli:张三"
        assert count(fresh_url, "SELECT count(*) FROM component") == 0
        done = upload()
        assert done.status_code == 200, done.text
        assert done.json()["imported"] == N


def test_the_label_fits_application_name_and_reads_back():
    for actor in ("cli:alice", "token:12 张三", "cli:DOMAIN\\user",
                  "token:7 欧阳长名字的一位很长很长的同志"):
        rest = label_text("import.components", actor)
        label = f"citygrid 1767225600 {rest}"
        assert label.isascii() and len(label) <= MAX_LABEL, label
        holder = parse_label(1, label, None)
        assert holder.action == "import.components"
        assert holder.actor in (actor, actor.split(" ")[0])
    assert parse_label(9, "psql", None).describe_en() == "another database session (pid 9)"
