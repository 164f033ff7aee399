"""One rate limiter per bot token and process, shared by the three components' Bots.

Telegram counts messages per token: about 30 a second overall, one a second per chat and 20 a
minute per group. Each component has its own Bot on its own event loop, so a limiter per Bot
would let the three together exceed the limits. This one keeps its buckets under a
`threading.Lock` and only ever sleeps on the caller's own loop, so it is safe across threads
and loops. A flood-control answer (429) pauses every sender of the token for as long as
Telegram asked.
"""

import asyncio
import logging
import math
import threading
import time
from datetime import timedelta

from django.conf import settings
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

# Calls that post a message in a chat; edits, answers and getUpdates are not limited here.
LIMITED_PREFIXES = ("send", "copy", "forward")
GROUP_WINDOW_SECONDS = 60.0
# Tries again of a reply in the chat that failed for a passing reason, and that Telegram's
# flood control refused: it only ever asks to wait, but a bound keeps a broken server from
# holding a handler for ever.
INTERACTIVE_RETRIES = 2
FLOOD_RETRIES = 10


class SharedRateLimiter(BaseRateLimiter):
    """Each second is cut into `overall_per_second` slots, one message each. A message takes
    the first free slot at or after the time its chat may hear from us again, so a chat with
    many queued messages never holds back the others."""

    def __init__(self, overall_per_second, chat_interval, group_per_minute):
        self.slot_seconds = 1.0 / overall_per_second
        self.chat_interval = chat_interval
        self.group_per_minute = group_per_minute
        self._lock = threading.Lock()
        self._taken_slots = set()
        self._next_in_chat = {}
        self._group_sends = {}
        self._paused_until = 0.0

    async def initialize(self):
        pass

    async def shutdown(self):
        pass

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        """Wait for a slot, then make the call.

        Flood control pauses every sender. A call the bot makes for itself (a reply in the
        chat, getMe at start-up; no `rate_limit_args`) is tried again here: after flood
        control, as often as Telegram asks within FLOOD_RETRIES; after a network error or a
        5xx, INTERACTIVE_RETRIES times. The outbox passes `{"retry": False}` because it retries
        on its own terms.
        """
        retry = (rate_limit_args or {}).get("retry", True)
        floods_left = FLOOD_RETRIES if retry else 0
        failures_left = INTERACTIVE_RETRIES if retry else 0
        flooded = False
        while True:
            if endpoint.startswith(LIMITED_PREFIXES):
                await asyncio.sleep(self.reserve(data.get("chat_id")))
            elif flooded:
                # Not a message, so not spaced out; but refused by flood control, it waits too.
                await asyncio.sleep(self.seconds_paused())
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                self.pause(error.retry_after)
                if not floods_left:
                    raise
                floods_left, flooded = floods_left - 1, True
            except (TimedOut, NetworkError) as error:
                # A 5xx or a dropped connection; Telegram may not have the request at all.
                if not failures_left or isinstance(error, BadRequest):
                    raise
                await asyncio.sleep(2 ** (INTERACTIVE_RETRIES - failures_left))
                failures_left -= 1

    def reserve(self, chat_id):
        """Take the next free slot for a message to `chat_id`; returns seconds to wait for it."""
        with self._lock:
            now = time.monotonic()
            earliest = max(now, self._paused_until)
            if chat_id is not None:
                earliest = max(earliest, self._next_in_chat.get(chat_id, 0.0))
                if is_group(chat_id):
                    earliest = self._group_slot(chat_id, earliest)
            start = self._take_slot(earliest)
            if chat_id is not None:
                self._next_in_chat[chat_id] = start + self.chat_interval
                if is_group(chat_id):
                    self._group_sends.setdefault(chat_id, []).append(start)
            self._forget_the_past(now)
            return start - now

    def _take_slot(self, earliest):
        slot = math.ceil(earliest / self.slot_seconds - 1e-9)
        while slot in self._taken_slots:
            slot += 1
        self._taken_slots.add(slot)
        return max(earliest, slot * self.slot_seconds)

    def _group_slot(self, chat_id, start):
        """The earliest time at or after `start` that keeps the group under its minute limit."""
        sends = [t for t in self._group_sends.get(chat_id, []) if t > start - GROUP_WINDOW_SECONDS]
        self._group_sends[chat_id] = sends
        if len(sends) >= self.group_per_minute:
            start = max(start, sends[-self.group_per_minute] + GROUP_WINDOW_SECONDS)
        return start

    def _forget_the_past(self, now):
        oldest_useful = math.floor((now - 1.0) / self.slot_seconds)
        if len(self._taken_slots) > 1000:
            self._taken_slots = {s for s in self._taken_slots if s >= oldest_useful}
        if len(self._next_in_chat) > 10_000:
            self._next_in_chat = {c: t for c, t in self._next_in_chat.items() if t > now}

    def seconds_paused(self):
        with self._lock:
            return max(self._paused_until - time.monotonic(), 0.0)

    def pause(self, retry_after):
        """Telegram's flood control: no message of this token leaves before it has passed."""
        seconds = (
            retry_after.total_seconds() if isinstance(retry_after, timedelta) else retry_after
        )
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + float(seconds))
        logger.warning("flood control: all sending pauses for %.0f s", float(seconds))


def is_group(chat_id):
    return isinstance(chat_id, int) and chat_id < 0


_shared = None
_shared_lock = threading.Lock()


def shared_limiter():
    """This process's limiter, created on first use from settings."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SharedRateLimiter(
                overall_per_second=settings.TELEGRAM_MESSAGES_PER_SECOND,
                chat_interval=settings.TELEGRAM_CHAT_INTERVAL_SECONDS,
                group_per_minute=settings.TELEGRAM_GROUP_MESSAGES_PER_MINUTE,
            )
        return _shared
