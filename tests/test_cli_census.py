"""The census commands as users run them, including an import killed half-way."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import geopandas as gpd
import numpy as np
import psycopg
import pytest
import shapely
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from tests.conftest import CITYGRID, SAMPLES, bearer, make_token, reloaded
from tests.test_cli import one_line

XUANZHOU = SAMPLES / "341802_xuanzhou"
CHINESE = XUANZHOU / "部件_井盖路灯.shp"


def count(url, table):
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def xuanzhou(cli):
    cli("district", "add", "341802", "--name", "宣州区", "--scheme", "legacy", "--crs",
        "EPSG:4549")
    cli("import", "grids", str(XUANZHOU / "单元网格.shp"), "--district", "341802")
    return cli


def test_import_components_reports_and_counts(xuanzhou, tmp_path, fresh_url):
    report_path = tmp_path / "census.json"
    result = xuanzhou("import", "components", str(CHINESE), "--district", "341802",
                      "--report", str(report_path))
    assert "read 1262, imported 1262" in result.stderr
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["imported"] + report["updated"] + report["unchanged"] + report["rejected"] \
        == report["read"]
    assert report["mapping"]["code"] == "标识码" and report["encoding"].startswith("CP936")
    assert count(fresh_url, "component") == 1262


def _imported_modules(stderr: str) -> set[str]:
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines()
            if line.startswith("import time:")}


def test_a_census_import_process_does_not_import_pandas(xuanzhou, fresh_url):
    """`citygrid import components` of a GBK shapefile, first into a new partition and then
    merged with what is stored, makes no pandas object and does not pay for importing pandas
    (a third of a second of its start; gis.lazypandas)."""
    env = {**xuanzhou.env, "PYTHONPROFILEIMPORTTIME": "1"}
    for expected in ("read 1262, imported 1262", "unchanged 1262"):
        result = subprocess.run([str(CITYGRID), "import", "components", str(CHINESE),
                                 "--district", "341802"], capture_output=True, text=True,
                                env=env, cwd=xuanzhou.cwd, timeout=300)
        assert result.returncode == 0, result.stderr
        assert expected in result.stderr
        imported = _imported_modules(result.stderr)
        # (an attempt refused by gis.lazypandas shows as `pandas` alone)
        assert "pyarrow" in imported and not any(m.startswith("pandas.") for m in imported)
    assert count(fresh_url, "component") == 1262


def test_dry_run_shows_the_mapping_and_writes_nothing(xuanzhou, fresh_url):
    result = xuanzhou("import", "components", str(XUANZHOU / "部件_CJT214_点.shp"), "--district",
                      "341802", "--dry-run")
    assert "owner_name" in result.stderr and "DeptName2" in result.stderr
    assert "would import" in result.stderr
    assert count(fresh_url, "component") == 0 and count(fresh_url, "organisation") == 0


def test_components_before_grids_is_one_line(cli):
    cli("district", "add", "341802", "--name", "宣州区")
    result = cli("import", "components", str(CHINESE), "--district", "341802", check=2)
    assert "区县 341802 尚无单元网格" in one_line(result) and "has no grids yet" in one_line(result)


def test_wrong_encoding_is_one_line(xuanzhou):
    result = xuanzhou("import", "components", str(CHINESE), "--district", "341802",
                      "--encoding", "UTF-8", check=2)
    assert "不是有效的 UTF-8（由 --encoding 声明）" in one_line(result)


def test_export_then_gdal_reads_it(xuanzhou, tmp_path):
    xuanzhou("import", "components", str(CHINESE), "--district", "341802")
    out = tmp_path / "census.gpkg"
    result = xuanzhou("export", "components", "--district", "341802", str(out))
    assert "exported 1262 components" in result.stderr
    info = subprocess.run(["ogrinfo", "-so", str(out), "census"], capture_output=True,
                          text=True, check=True).stdout
    assert "Feature Count: 1262" in info and "ObjID" in info


def test_the_sample_census_converts_to_gb47678(xuanzhou, tmp_path, fresh_url):
    parts = ("部件_CJT214_点.shp", "部件_CJT214_护栏.shp", "部件_CJT214_绿地.shp", CHINESE.name)
    for part in parts:
        xuanzhou("import", "components", str(XUANZHOU / part), "--district", "341802")
    with TestClient(create_app(Settings(database_url=fresh_url)),
                    headers=bearer(make_token(fresh_url))) as client:
        with psycopg.connect(fresh_url) as conn:
            lon, lat = conn.execute("SELECT ST_X(geom), ST_Y(geom) FROM component "
                                    "WHERE GeometryType(geom) = 'POINT' LIMIT 1").fetchone()
        assert client.get("/lookup", params={"lon": lon, "lat": lat}).status_code == 200
        # every class in the sample has a name-matched GB/T 47678 class: it converts straight
        # away
        with reloaded(client.app, "341802"):
            result = xuanzhou("census", "convert", "--district", "341802")
        assert "区县 341802 的部件已转换为 gb47678" in result.stderr
        assert "converted to gb47678: 2594 components" in result.stderr
        with psycopg.connect(fresh_url) as conn:
            lengths = conn.execute("SELECT DISTINCT length(code) FROM component").fetchall()
            scheme = conn.execute("SELECT scheme FROM district").fetchone()[0]
            code, cls = conn.execute(
                "SELECT code, class_code FROM component WHERE ST_DWithin(geom, "
                "ST_SetSRID(ST_MakePoint(%s, %s), 4490), 1e-9)", (lon, lat)).fetchone()
        assert lengths == [(17,)] and scheme == "gb47678"
        # the running server follows: the new class code, and the component's new code
        answer = client.get("/lookup", params={"lon": lon, "lat": lat, "class": cls})
        assert answer.status_code == 200, answer.text
        assert answer.json()["component"]["code"] == code


def test_convert_names_what_it_cannot_map(xuanzhou, tmp_path):
    src = tmp_path / "无主.geojson"
    point = shapely.Point(381000, 3425000)
    gpd.GeoDataFrame({"标识码": ["3418020114000001"]}, geometry=[point], crs=4549).to_file(src)
    xuanzhou("import", "components", str(src), "--district", "341802")
    result = xuanzhou("census", "convert", "--district", "341802", check=1)
    assert "0114 无主井盖（1 个）；请用 --map" in result.stderr
    assert "0114 无主井盖 (1)" in result.stderr and "--map OLD=NEW" in result.stderr
    ok = xuanzhou("census", "convert", "--district", "341802", "--map", "0114=01023")
    assert "converted to gb47678: 1 components" in ok.stderr


def test_catalog_add_and_list(cli, tmp_path):
    local = tmp_path / "local.csv"
    local.write_text("scheme,kind,code,name\nlegacy,component,2101,防蚊闸\n", encoding="utf-8")
    result = cli("catalog", "add", str(local))
    assert "imported 1" in result.stderr
    listed = cli("catalog", "list", "--scheme", "legacy", "--kind", "component").stdout
    assert "2101,防蚊闸" in listed and "0101,上水井盖" in listed
    assert len(listed.strip().splitlines()) == 1 + 85 + 1


def _big_census(path, n):
    rng = np.random.default_rng(7)
    cells = gpd.read_file(XUANZHOU / "单元网格.shp")
    picks = rng.integers(0, len(cells), n)
    centroids = cells.geometry.centroid.to_numpy()[picks]
    xy = np.column_stack([shapely.get_x(centroids), shapely.get_y(centroids)])
    xy += rng.uniform(-20, 20, xy.shape)
    frame = gpd.GeoDataFrame({
        "标识码": [f"3418020101{i:06d}" for i in range(n)],
        "权属单位": ["宣城市供水有限公司"] * n, "状态": ["完好"] * n},
        geometry=shapely.points(xy), crs=4549)
    frame.to_file(path, encoding="GBK")


@pytest.mark.slow
def test_a_killed_import_leaves_the_database_as_it_was(xuanzhou, tmp_path, fresh_url):
    path = tmp_path / "big.shp"
    _big_census(path, 150_000)
    proc = subprocess.Popen([str(CITYGRID), "import", "components", str(path), "--district",
                             "341802"], env=xuanzhou.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    with psycopg.connect(fresh_url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            busy = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'active' AND (query ILIKE '%COPY component_stage%' "
                "OR query ILIKE '%INSERT INTO component AS c%')").fetchone()[0]
            if busy or proc.poll() is not None:
                break
            time.sleep(0.02)
    assert proc.poll() is None, "the import finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    # what the killed transaction wrote was never committed: nobody can see it, now or later
    assert count(fresh_url, "component") == 0
    assert count(fresh_url, "organisation") == 0
    assert count(fresh_url, "census_import") == 0
