"""A private PostgreSQL server for the tests (``pytest --database=postgresql``): a throwaway
cluster in a temporary folder, listening on 127.0.0.1 on a free port, with a fresh database
for every library a test makes; stopped and removed when the session ends."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def _binary(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed: apt-get install postgresql")
    return found


class PostgresServer:
    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="recall-pg-"))
        self._numbers = itertools.count()
        # PostgreSQL refuses to run as root: as root, the cluster belongs to "postgres".
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        data = self.folder / "data"
        subprocess.run(
            [*self._as, _binary("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "--no-sync", "-E", "UTF8", "--locale=C"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        # Durability is not what the tests are about: no fsync, so databases are made fast.
        self._server = subprocess.Popen(
            [*self._as, _binary("postgres"), "-D", str(data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
             "-c", "max_connections=300"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while not self._ready():
            if self._server.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the test PostgreSQL server did not start")
            time.sleep(0.2)

    def _ready(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self._url("postgres", "postgresql"), connect_timeout=2).close()
        except psycopg.OperationalError:
            return False
        return True

    def _url(self, database: str, scheme: str = "postgresql+psycopg") -> str:
        return f"{scheme}://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A SQLAlchemy URL of a new, empty database."""
        import psycopg

        name = f"recall_{next(self._numbers)}"
        with psycopg.connect(self._url("postgres", "postgresql"), autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self._url(name)

    def stop(self) -> None:
        self._server.terminate()
        try:
            self._server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._server.kill()
        shutil.rmtree(self.folder, ignore_errors=True)
