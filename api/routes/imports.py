"""Imports over HTTP: `POST /imports/{kind}?district=CODE` with the file as multipart `file`.

The same importers as the CLI run in the request's transaction, which row-level security
confines to the token's districts. Uploads are bounded: the file's size, and for a zip the number
of entries, what it expands to, and entries that would escape the extraction folder.

One import at a time per district (`grid.locks`): an upload waits for another import of its
district up to `import_wait_s` (10 s by default: a 权责清单 or a grid file is done by then), then
answers 409 `district_busy` naming the import that holds the district and since when, having
written nothing. It never waits longer, so a long census import does not tie up a worker.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.auth import Forbidden
from api.deps import Db, Importer, caller
from api.operation import operation
from gis.errors import BadInput, CitygridError
from gis.vector import TooLarge, check_archive
from grid.locks import Waiting

router = APIRouter(tags=["imports"])

Kind = Literal["grids", "components", "streets", "communities", "rules"]
ACCEPTED = {".zip", ".gpkg", ".geojson", ".json", ".csv"}
CHUNK = 1024 * 1024


def _name(upload: UploadFile) -> str:
    """The uploaded file's own name (no folders), as its sender knows it."""
    name = Path((upload.filename or "").replace("\\", "/")).name.strip()
    return name if name not in ("", ".", "..") else "upload"


async def _save(upload: UploadFile, folder: Path, limit: int) -> Path:
    name = _name(upload)
    suffix = Path(name).suffix.lower()
    if suffix == ".shp":
        raise BadInput("file：请上传装有 .shp 及其 .dbf、.shx、.prj、.cpg 的 .zip；"
                       "单独的 .shp 没有属性 (file: upload a .zip holding the .shp with its "
                       ".dbf, .shx, .prj and .cpg; a .shp alone has no attributes)")
    if suffix not in ACCEPTED:
        raise BadInput(f"file：{name!r} 不是 .zip、.gpkg、.geojson 或 .csv 文件 "
                       f"(file: {name!r} is not a .zip, .gpkg, .geojson or .csv)")
    # under its own name, so that what the importers say of it names the sender's file
    path = folder / (name if "\0" not in name else f"upload{suffix}")
    size = 0
    with open(path, "wb") as out:
        while chunk := await upload.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"file：{name} 超过 {limit} 字节的上限 "
                               f"(file: {name} is larger than {limit} bytes)")
            out.write(chunk)
    if size == 0:
        raise BadInput(f"file：{name} 是空文件 (file: {name} is empty)")
    return path


@router.post("/imports/{kind}", responses={
    409: {"description": "district_busy: another import of the district did not finish in time"},
    413: {"description": "too large"}, 422: {"description": "refused"}})
async def upload_import(
    kind: Kind, request: Request, db: Db, who: Importer,
    file: Annotated[UploadFile, File(description="a .zip holding a shapefile, a .gpkg, a "
                                                 ".geojson, or a .csv 权责清单 (rules)")],
    district: Annotated[str, Query(description="6-digit district code")],
    crs: str | None = None, encoding: str | None = None, dry_run: bool = False,
    retire_missing: bool = False,
) -> JSONResponse:
    """Import a grid, boundary, census or rules file for a district of the token."""
    if not who.sees(district):
        raise Forbidden(f"区县 {district} 不在此令牌的区县内 "
                        f"(district {district} is outside the districts of this token)")
    settings = request.app.state.context.settings
    folder = Path(tempfile.mkdtemp(prefix="citygrid-upload-"))
    try:
        path = await _save(file, folder, settings.max_upload_bytes)
        source = _name(file)
        if path.suffix == ".zip":
            check_archive(path, source, max_entries=settings.max_archive_entries,
                          max_bytes=settings.max_archive_bytes)
        def run() -> tuple[dict[str, Any], int]:
            # off the event loop: an import takes seconds to minutes
            action = f"import.{kind}" if kind != "rules" else "rules.import"
            with operation(db, caller(who), action, district=district, subject=source,
                           dry_run=dry_run,
                           waiting=Waiting(seconds=settings.import_wait_s)) as op:
                try:
                    body, status = _run(db, kind, path, district, crs, encoding, dry_run,
                                        retire_missing)
                except CitygridError as exc:
                    exc.message = _unfold(exc.message, folder)
                    raise
                body = _unfold(body, folder)
                body["source"] = source
                op.detail = body
                if status != 200:
                    op.refuse()
            return body, status

        body, status = await run_in_threadpool(run)
        return JSONResponse(body if status == 200 else {"error": {
            "code": "qa_failed", "message": "文件有错误级质量检查问题，未导入任何数据 "
                                           "(the file has error-level QA findings; nothing "
                                           "was imported)",
            "detail": body}}, status_code=status)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _unfold(value: Any, folder: Path) -> Any:
    """`value` with the server's temporary folder taken out of every text: the sender's file
    is named as they named it."""
    if isinstance(value, str):
        return value.replace(f"{folder}/", "").replace(str(folder), "")
    if isinstance(value, dict):
        return {k: _unfold(v, folder) for k, v in value.items()}
    if isinstance(value, list):
        return [_unfold(v, folder) for v in value]
    return value


def _run(db: Any, kind: str, path: Path, district: str, crs: str | None,
         encoding: str | None, dry_run: bool, retire_missing: bool) -> tuple[dict[str, Any], int]:
    if kind == "grids":
        from grid.importer import GridImportOptions, import_grids

        report, qa = import_grids(db, path, district, GridImportOptions(
            crs=crs, encoding=encoding, dry_run=dry_run))
        return {**report.to_dict(), "qa": qa.to_dict()}, 200 if report.status == "ok" else 422
    if kind == "components":
        from census.importer import ComponentImportOptions, import_components

        report = import_components(db, path, district, ComponentImportOptions(
            crs=crs, encoding=encoding, dry_run=dry_run, retire_missing=retire_missing))
        return report.to_dict(), 200
    if kind in ("streets", "communities"):
        from grid.hierarchy import import_boundaries

        level = "street" if kind == "streets" else "community"
        return import_boundaries(db, path, district, level, crs=crs, encoding=encoding,
                                 dry_run=dry_run).to_dict(), 200
    from lookup.rules import import_rules

    return import_rules(db, path, district, crs=crs, encoding=encoding,
                        dry_run=dry_run).to_dict(), 200
