"""citygrid's own PostgreSQL cluster, for when DATABASE_URL is unset.

The data directory, socket and log live under the settings' home (`.citygrid/` by default), the
server listens on 127.0.0.1 on a port of its own, and trust authentication is enough because
nothing but this machine can reach it. PostgreSQL refuses to run as root, so when we are root the
server runs as the `postgres` system user, which the Debian packages create.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from gis.errors import DatabaseUnavailable

SUPERUSER = "citygrid"
DATABASE = "citygrid"


def _server_bindir() -> Path:
    """The bin directory of the newest installed PostgreSQL server."""
    override = os.environ.get("CITYGRID_PG_BINDIR")
    if override:
        return Path(override)
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise DatabaseUnavailable(
        "没有安装 PostgreSQL 服务器（找不到 initdb）：请运行 `make setup`，"
        "或把 DATABASE_URL 设为一个 PostGIS 数据库 (no PostgreSQL server is installed: initdb not "
        "found)"
    )


def _reachable_by_postgres(path: Path) -> bool:
    """Whether the postgres system user can enter every folder down to `path`."""
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        return False
    for folder in [*reversed(path.parents), path]:
        if not folder.exists():
            break
        st = folder.stat()
        if st.st_uid == entry.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid == entry.pw_gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class LocalCluster:
    """A PostgreSQL cluster under `home`, started and stopped by citygrid."""

    def __init__(self, home: Path, preferred_port: int = 5433) -> None:
        self.home = home.absolute()
        self.port_file = self.home / "port"
        self.preferred_port = preferred_port
        self.bindir = _server_bindir()
        digest = hashlib.sha1(str(self.home).encode()).hexdigest()[:12]
        server_side = self._server_side_home(digest)
        self.data = server_side / "pgdata"
        self.log = server_side / "postgres.log"
        run = server_side / "run"
        # A unix socket path must fit in 107 bytes; deep checkouts get a socket dir in /tmp.
        if len(str(run)) > 80:
            run = Path(tempfile.gettempdir()) / f"citygrid-{digest}"
        self.run = run

    def _server_side_home(self, digest: str) -> Path:
        """Where the server's files go: `home`, unless we are root and the postgres user cannot
        reach it (a checkout under /root, say); then a folder of the postgres user's own."""
        if os.geteuid() != 0 or _reachable_by_postgres(self.home):
            return self.home
        try:
            postgres_home = Path(pwd.getpwnam("postgres").pw_dir)
        except KeyError:
            return self.home
        return postgres_home / "citygrid" / digest

    # -- state -------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        try:
            return int(self.port_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return self.preferred_port

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def initialised(self) -> bool:
        return (self.data / "PG_VERSION").exists()

    def running(self) -> bool:
        if not self.initialised():
            return False
        result = self._pg("pg_ctl", "status", "-D", str(self.data), check=False)
        return result.returncode == 0

    # -- actions -----------------------------------------------------------------------------

    def up(self) -> str:
        """Create (once) and start the cluster; return the URL of the citygrid database."""
        self.home.mkdir(parents=True, exist_ok=True)
        with self._lock():
            if not self.initialised():
                # said once, on stderr: a command run from another folder gets a database of
                # its own there (CITYGRID_HOME), empty, which would otherwise surprise
                print(f"citygrid: 在 {self.home} 新建本地数据库（CITYGRID_HOME；换个文件夹运行会用"
                      f"另一个数据库） (creating a local database in {self.home})",
                      file=sys.stderr)
                self._initdb()
            if not self.running():
                self._start()
            self._create_database()
        return self.url()

    def down(self) -> bool:
        """Stop the cluster; False when it was not running."""
        with self._lock():
            if not self.running():
                return False
            self._pg("pg_ctl", "stop", "-D", str(self.data), "-m", "fast", "-w")
            return True

    def make_standby(self, primary: LocalCluster) -> str:
        """Make this cluster (once) a streaming standby of `primary` (`pg_basebackup -R`: a
        copy of its data that goes on replaying its write-ahead log, read-only), start it, and
        return the URL of its citygrid database."""
        if self.data == primary.data:
            raise DatabaseUnavailable(f"备库不能建在主库的文件夹 {self.home} 里，请另选一个文件夹 "
                                      f"(the standby cannot live in the primary's folder "
                                      f"{self.home})")
        if self.initialised() and not (self.data / "standby.signal").exists():
            raise DatabaseUnavailable(f"{self.home} 里已有一个不是备库的数据库，请另选一个文件夹 "
                                      f"({self.home} holds a database that is not a standby)")
        self.home.mkdir(parents=True, exist_ok=True)
        with self._lock():
            if not self.initialised():
                self._basebackup(primary)
            if not self.running():
                self._start()
        return self.url()

    def _basebackup(self, primary: LocalCluster) -> None:
        server_side = self.data.parent
        server_side.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            server_side.chmod(server_side.stat().st_mode | 0o755)
        if self.data.exists():
            shutil.rmtree(self.data)
        self.data.mkdir(mode=0o700)
        self._own(self.data)
        self._pg("pg_basebackup", "-D", str(self.data), "-R", "-X", "stream", "-c", "fast",
                 "-h", "127.0.0.1", "-p", str(primary.port), "-U", SUPERUSER)
        with open(self.data / "postgresql.conf", "a") as conf:
            # the primary's settings came with the copy: the socket must be this cluster's own
            conf.write(f"\n# citygrid standby of {primary.home}\n"
                       f"unix_socket_directories = '{self.run}'\nhot_standby = on\n")

    # -- internals ---------------------------------------------------------------------------

    @contextmanager
    def _lock(self) -> Iterator[None]:
        with open(self.home / "lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _as_server_user(self) -> list[str]:
        if os.geteuid() != 0:
            return []
        try:
            pwd.getpwnam("postgres")
        except KeyError as exc:
            raise DatabaseUnavailable(
                "以 root 运行，但没有用来运行服务器的 `postgres` 用户："
                "请安装 postgresql 软件包或设置 DATABASE_URL (running as root, but there is no "
                "`postgres` user)"
            ) from exc
        return ["runuser", "-u", "postgres", "--"]

    def _own(self, *paths: Path) -> None:
        if os.geteuid() == 0:
            for path in paths:
                shutil.chown(path, "postgres", "postgres")

    def _pg(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [*self._as_server_user(), str(self.bindir / tool), *args]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, cwd="/")
        except FileNotFoundError as exc:
            raise DatabaseUnavailable(f"无法运行 {exc.filename}：请安装 PostgreSQL（make setup）或"
                                      f"设置 DATABASE_URL (cannot run {exc.filename})") from exc
        if check and result.returncode != 0:
            lines = (result.stderr or result.stdout).strip().splitlines()
            last = lines[-1] if lines else f"exit status {result.returncode}"
            raise DatabaseUnavailable(f"{tool} 运行失败，日志见 {self.log} "
                                      f"({tool} failed: {last})")
        return result

    def _initdb(self) -> None:
        server_side = self.data.parent
        server_side.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            server_side.chmod(server_side.stat().st_mode | 0o755)
            if not _reachable_by_postgres(server_side):
                raise DatabaseUnavailable(
                    f"postgres 用户进不了 {server_side}"
                    "（以 root 运行时服务器以 postgres 身份运行）：请给上级文件夹加上 chmod o+x，"
                    "或把 CITYGRID_HOME 设到别处 "
                    f"(the postgres user cannot reach {server_side})")
        if self.data.exists():
            shutil.rmtree(self.data)  # a half-made data directory from an interrupted initdb
        self.data.mkdir(mode=0o700)
        self._own(self.data)
        self._pg("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust",
                 "-E", "UTF8", "--locale=C")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.run}'",
            # Bulk imports write a lot at once; fewer forced checkpoints make them steadier.
            "max_wal_size": "'4GB'",
            "shared_buffers": "'256MB'",
            "work_mem": "'32MB'",
            "maintenance_work_mem": "'256MB'",
        }
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n# citygrid\n")
            conf.writelines(f"{k} = {v}\n" for k, v in settings.items())

    def _start(self) -> None:
        port = self.port
        if not _port_is_free(port):
            port = next((p for p in range(self.preferred_port, self.preferred_port + 100)
                         if _port_is_free(p)), 0)
            if not port:
                ports = f"{self.preferred_port}..{self.preferred_port + 99}"
                raise DatabaseUnavailable(f"端口 {ports} 都被占用 (no free TCP port in {ports})")
        self.run.mkdir(parents=True, exist_ok=True)
        if not self.log.exists():
            self.log.touch()
        self._own(self.run, self.log)
        self._pg("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                 "-o", f"-p {port}")
        self.port_file.write_text(f"{port}\n")

    def _create_database(self) -> None:
        import psycopg

        try:
            with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                      (DATABASE,)).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{DATABASE}"')
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailable(
                f"无法连接端口 {self.port} 上的本地数据库 (cannot connect to the local cluster "
                f"on port {self.port}: {str(exc).strip().splitlines()[0]})") from exc
