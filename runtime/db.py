"""Database access from the components' event loops.

Every component runs inside its own `asgiref.sync.ThreadSensitiveContext`, so the functions
wrapped here run on that component's single database thread and use its one connection.
"""

import asyncio
import functools
import logging

from asgiref.sync import sync_to_async
from django.db import InterfaceError, OperationalError, close_old_connections, connection

logger = logging.getLogger(__name__)

# A write that records what already happened outside (Telegram confirmed a message, a source
# was fetched) waits this long for a restarting database before it gives up.
RECORDING_DEADLINE_SECONDS = 120
FIRST_RECORDING_RETRY_SECONDS = 0.5


def unit_of_work(func):
    """Wrap a synchronous function so that it refreshes the thread's connection around it.

    A component lives for weeks; its connection may die under it (a database restart, an idle
    timeout). Django drops a broken or expired connection only in close_old_connections().
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        refresh_connection()
        try:
            return func(*args, **kwargs)
        finally:
            refresh_connection()

    return wrapper


def refresh_connection():
    # Never inside a transaction (a caller's, or a test's): closing would abort it.
    if not connection.in_atomic_block:
        close_old_connections()


def db(func):
    """Make a synchronous ORM function awaitable on the component's database thread."""
    return sync_to_async(unit_of_work(func), thread_sensitive=True)


async def recorded(func, *args, **kwargs):
    """Run a write on the database thread, waiting out a database that is restarting: a fact
    that was not recorded (a message Telegram confirmed) would be acted on again."""
    delay, waited = FIRST_RECORDING_RETRY_SECONDS, 0.0
    while True:
        try:
            return await db(func)(*args, **kwargs)
        except (OperationalError, InterfaceError) as error:
            if waited >= RECORDING_DEADLINE_SECONDS:
                raise
            logger.warning("database unavailable (%s); recording again in %.1f s", error, delay)
            await asyncio.sleep(delay)
            waited += delay
            delay = min(delay * 2, 10.0)
