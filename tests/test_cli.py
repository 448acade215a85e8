"""The `citygrid` command as users run it: exit statuses, one-line errors, nothing half-written."""

from __future__ import annotations

import json
import zipfile

import pytest
import sqlalchemy as sa
from shapely.geometry import box

from tests.conftest import SAMPLES
from tests.gridfiles import block, grid_file, legacy_code, ogr2ogr, square, write_geojson

XUANZHOU = SAMPLES / "341802_xuanzhou" / "单元网格.shp"


def one_line(result):
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def grid_rows(url):
    from gis.db import make_engine

    eng = make_engine(url)
    try:
        with eng.connect() as conn:
            return conn.execute(sa.text("SELECT count(*) FROM grid")).scalar()
    finally:
        eng.dispose()


@pytest.fixture
def registered(cli):
    cli("district", "add", "341802", "--name", "宣州区", "--scheme", "legacy", "--crs", "EPSG:4549")
    return cli


def test_db_url_prints_the_configured_url(cli, fresh_url):
    assert cli("db", "url").stdout.strip() == fresh_url


def test_the_installed_command_runs_as_a_process(cli, fresh_url):
    """The console script itself (the other tests run its entry point in process)."""
    assert cli("db", "url", process=True).stdout.strip() == fresh_url
    bad = cli("district", "add", "34180", "--name", "x", check=2, process=True)
    assert "'34180' is not 6 digits" in one_line(bad)


@pytest.mark.parametrize(("variable", "value", "needle"), [
    ("CITYGRID_TILE_PRERENDER_ZOOMS", "14-30", "超出 0–22"),
    ("CITYGRID_TILE_CACHE_MB", "lots", "valid integer"),
])
def test_a_bad_setting_is_one_line_naming_the_variable_and_exit_2(cli, variable, value,
                                                                  needle):
    cli.env[variable] = value
    line = one_line(cli("db", "url", check=2, process=True))
    assert f"环境变量 {variable}='{value}' 无效" in line and needle in line


@pytest.mark.parametrize(("args", "needle"), [
    (["district", "add", "34180", "--name", "x"], "'34180' is not 6 digits"),
    (["district", "add", "341800", "--name", "x"], "province or city code"),
    (["district", "add", "341802"], "give its name with --name"),
    (["district", "add", "341802", "--name", "宣州区", "--crs", "EPSG:4490"],
     "不是以米为单位的投影坐标系"),
    (["district", "add", "341802", "--name", "宣州区", "--grid-digits", "16"], "'16' is not one"),
])
def test_bad_district_input_is_one_line_and_exit_2(cli, args, needle):
    result = cli(*args, check=2)
    assert needle in one_line(result)


def test_district_add_then_update(cli):
    cli("district", "add", "341802", "--name", "宣州区")
    result = cli("district", "add", "341802", "--crs", "EPSG:4549")
    assert "updated" in result.stderr and "EPSG:4549" in result.stderr
    (row,) = json.loads(cli("district", "list").stdout)
    assert (row["name"], row["crs"], row["scheme"]) == ("宣州区", "EPSG:4549", "legacy")


def test_a_city_without_counties_takes_grids_under_its_own_code(cli, tmp_path, fresh_url):
    # 东莞 has no county-level divisions: its streets sit under 441900 itself
    result = cli("district", "add", "441900", "--name", "东莞市", "--scheme", "gb47678",
                 "--crs", "EPSG:4547")
    assert "441900" in result.stderr
    x, y = 474_400.0, 2_547_000.0        # EPSG:4547 (CM 114E), in 东莞's 东城街道
    grids = [({"网格编码": f"441900003001{i:03d}"}, box(x + i * 100, y, x + (i + 1) * 100, y + 100))
             for i in range(1, 4)]
    src = write_geojson(tmp_path / "src.geojson", grids, crs="EPSG:4547")
    shp = tmp_path / "东莞网格.shp"
    ogr2ogr("-f", "ESRI Shapefile", str(shp), str(src), "-lco", "ENCODING=CP936")
    result = cli("import", "grids", str(shp), "--district", "441900")
    assert "read 3, imported 3" in result.stderr
    shown = json.loads(cli("district", "show", "441900").stdout)
    assert [s["code"] for s in shown["streets"]] == ["441900003"]
    assert grid_rows(fresh_url) == 3


