"""A throwaway PostgreSQL cluster on 127.0.0.1, for the scenarios that restart the database.

The machine's shared server on port 5432 runs other people's tests: it is never restarted.
This one lives in a temporary folder owned by the postgres user, on a free port, and is
removed at the end.
"""

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

BIN = Path("/usr/lib/postgresql/15/bin")
OWNER = "postgres"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Cluster:
    """initdb, start, restart, stop and remove a cluster of our own."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="rentwatch-faults-pg-"))
        owner = pwd.getpwnam(OWNER)
        os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self.data = self.folder / "data"
        self.port = free_port()
        self.restarts = []  # seconds each restart took

    def __enter__(self):
        self._as_owner(BIN / "initdb", "-D", self.data, "-A", "trust", "-U", OWNER, "-E", "UTF8")
        self._pg_ctl("start")
        return self

    def __exit__(self, *exc_info):
        self.remove()

    def restart(self):
        """Restart the server the way an operator or a failover does: sessions are cut."""
        started = time.monotonic()
        self._pg_ctl("restart", "-m", "fast")
        self.restarts.append(time.monotonic() - started)

    def remove(self):
        with contextlib.suppress(subprocess.CalledProcessError):
            self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database):
        return f"postgres://{OWNER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name, template="template1"):
        """A new database, a copy of `template`; returns its URL and a function dropping it."""
        with self._connect() as admin:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')

        def drop():
            with self._connect() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        return self.url(name), drop

    def _connect(self):
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user=OWNER, dbname="postgres", autocommit=True
        )

    def _pg_ctl(self, action, *args):
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        log = self.folder / "postgres.log"
        pg_ctl = [BIN / "pg_ctl", "-D", self.data, "-l", log, "-o", options, "-w"]
        self._as_owner(*pg_ctl, action, *args)

    def _as_owner(self, *command):
        subprocess.run(
            ["runuser", "-u", OWNER, "--", *map(str, command)],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
