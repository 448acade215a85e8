"""Settings of the HTTP side — the server, uploads, vector tiles and the map — and `Settings`,
everything a citygrid process reads from its environment (CITYGRID_… variables and
DATABASE_URL), built by the adapters and passed down, never global."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings

from gis.settings import ENVIRONMENT, DatabaseSettings
from lookup.settings import LookupSettings


class ServerSettings(BaseSettings):
    model_config = ENVIRONMENT

    host: str = "127.0.0.1"
    port: int = 8000


class UploadSettings(BaseSettings):
    """Uploads over HTTP (POST /imports/{kind}): the file, what an archive may expand to, and
    how long an upload waits for another import of its district to finish before it answers
    409 district_busy."""

    model_config = ENVIRONMENT

    max_upload_bytes: int = 512 * 1024**2
    max_archive_entries: int = 1000
    max_archive_bytes: int = 2 * 1024**3
    import_wait_s: float = 10.0


class TileSettings(BaseSettings):
    """Vector tiles rendered by PostGIS are kept in memory, up to this many MB (0: none), and
    for at most this long; an import drops its district's tiles at once, and the district's
    tiles of the pre-render zooms (`14-16`, `15`, `14,16`; empty: none) are rendered again in
    the background (api/prerender.py)."""

    model_config = ENVIRONMENT

    tile_cache_mb: int = 256
    tile_cache_max_age_s: float = 600.0
    tile_prerender_zooms: str = "14-16"

    @field_validator("tile_prerender_zooms")
    @classmethod
    def _zooms(cls, value: str) -> str:
        parse_zooms(value)
        return value

    @property
    def prerender_zooms(self) -> tuple[int, ...]:
        return parse_zooms(self.tile_prerender_zooms)


def parse_zooms(text: str) -> tuple[int, ...]:
    """`14-16`, `15` or `14,16` (empty: none) as the zooms it names, each within 0..22."""
    zooms: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        low, _, high = part.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise ValueError(f"预渲染缩放级别 {text!r} 无法识别，应如 14-16 或 14,15 "
                             f"(tile pre-render zooms {text!r}: expected e.g. 14-16)") from None
        if not 0 <= first <= last <= 22:
            raise ValueError(f"预渲染缩放级别 {part!r} 超出 0–22 "
                             f"(tile pre-render zooms {part!r} are outside 0..22)")
        zooms.update(range(first, last + 1))
    return tuple(sorted(zooms))


class MapSettings(BaseSettings):
    """The map page: an optional XYZ base map (e.g. 天地图 with a key:
    https://t0.tianditu.gov.cn/vec_w/wmts?...&tk=KEY; none by default, the layers stand alone),
    and where npm put the front-end libraries (make setup runs npm ci)."""

    model_config = ENVIRONMENT

    base_map_url: str | None = None
    base_map_attribution: str = ""
    vendor_dir: Path = Path(__file__).resolve().parent.parent / "node_modules"


class Open311Settings(BaseSettings):
    """What Open311's discovery document (/open311/v2/discovery.json) tells a client: whom to
    ask about the service, and how to get an api_key (a citygrid token)."""

    model_config = ENVIRONMENT

    open311_contact: str = ("本市数字化城市管理监督指挥中心 "
                            "(the city's digital urban management centre)")
    open311_key_service: str = (
        "api_key 即 citygrid 令牌，请向监督指挥中心申请；管理员以 citygrid token create --role "
        "public_intake --district 区县代码 签发 (an api_key is a citygrid token, issued by the "
        "centre's administrator)")


class Settings(DatabaseSettings, LookupSettings, ServerSettings, UploadSettings, TileSettings,
               MapSettings, Open311Settings):
    """Everything a citygrid process reads from its environment."""

    model_config = ENVIRONMENT
