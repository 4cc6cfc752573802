"""A real PostgreSQL server for the tests, from Debian's postgresql package: `initdb` and
`pg_ctl` into a temporary folder, listening on a free loopback port, run as the `postgres`
user when the tests run as root (PostgreSQL refuses to run as root), stopped at the end.

When no server can be started the PostgreSQL tests fail under ``CI=true`` (CI must run
them: `make test` installs the package) and are skipped with the reason otherwise.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version)
    return found[-1] if found else shutil.which(name)


def _version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NoServer(Exception):
    """Why the tests cannot have a PostgreSQL server here."""


@dataclass
class PgServer:
    """One running server; ``url`` reaches its ``postgres`` database as ``meterwise``."""

    folder: Path
    port: int
    pg_ctl: str
    user: str | None  # run as this OS user (root cannot run PostgreSQL)
    fsync: bool = False  # the tests need no durability across a power cut; benchmarks do

    @property
    def url(self) -> str:
        return f"postgresql://meterwise@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        return f"postgresql://meterwise@127.0.0.1:{self.port}/{name}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def pg_ctl_run(self, action: str) -> None:
        """start, stop or restart the server (waiting until done)."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder / 'sock'} "
            f"-c fsync={'on' if self.fsync else 'off'} -c synchronous_commit=on "
            "-c max_connections=200"
        )
        args = [self.pg_ctl, "-D", str(self.folder / "data"), "-w", "-t", "60"]
        if action != "stop":
            args += ["-o", options, "-l", str(self.folder / "server.log")]
        else:
            args += ["-m", "fast"]
        self._run(*args, action)

    def kill(self) -> None:
        """Stop the server abruptly (immediate shutdown: no checkpoint, like a crash)."""
        self._run(self.pg_ctl, "-D", str(self.folder / "data"), "-m", "immediate", "stop")

    def create_database(self, name: str) -> str:
        """A fresh database; its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.database_url(name)


def start_server(fsync: bool = False) -> PgServer:
    """Initialize and start a server in a new temporary folder (raises `NoServer`).
    ``fsync`` on makes every COMMIT durable, as in production (the benchmarks use it)."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        raise NoServer("no initdb/pg_ctl (make postgres installs Debian's postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="meterwise-pg-"))
    (folder / "sock").mkdir()
    user = None
    if os.geteuid() == 0:
        try:
            entry = pwd.getpwnam("postgres")
        except KeyError:
            raise NoServer("running as root and there is no postgres user") from None
        user = "postgres"
        for path in (folder, folder / "sock"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    server = PgServer(folder, _free_port(), pg_ctl, user, fsync)
    try:
        server._run(
            initdb,
            "-D",
            str(folder / "data"),
            "-U",
            "meterwise",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        server.pg_ctl_run("start")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        log = folder / "server.log"
        if log.exists():
            detail += "\n" + log.read_text()[-2000:]
        shutil.rmtree(folder, ignore_errors=True)
        raise NoServer(f"PostgreSQL did not start: {detail.strip()}") from None
    return server


def stop_server(server: PgServer) -> None:
    """Stop the server and remove its folder."""
    try:
        server.pg_ctl_run("stop")
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        pass
    shutil.rmtree(server.folder, ignore_errors=True)
