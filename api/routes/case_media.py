"""Photos of a case: `POST /cases/{number}/media` (multipart, field `file`: JPEG, PNG or WebP,
up to 8 MB, 9 a case) and `GET /cases/{number}/media/{id}`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Path, UploadFile
from fastapi.responses import Response

from api.deps import CaseWriter, Db, Reader, caller
from api.operation import operation
from cases.media import MAX_BYTES, BadPhoto, add_photo, photo
from cases.workflow import Actor

router = APIRouter(tags=["cases"])


@router.post("/cases/{number}/media", status_code=201)
async def upload_photo(number: str, db: Db, who: CaseWriter,
                       file: Annotated[UploadFile, File(description="JPEG, PNG or WebP, up "
                                                                    "to 8 MB")]) -> dict[str, Any]:
    """Add a photo to a case (as the token's person)."""
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise BadPhoto(f"照片超过 {MAX_BYTES // 1024**2} MB 的上限 (the photo is larger than "
                       f"{MAX_BYTES // 1024**2} MB)")
    with operation(db, caller(who), "case.photo", subject=number, district=number[:6]) as op:
        added = add_photo(db, number, data, Actor(who.post or "", who.name, who.department))
        op.detail = {"photo": added["id"], "size": added["size"],
                     "content_type": added["content_type"]}
    return added


@router.get("/cases/{number}/media/{photo_id}", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}})
def read_photo(number: str, db: Db, who: Reader,
               photo_id: Annotated[int, Path(ge=1, le=1000)]) -> Response:
    """A photo of a case, as it was uploaded."""
    data, kind, digest = photo(db, number, photo_id)
    return Response(data, media_type=kind, headers={
        "ETag": f'"{digest}"', "Cache-Control": "private, max-age=86400",
        "X-Content-Type-Options": "nosniff"})
