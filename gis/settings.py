"""Settings of the database a citygrid process uses, read from the environment (and passed
explicitly, never global). The settings of the other concerns live beside what they configure
(`lookup.settings`, `api.settings`); `api.settings.Settings` is all of them together.

`DATABASE_URL` unset means: run our own PostgreSQL cluster under `home` (zero configuration).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENVIRONMENT = SettingsConfigDict(env_prefix="CITYGRID_", extra="ignore")


class DatabaseSettings(BaseSettings):
    model_config = ENVIRONMENT

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "CITYGRID_DATABASE_URL")
    )
    # The HTTP API connects as a role that row-level security binds (citygrid_app); by default
    # the same server and database as DATABASE_URL, as that role, without a password.
    app_database_url: str | None = None
    # PostgreSQL standbys for reads (comma separated libpq URLs, as DATABASE_URL): tiles, OGC API
    # reads, case lists, statistics and the loading of the lookup index go there (gis.replicas);
    # unset: every read goes to DATABASE_URL.
    read_database_url: str | None = None
    # Where the local cluster and other run-time state live.
    home: Path = Path(".citygrid")
    # Preferred TCP port of the local cluster (the next free one is taken when it is busy).
    pg_port: int = 5433

    @field_validator("read_database_url")
    @classmethod
    def _standbys(cls, value: str | None) -> str | None:
        for url in (u.strip() for u in (value or "").split(",")):
            if url and url.partition("://")[0] not in {"postgresql", "postgres"}:
                shown = url.split("@")[-1]          # never a password in a message
                raise ValueError(f"备库地址 {shown!r} 不是 postgresql:// 地址，多个以逗号分隔 "
                                 f"(standby {shown!r} is not a postgresql:// URL)")
        return value

    @property
    def read_database_urls(self) -> list[str]:
        """The standbys named in read_database_url (none: reads go to the primary)."""
        return [u.strip() for u in (self.read_database_url or "").split(",") if u.strip()]
