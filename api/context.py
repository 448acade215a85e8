"""What a CLI command or the web app needs to reach the database: settings, one engine,
and the schema at the current revision."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

import migrations
from api.settings import Settings
from gis.db import app_url, as_user_of, ensure_postgis, make_engine, redact, resolve_url
from gis.errors import DatabaseUnavailable
from gis.replicas import ReadRouter, Standby


@dataclass
class Context:
    settings: Settings
    _engine: Engine | None = field(default=None, init=False)
    _app_engine: Engine | None = field(default=None, init=False)
    _reads: ReadRouter | None = field(default=None, init=False)

    @property
    def local(self) -> bool:
        return not self.settings.database_url

    def engine(self) -> Engine:
        """The engine, with PostGIS and the schema ready.

        citygrid's own cluster is brought up and migrated as needed (zero configuration); a
        server named by DATABASE_URL is migrated only by an explicit `citygrid db up`.
        """
        if self._engine is None:
            engine = make_engine(resolve_url(self.settings))
            if self.local:
                ensure_postgis(engine)
                if not migrations.at_head(engine):
                    migrations.upgrade(engine)
            elif not migrations.at_head(engine):
                raise DatabaseUnavailable("数据库结构不是最新版本，请运行 `citygrid db up` "
                                          "(the database schema is not at the current "
                                          "revision: run `citygrid db up`)")
            self._engine = engine
        return self._engine

    def app_engine(self) -> Engine:
        """The engine of HTTP requests: it connects as the application role, which row-level
        security binds to the districts of each request's token."""
        if self._app_engine is None:
            admin = self.engine()
            url = app_url(self.settings, admin.url.render_as_string(hide_password=False)
                          .replace("postgresql+psycopg://", "postgresql://"))
            self._app_engine = make_engine(url)
        return self._app_engine

    def reads(self) -> ReadRouter | None:
        """The standbys that serve reads (CITYGRID_READ_DATABASE_URL), None without any: then
        every read goes to the primary."""
        urls = self.settings.read_database_urls
        if urls and self._reads is None:
            primary_app = self.app_engine().url.render_as_string(hide_password=False) \
                .replace("postgresql+psycopg://", "postgresql://")
            self._reads = ReadRouter(self.engine, self.app_engine, [
                Standby(redact(url), make_engine(url), make_engine(as_user_of(url, primary_app)))
                for url in urls])
        return self._reads

    def read_engine(self, districts: list[str] | None = None) -> Engine:
        """An engine (as the owner) for reads that may be a little behind the primary: a
        standby when there is one, else the primary."""
        reads = self.reads()
        return self.engine() if reads is None else reads.owner_engine(districts or [])

    def dispose(self) -> None:
        """Close the engines' connections (a command is done)."""
        for engine in (self._engine, self._app_engine):
            if engine is not None:
                engine.dispose()
        if self._reads is not None:
            self._reads.dispose()
        self._engine = self._app_engine = self._reads = None

    def bring_up(self) -> tuple[str, str]:
        """`db up`: server running, PostGIS there, schema migrated. Returns (url, postgis)."""
        url = resolve_url(self.settings)
        engine = make_engine(url)
        version = ensure_postgis(engine)
        migrations.upgrade(engine)
        self._engine = engine
        return url, version