def test_import_sample_grids_with_report(registered, tmp_path, fresh_url):
    report_path = tmp_path / "report.json"
    result = registered("import", "grids", str(XUANZHOU), "--district", "341802",
                        "--report", str(report_path))
    assert "read 270, imported 270" in result.stderr
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert report["imported"] + report["updated"] + report["unchanged"] + report["rejected"] \
        == report["read"] == 270
    assert report["encoding"] == "CP936 (DBF language id)"
    assert report["crs"] == "EPSG:4549 (file)"
    assert report["qa"]["errors"] == 0
    assert grid_rows(fresh_url) == 270
    again = registered("import", "grids", str(XUANZHOU), "--district", "341802")
    assert "unchanged 270" in again.stderr
    shown = json.loads(registered("district", "show", "341802").stdout)
    assert [s["name"] for s in shown["streets"]] == ["澄江街道", "鳌峰街道", "济川街道"]
    assert shown["streets"][0]["communities"][0]["name"] == "府山社区"


def test_a_grid_import_process_does_not_import_pandas(registered, fresh_url):
    """`citygrid import grids` of a shapefile makes no pandas object, and does not pay for
    importing pandas (a third of a second of its start; gis.lazypandas)."""
    import subprocess

    from tests.conftest import CITYGRID

    result = subprocess.run(
        [str(CITYGRID), "import", "grids", str(XUANZHOU), "--district", "341802"],
        capture_output=True, text=True, env={**registered.env, "PYTHONPROFILEIMPORTTIME": "1"},
        cwd=registered.cwd, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "read 270, imported 270" in result.stderr
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "sqlalchemy" in imported           # the import-time lines are there
    # (an attempt refused by gis.lazypandas shows as `pandas` alone)
    assert not any(m.startswith("pandas.") for m in imported)
    assert grid_rows(fresh_url) == 270


def _bad_files(tmp_path):
    good = grid_file(tmp_path / "good", block(2, 1))
    no_dbf = grid_file(tmp_path / "nodbf", block(2, 1))
    no_dbf.with_suffix(".dbf").unlink()
    no_prj = grid_file(tmp_path / "noprj", block(2, 1))
    no_prj.with_suffix(".prj").unlink()
    empty = tmp_path / "empty.shp"
    empty.write_bytes(b"")
    text = tmp_path / "notes.shp"
    text.write_text("这不是 shapefile\n", encoding="utf-8")
    csv = tmp_path / "grids.csv"
    csv.write_text("a,b\n1,2\n")
    slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(slip, "w") as zf:
        zf.writestr("../../evil.shp", b"x")
    return {
        "missing": (tmp_path / "nothing.shp", "文件不存在"),
        "no_dbf": (no_dbf, "缺少 .dbf 文件"),
        "no_prj": (no_prj, "请用 --crs 指定"),
        "empty": (empty, "是空文件"),
        "text": (text, "不是 shapefile"),
        "csv": (csv, "不支持的文件类型 '.csv'"),
        "slip": (slip, "会解压到目标文件夹之外"),
        "good": (good, None),
    }


@pytest.mark.parametrize("case", ["missing", "no_dbf", "no_prj", "empty", "text", "csv", "slip"])
def test_bad_files_get_one_line_exit_2_and_nothing_written(registered, tmp_path, fresh_url,
                                                           case):
    path, needle = _bad_files(tmp_path)[case]
    result = registered("import", "grids", str(path), "--district", "341802", check=2)
    line = one_line(result)
    assert needle in line and line.startswith("citygrid: ")
    assert grid_rows(fresh_url) == 0
    assert not (tmp_path.parent / "evil.shp").exists()


def test_missing_prj_with_crs_option_imports(registered, tmp_path, fresh_url):
    path, _ = _bad_files(tmp_path)["no_prj"]
    result = registered("import", "grids", str(path), "--district", "341802", "--crs",
                        "EPSG:4549")
    assert "imported 2" in result.stderr


def test_undecodable_text_suggests_encoding(registered, tmp_path):
    path = grid_file(tmp_path, block(1, 1), extra={"社区名称": ["府山社区"]})
    path.with_suffix(".cpg").write_text("UTF-8")
    result = registered("import", "grids", str(path), "--district", "341802", check=2)
    assert "--encoding" in one_line(result)
    fixed = registered("import", "grids", str(path), "--district", "341802", "--encoding", "GBK")
    assert "imported 1" in fixed.stderr


def test_qa_of_a_file_with_planted_problems(registered, tmp_path):
    grids = block(3, 3)
    grids = [g for g in grids if g[0] != legacy_code(1, 5)]                  # gap
    grids.append((legacy_code(1, 10), square(3, 0, shift=(-25.0, 0.0))))    # overlap
    grids.append((legacy_code(1, 1), square(4, 0)))                          # duplicate
    grids.append(("3418020010011", square(5, 0)))                            # malformed
    path = grid_file(tmp_path, grids)
    report_path = tmp_path / "qa.json"
    result = registered("qa", "grids", "--district", "341802", str(path), "--report",
                        str(report_path), check=1)
    assert "errors" in result.stderr
    report = json.loads(report_path.read_text(encoding="utf-8"))
    counts = report["counts"]
    assert counts["gap"] == 1 and counts["overlap"] == 1
    assert counts["duplicate_code"] == 1 and counts["malformed_code"] == 1
    (overlap,) = [f for f in report["findings"] if f["kind"] == "overlap"]
    assert overlap["area_m2"] == pytest.approx(2500, abs=0.01)
    imported = registered("import", "grids", str(path), "--district", "341802", check=1)
    assert "refused" in imported.stderr


def test_qa_of_stored_grids_exit_status(registered):
    registered("import", "grids", str(XUANZHOU), "--district", "341802")
    result = registered("qa", "grids", "--district", "341802", "--report", "-")
    report = json.loads(result.stdout)
    assert report["grids"] == 270 and report["errors"] == 0


def test_unknown_accept_kind_is_a_usage_error(registered):
    result = registered("import", "grids", str(XUANZHOU), "--district", "341802", "--accept",
                        "bogus", check=2)
    assert one_line(result).startswith("citygrid import grids: --accept：没有问题类型 'bogus'")
    assert "(--accept: unknown kind 'bogus')" in result.stderr


def test_usage_errors_are_one_line_chinese_first(cli):
    """citygrid's own words as they are; click's own (English) after a Chinese line."""
    ours = one_line(cli("qa", "grids", "--district", "341802", "--tolerance", "-1", check=2))
    assert ours == "citygrid qa grids: --tolerance：-1.0 为负数 (--tolerance: -1.0 is negative)"
    missing = one_line(cli("qa", "grids", check=2))
    assert missing.startswith("citygrid qa grids: 缺少 '--district'，用法见 citygrid qa grids "
                              "--help (")
    assert "Missing option '--district'" in missing
    choice = one_line(cli("district", "add", "341802", "--grid-digits", "16", check=2))
    assert choice.startswith("citygrid district add: '--grid-digits' 的值无效")
    assert "'16' is not one of" in choice


def test_dry_run_writes_nothing(registered, fresh_url):
    result = registered("import", "grids", str(XUANZHOU), "--district", "341802", "--dry-run")
    assert "would import" in result.stderr and grid_rows(fresh_url) == 0


def test_database_down_is_one_line_exit_4(tmp_path):
    from tests.conftest import Cli

    cli = Cli("postgresql://nobody@127.0.0.1:1/none", tmp_path)
    result = cli("district", "list", check=4)
    assert "cannot connect" in one_line(result)
