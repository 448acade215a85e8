"""Settings of a citygrid process, read from the environment (and passed explicitly, never global).

`DATABASE_URL` unset means: run our own PostgreSQL cluster under `home` (zero configuration).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYGRID_", extra="ignore")

    @property
    def open_lookup_districts(self) -> frozenset[str]:
        """The districts named in lookup_open_districts."""
        return frozenset(c.strip() for c in self.lookup_open_districts.split(",") if c.strip())

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CITYGRID_DATABASE_URL")
    )
    # The HTTP API connects as a role that row-level security binds (citygrid_app); by default
    # the same server and database as DATABASE_URL, as that role, without a password.
    app_database_url: str | None = None
    # Where the local cluster and other run-time state live.
    home: Path = Path(".citygrid")
    # Preferred TCP port of the local cluster (the next free one is taken when it is busy).
    pg_port: int = 5433
    host: str = "127.0.0.1"
    port: int = 8000
    # Lookups: default search radius for a component class (the 权责清单 may set one per class),
    # how close to another grid a point names it too, and how close two components' distances
    # must be for both to be named.
    lookup_radius_m: float = 30.0
    lookup_edge_tolerance_m: float = 1.0
    lookup_ambiguity_m: float = 1.0
    max_bulk_points: int = 100_000
    # Access: lookups need a token unless the deployment opens anonymous lookups, either for
    # named districts (comma separated codes: their grids, streets and responsible party, never
    # a component's owner or maintainer) or, with lookup_requires_token false, everywhere; and
    # how many lookups a token (or an anonymous client address) may make a minute.
    lookup_requires_token: bool = True
    lookup_open_districts: str = ""
    lookup_rate_per_minute: int = 6000
    # Uploads over HTTP (POST /imports/{kind}): the file, and what an archive may expand to.
    max_upload_bytes: int = 512 * 1024**2
    max_archive_entries: int = 1000
    max_archive_bytes: int = 2 * 1024**3
    # The map: an optional XYZ base map (e.g. 天地图 with a key:
    # https://t0.tianditu.gov.cn/vec_w/wmts?...&tk=KEY); none by default, the layers stand alone.
    base_map_url: str | None = None
    base_map_attribution: str = ""
    # Vector tiles rendered by PostGIS are kept in memory, up to this many MB (0: none), and
    # for at most this long; an import drops its district's tiles at once.
    tile_cache_mb: int = 256
    tile_cache_max_age_s: float = 600.0
    # Where npm put the front-end libraries (make setup runs npm ci).
    vendor_dir: Path = Path(__file__).resolve().parent.parent / "node_modules"
