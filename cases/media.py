"""Photos of a case (现场照片): stored with the case, limited in size, number and type, and told
apart by their bytes, never by what the sender says they are."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cases.tables import case_media
from cases.workflow import Actor, load_case
from gis.errors import BadInput, NotFound

MAX_BYTES = 8 * 1024**2
MAX_PER_CASE = 9
TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP"}


class BadPhoto(BadInput):
    code = "bad_photo"


def sniff(data: bytes) -> str | None:
    """The image type of these bytes (JPEG, PNG or WebP), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def add_photo(session: Session, number: str, data: bytes, actor: Actor) -> dict[str, Any]:
    """Keep a photo with the case (the caller commits); its id and what it is."""
    case = load_case(session, number, lock=True)
    if not data:
        raise BadPhoto("照片为空 (the photo is empty)")
    if len(data) > MAX_BYTES:
        raise BadPhoto(f"照片 {len(data) / 1024**2:.1f} MB，超过 {MAX_BYTES // 1024**2} MB 的上限 "
                       f"(the photo is larger than {MAX_BYTES // 1024**2} MB)")
    kind = sniff(data)
    if kind is None:
        raise BadPhoto("只接受 JPEG、PNG 或 WebP 照片 (only JPEG, PNG or WebP photos)")
    count = session.execute(sa.select(sa.func.count()).select_from(case_media).where(
        case_media.c.district_code == case.district_code,
        case_media.c.number == number)).scalar_one()
    if count >= MAX_PER_CASE:
        raise BadPhoto(f"每个案件最多 {MAX_PER_CASE} 张照片 (at most {MAX_PER_CASE} photos a case)")
    row = {"district_code": case.district_code, "number": number, "id": count + 1,
           "content_type": kind, "size": len(data),
           "sha256": hashlib.sha256(data).hexdigest(), "data": data, "post": actor.post,
           "person": actor.person}
    session.execute(sa.insert(case_media).values(**row))
    return _public(row)


def photos(session: Session, district: str, number: str) -> list[dict[str, Any]]:
    rows = session.execute(sa.select(
        case_media.c.id, case_media.c.number, case_media.c.content_type, case_media.c.size,
        case_media.c.sha256, case_media.c.post, case_media.c.person, case_media.c.at)
        .where(case_media.c.district_code == district, case_media.c.number == number)
        .order_by(case_media.c.id)).mappings()
    return [_public(dict(r)) for r in rows]


def photo(session: Session, number: str, photo_id: int) -> tuple[bytes, str, str]:
    """(bytes, content type, sha256) of one photo."""
    row = session.execute(sa.select(case_media.c.data, case_media.c.content_type,
                                    case_media.c.sha256).where(
        case_media.c.district_code == number[:6], case_media.c.number == number,
        case_media.c.id == photo_id)).first()
    if row is None:
        raise NotFound(f"案件 {number} 没有第 {photo_id} 张照片 (no photo {photo_id} of case "
                       f"{number})")
    return bytes(row.data), row.content_type, row.sha256


def _public(row: dict[str, Any]) -> dict[str, Any]:
    at = row.get("at")
    return {"id": row["id"], "url": f"/cases/{row['number']}/media/{row['id']}",
            "content_type": row["content_type"], "size": row["size"],
            "post": row["post"], "person": row["person"],
            "at": at.isoformat() if at is not None else None}
