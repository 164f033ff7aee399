"""Killed mid-burst and started again, the sender loses nothing and repeats at most the
message that was in flight when it died."""

import collections
import signal

import pytest

from tests.e2e import Runall, command_env, manage

pytestmark = pytest.mark.e2e

CHATS = 20
LISTINGS_PER_CHAT = 3

SEED = f"""
from datetime import timedelta
from django.utils import timezone
from listings.models import City, Listing, Source
from subscriptions.models import Delivery, Subscriber, Subscription

city = City.objects.get(name="Dubai")
source = Source.objects.create(name="seed", adapter="bayut", city=city, is_enabled=False,
                               search_url="http://127.0.0.1:9/")
for n in range({CHATS}):
    renter = Subscriber.objects.create(chat_id=9000 + n)
    Subscription.objects.create(subscriber=renter, kind="trial",
                                expires_at=timezone.now() + timedelta(days=7))
    for m in range({LISTINGS_PER_CHAT}):
        listing = Listing.objects.create(source=source, city=city, external_id=f"{{n}}-{{m}}",
                                         url=f"https://listings.example/{{n}}-{{m}}",
                                         title=f"Flat {{n}}-{{m}}", price=1000, currency="AED")
        Delivery.objects.create(subscriber=renter, listing=listing)
"""


def delivered_listings(fake_telegram):
    """The listing ("3-1") of every message the renters have, one entry per message."""
    return [
        message["text"].split("Flat ", 1)[1].split()[0]
        for chat in range(9000, 9000 + CHATS)
        for message in fake_telegram.messages(chat)
    ]


def test_a_sender_killed_mid_burst_loses_nothing_and_repeats_at_most_one(
    tmp_path, fresh_database, fake_telegram
):
    fake_telegram.latency = 0.05
    env = command_env(
        DATABASE_URL=fresh_database,
        TELEGRAM_BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_BASE_URL=fake_telegram.base_url,
        PARSER_IDLE_SECONDS=0.2,
        DELIVERY_CLAIM_TIMEOUT_SECONDS=1,
        TELEGRAM_CHAT_INTERVAL_SECONDS=0,
    )
    manage(env, "migrate", "--verbosity", "0")
    manage(env, "shell", "-c", SEED)
    total = CHATS * LISTINGS_PER_CHAT

    first = Runall(env, tmp_path / "first.log", command="runparser")
    fake_telegram.wait_for(
        lambda: len(delivered_listings(fake_telegram)) >= total // 3, timeout=30, message="a burst"
    )
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()
    first.stop()
    at_kill = len(delivered_listings(fake_telegram))

    second = Runall(env, tmp_path / "second.log", command="runparser")
    try:
        fake_telegram.wait_for(
            lambda: len(set(delivered_listings(fake_telegram))) == total,
            timeout=60,
            message="every listing delivered after the restart",
        )
        exit_code, _ = second.terminate()
    finally:
        second.stop()

    copies = collections.Counter(delivered_listings(fake_telegram))
    repeated = sum(count - 1 for count in copies.values())
    assert at_kill < total, "the kill came during the burst"
    assert set(copies) == {f"{n}-{m}" for n in range(CHATS) for m in range(LISTINGS_PER_CHAT)}
    assert repeated <= 1, f"repeated: {[k for k, c in copies.items() if c > 1]}"
    assert exit_code == 0
