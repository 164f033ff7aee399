"""Running Rentwatch's management commands as subprocesses, on a database of their own.

End-to-end tests start `manage.py runall` exactly as an operator would; the subprocess cannot
see the test database's uncommitted transactions, so it gets a fresh database: a file for
SQLite, a new database on the same server for PostgreSQL.
"""

import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from django.conf import settings

from tests.pages import PROJECT_DIR

MANAGE = [sys.executable, str(PROJECT_DIR / "manage.py")]
# The run* commands refuse to start without a secret key; the test run makes up its own.
SECRET_KEY = secrets.token_urlsafe(50)


def fresh_database_url(tmp_path: Path):
    """A URL to an empty database, and a function that drops it afterwards."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != "django.db.backends.postgresql":
        return f"sqlite:///{tmp_path / 'e2e.sqlite3'}", lambda: None

    name = f"rentwatch_e2e_{uuid.uuid4().hex[:12]}"
    server = {
        "host": database["HOST"] or "127.0.0.1",
        "port": database["PORT"] or 5432,
        "user": database["USER"],
        "password": database["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def drop():
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    password = f":{server['password']}" if server["password"] else ""
    url = f"postgres://{server['user']}{password}@{server['host']}:{server['port']}/{name}"
    return url, drop


def command_env(**overrides):
    """The environment for a subprocess: this one's, minus anything that would leave loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env |= {"PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.setdefault("SECRET_KEY", SECRET_KEY)
    return env | {key: str(value) for key, value in overrides.items()}


def manage(env, *args, timeout=120):
    """Run a management command to completion; returns its CompletedProcess, checked."""
    result = subprocess.run(
        [*MANAGE, *args],
        env=env,
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"manage.py {' '.join(args)} failed:\n{result.stderr}"
    return result


class Runall:
    """`manage.py runall` in a subprocess, its output captured to a file."""

    def __init__(self, env, log_path: Path, command="runall"):
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [*MANAGE, command],
            env=env,
            cwd=PROJECT_DIR,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def output(self):
        return self.log_path.read_text()

    def terminate(self, timeout=15.0):
        """Send SIGTERM and wait; returns (exit code, seconds it took to exit)."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        finally:
            self.stop()
        return code, time.monotonic() - started

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()
