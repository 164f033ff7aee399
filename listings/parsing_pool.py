"""Parsing pages in worker processes, away from the event loops of this one.

An adapter is pure-Python CPU work, tens of milliseconds a page. Run in a thread of the process
that also runs the bot, it holds the GIL while renters wait for replies; `parse_page` runs it
in a small pool of processes instead, and only the page and its ParseResult cross over.
"""

import asyncio
import gc
import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from django.conf import settings

# A fresh worker imports this module to find start_worker before Django is set up, so the
# adapters (whose package imports models) are imported inside the functions that use them.

logger = logging.getLogger(__name__)

DEFAULT_PROCESSES = 1
# Workers start from a fresh interpreter: a process forked from one that runs threads (the bot,
# the worker, httpx's pools) may inherit a lock some other thread held, and hang on it forever.
START_METHOD = "spawn"
# Parsing can wait a moment; a renter waiting for the bot's reply should not. On a small machine
# the workers take a core the bot's process may need, so they yield it.
WORKER_NICENESS = 10

_pool = None
_pool_lock = threading.Lock()  # the parser and admin previews may ask from different threads
_last_used = 0.0  # time.monotonic() of the last page handed to the pool


async def parse_page(adapter_name, page, selectors=None):
    """The adapter's ParseResult for a fetched page, parsed in a worker process.

    An AdapterError raised by the adapter is raised here too, with its message. With the
    setting PARSER_PROCESSES=0 the page is parsed in a thread of this process instead.
    """
    from listings.adapters.base import AdapterError

    processes = parser_processes()
    if processes == 0:
        return await asyncio.to_thread(parse_here, adapter_name, page, selectors)

    # A pool broken by a worker that died earlier (killed, out of memory) is replaced once;
    # a second death while parsing this very page is blamed on the page.
    for attempt in (1, 2):
        pool = get_pool(processes)
        try:
            return await asyncio.get_running_loop().run_in_executor(
                pool, parse_in_worker, adapter_name, page, selectors
            )
        except BrokenProcessPool:
            discard_pool(pool)
            logger.warning(
                "a parser process died (attempt %d) parsing %s with %s",
                attempt,
                page.url,
                adapter_name,
            )
    raise AdapterError(f"{adapter_name}: the parser process died while parsing this page")


def parser_processes():
    return getattr(settings, "PARSER_PROCESSES", DEFAULT_PROCESSES)


def parse_here(adapter_name, page, selectors=None):
    """Parse in the calling process, as the worker processes do."""
    from listings.adapters.base import adapter_for_source

    return adapter_for_source(adapter_name, selectors).parse(page)


def parse_in_worker(adapter_name, page, selectors=None):
    """What a worker process runs for one page."""
    from listings.adapters.base import AdapterError

    try:
        return parse_here(adapter_name, page, selectors)
    except AdapterError as error:
        raise crossable(error) from None
    finally:
        # A parsed page leaves its tree in reference cycles; freeing them now rather than when
        # the collector gets round to it keeps the worker some 20 MB smaller, and steady.
        gc.collect()


def crossable(error):
    """The error if it survives pickling as it is, else a plain AdapterError with its message.

    An exception travels as its class and its args; a subclass whose __init__ takes something
    else than its message (InvalidSelectors takes the list of problems) comes back garbled.
    """
    from listings.adapters.base import AdapterError

    try:
        copy = pickle.loads(pickle.dumps(error))
    except Exception:
        copy = None
    if type(copy) is type(error) and str(copy) == str(error):
        return error
    return AdapterError(str(error))


def get_pool(processes=None):
    """The process's one parser pool, started on first use."""
    global _pool, _last_used
    with _pool_lock:
        _last_used = time.monotonic()
        if _pool is None:
            processes = processes or parser_processes() or DEFAULT_PROCESSES
            _pool = ProcessPoolExecutor(
                max_workers=processes,
                mp_context=multiprocessing.get_context(START_METHOD),
                initializer=start_worker,
                initargs=(settings_module(),),
            )
            logger.info("started %d parser process(es)", processes)
        return _pool


def settings_module():
    # The environment, not settings.SETTINGS_MODULE: that reads None under override_settings.
    return os.environ.get("DJANGO_SETTINGS_MODULE") or settings.SETTINGS_MODULE


def discard_pool(pool):
    """Forget a broken pool, so that the next page starts a fresh one."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown_pool(wait=True):
    """Stop the worker processes, after the page being parsed when `wait`; the next
    parse_page starts a new pool."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=wait, cancel_futures=True)
        logger.info("parser processes stopped")


def retire_idle_pool(idle_seconds):
    """Stop the worker processes if no page reached them for `idle_seconds`; True if stopped.

    A worker holds Django and the adapters, some 80 MB: between a parser's bursts of work that
    memory is better given back, and the next page starts a worker again in a second.
    """
    if _pool is None or time.monotonic() - _last_used < idle_seconds:
        return False
    shutdown_pool()
    return True


def start_worker(settings_module):
    """Prepare a fresh worker process: Django set up, every adapter registered."""
    # Ctrl-C reaches the whole process group; the parent decides when its workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module

    import django

    django.setup()
    import listings.adapters  # noqa: F401  (registers them now rather than on the first page)
