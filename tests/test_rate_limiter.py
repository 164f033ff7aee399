"""One rate limiter per token, shared by every Bot of the process across threads and loops."""

import asyncio
import itertools
import threading
import time

import pytest

from subscriptions.models import Delivery
from telegram_bot.client import make_bot
from telegram_bot.ratelimit import SharedRateLimiter
from tests import factories as make
from tests.test_delivery import drain, queue


def limiter():
    return SharedRateLimiter(overall_per_second=30, chat_interval=1.0, group_per_minute=20)


def test_messages_to_many_chats_are_spaced_at_the_overall_rate():
    bucket = limiter()

    waits = [bucket.reserve(chat_id) for chat_id in range(1, 61)]

    assert waits[0] < 1 / 30  # at most until the next slot begins
    assert waits[-1] - waits[0] == pytest.approx(59 / 30, abs=0.01)


def test_messages_to_one_chat_are_a_second_apart():
    bucket = limiter()

    waits = [bucket.reserve(7) for _ in range(3)]

    assert waits == pytest.approx([0, 1, 2], abs=0.05)


def test_a_group_gets_at_most_twenty_messages_a_minute():
    bucket = SharedRateLimiter(overall_per_second=1000, chat_interval=0.0, group_per_minute=20)

    waits = [bucket.reserve(-100) for _ in range(21)]

    assert max(waits[:20]) < 0.1
    assert waits[20] >= 59.9


def test_threads_reserving_at_once_never_share_a_slot():
    bucket = limiter()
    slots, lock = [], threading.Lock()

    def reserve_thirty(first_chat):
        for chat_id in range(first_chat, first_chat + 30):
            wait = bucket.reserve(chat_id)
            with lock:
                slots.append(time.monotonic() + wait)

    threads = [threading.Thread(target=reserve_thirty, args=(n * 100,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    slots.sort()
    gaps = [later - earlier for earlier, later in zip(slots, slots[1:], strict=False)]
    assert len(slots) == 90
    assert min(gaps) >= 1 / 30 - 0.005


def test_flood_control_pauses_every_sender_of_the_token():
    bucket = limiter()

    bucket.pause(3)

    assert bucket.reserve(1) >= 2.9
    assert bucket.reserve(2) >= 2.9


@pytest.mark.django_db
def test_a_listing_refused_twice_by_flood_control_waits_each_time_and_arrives_once(
    telegram_settings, fake_telegram
):
    renter = make.subscriber()
    delivery = queue(renter, make.listing(make.source(make.city()), price=1))
    fake_telegram.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 3",
        retry_after=3,
        times=2,
    )

    drain()

    attempts = [call.at for call in fake_telegram.calls_to("sendMessage")]
    assert len(attempts) == 3
    assert attempts[1] - attempts[0] >= 3 and attempts[2] - attempts[1] >= 3
    assert len(fake_telegram.messages(renter.chat_id)) == 1
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT


def test_a_bot_starting_during_flood_control_waits_as_asked_and_starts(
    telegram_settings, fake_telegram
):
    fake_telegram.fail_next(
        "getMe",
        error_code=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        times=3,
    )

    async def start():
        async with make_bot() as bot:
            return bot.username

    username = asyncio.run(start())

    attempts = [call.at for call in fake_telegram.calls_to("getMe")]
    assert len(attempts) == 4
    assert min(later - earlier for earlier, later in itertools.pairwise(attempts)) >= 1
    assert username


def test_a_chat_with_many_queued_messages_does_not_hold_back_the_others():
    bucket = limiter()
    for _ in range(5):
        bucket.reserve(7)  # chat 7 is booked for the next five seconds

    others = [bucket.reserve(chat_id) for chat_id in range(100, 110)]

    assert max(others) < 0.5
