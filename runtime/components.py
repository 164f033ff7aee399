"""The long-running components and the supervisor that keeps each one alive.

A component owns an asyncio loop, a Telegram Bot and, through `ThreadSensitiveContext`, one
database thread with one connection (DESIGN.md §1 explains why Django's default would give
all three components a single shared connection).
"""

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
import time

from asgiref.sync import ThreadSensitiveContext
from django.db import connection
from django.utils import timezone

from runtime.db import db
from runtime.logs import current_component, mask_token
from runtime.models import Heartbeat

logger = logging.getLogger(__name__)

FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 60.0
# A run that lasted this long was healthy: the next crash starts the backoff afresh.
HEALTHY_RUN_SECONDS = 60.0


class Component:
    """Base class: subclasses set `name` and implement `run()`, which returns once stopping."""

    name = ""
    # Errors no restart can cure (a token Telegram refuses): they stop the whole process.
    fatal_errors = ()

    def __init__(self):
        self.logger = logging.getLogger(f"rentwatch.{self.name}")
        self.started_at = timezone.now()
        self.restarts = 0
        self._stopping = threading.Event()
        self._loop = None
        self._stop_event = None
        self.fatal = ""  # why the process must stop, when a fatal error happened
        self.stop_all = self.request_stop  # run_components widens it to every component

    @property
    def stopping(self):
        return self._stopping.is_set()

    def request_stop(self):
        """Ask the component to finish its current unit of work and return; any thread."""
        self._stopping.set()
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop_event.set)

    async def wait(self, seconds):
        """Sleep up to `seconds`, waking at once when a stop is requested; True if stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), timeout=seconds)
        return self.stopping

    async def run(self):
        raise NotImplementedError

    async def beat(self, last_error=""):
        """Record that this component is alive."""
        await db(record_heartbeat)(self.name, self.started_at, self.restarts, last_error)

    def run_in_this_thread(self):
        """Run the component with its own loop until stopped; used as a thread's target."""
        asyncio.run(self.supervise())

    async def supervise(self):
        """Run `run()` until stopped, restarting it with exponential backoff when it crashes."""
        current_component.set(self.name)
        # The event before the loop: request_stop() from another thread reads the loop, then
        # sets the event, and must never find a loop without one.
        self._stop_event = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        if self.stopping:
            self._stop_event.set()

        # Every ORM call made under this context runs on one dedicated thread: one connection.
        async with ThreadSensitiveContext():
            await self._supervise_runs()
            await db(close_connection)()

    async def _supervise_runs(self):
        backoff = FIRST_BACKOFF_SECONDS
        while not self.stopping:
            started = time.monotonic()
            try:
                await self.run()
            except self.fatal_errors as error:
                # Some messages quote the token itself (PTB's InvalidToken does).
                self.fatal = mask_token(f"{self.name}: {error}")
                self.logger.error("%s cannot go on: %s", self.name, error)
                self.stop_all()
                break
            except Exception as error:
                self.restarts += 1
                self.logger.exception(
                    "%s crashed (restart %d in %.0f s)", self.name, self.restarts, backoff
                )
                await self._record_crash(error)
            if self.stopping:
                break

            if time.monotonic() - started > HEALTHY_RUN_SECONDS:
                backoff = FIRST_BACKOFF_SECONDS
            await self.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    async def _record_crash(self, error):
        # The database may be the reason for the crash; the log line above is what counts.
        try:
            await self.beat(last_error=f"{type(error).__name__}: {error}")
        except Exception:
            self.logger.warning("could not record the crash of %s", self.name)


def record_heartbeat(component, started_at, restarts, last_error=""):
    defaults = {
        "beat_at": timezone.now(),
        "started_at": started_at,
        "pid": os.getpid(),
        "hostname": socket.gethostname(),
        "restarts": restarts,
        "db_session": database_session_id(),
    }
    if last_error:
        defaults["last_error"] = last_error[:2000]
    Heartbeat.objects.update_or_create(component=component, defaults=defaults)


def close_connection():
    # Resolve the connection here, on the database thread: it is a per-thread object.
    connection.close()


def database_session_id():
    """The server-side id of this thread's connection: PostgreSQL's backend pid, else None."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def run_components(main, background=(), stop_timeout=8.0):
    """Run `main` in this (the main) thread and each of `background` in a thread of its own.

    SIGINT and SIGTERM ask every component to stop; this returns once all have stopped, or
    after `stop_timeout` seconds for a background component that does not. Returns the
    fatal errors that stopped it, if any.
    """
    everyone = [main, *background]
    threads = [
        threading.Thread(target=c.run_in_this_thread, name=c.name, daemon=True) for c in background
    ]

    def stop_everyone(signum=None):
        if signum is not None:
            logger.info(
                "received %s: stopping %s",
                signal.Signals(signum).name,
                ", ".join(c.name for c in everyone),
            )
        for component in everyone:
            component.request_stop()

    # A signal that arrives before the main loop is running must stop us just as well.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda signum, frame: stop_everyone(signum))
    for component in everyone:
        component.stop_all = stop_everyone
    logger.info("starting %s", ", ".join(c.name for c in everyone))
    for thread in threads:
        thread.start()

    async def main_with_signals():
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop_everyone, signum)
        await main.supervise()

    try:
        asyncio.run(main_with_signals())
    finally:
        stop_everyone()
        deadline = time.monotonic() + stop_timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                logger.warning("%s did not stop within %.0f s", thread.name, stop_timeout)
    return [component.fatal for component in everyone if component.fatal]
