"""Database access from the components' event loops.

Every component runs inside its own `asgiref.sync.ThreadSensitiveContext`, so the functions
wrapped here run on that component's single database thread and use its one connection.
"""

import functools

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connection


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
