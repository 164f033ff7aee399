"""Draining the outbox through the real PTB stack: every answer from Telegram handled."""

import time

import pytest
from asgiref.sync import async_to_sync
from django.db import OperationalError
from django.utils import timezone

import runtime.db
from subscriptions import outbox
from subscriptions.models import Delivery, Subscriber
from telegram_bot import delivering
from telegram_bot.client import make_bot
from telegram_bot.delivering import deliver_one_pending
from tests import factories as make

pytestmark = pytest.mark.django_db


@pytest.fixture
def bot_settings(telegram_settings):
    return None


def queue(subscriber, listing):
    return Delivery.objects.create(subscriber=subscriber, listing=listing)


class Pauses(list):
    """Stands in for the component's stop-aware wait; records what it was asked to wait."""

    async def __call__(self, seconds):
        self.append(seconds)
        return False


def drain(pauses=None, limit=20):
    """Deliver until nothing is due; returns how many deliveries were handled."""
    pauses = Pauses() if pauses is None else pauses

    async def run():
        handled = 0
        async with make_bot() as bot:
            while handled < limit and await deliver_one_pending(bot, pauses):
                handled += 1
        return handled

    # async_to_sync runs the ORM calls back on this thread, inside the test's transaction.
    return async_to_sync(run)()


def sends_to(fake_telegram, chat_id):
    return [c for c in fake_telegram.calls_to("sendMessage") if c.chat_id == chat_id]


def test_a_pending_delivery_reaches_the_right_chat_once(bot_settings, fake_telegram, source):
    renter = make.subscriber()
    flat = make.listing(source, price=9_000, rooms=2, title="Bright 2BR near the park")
    delivery = queue(renter, flat)

    assert drain() == 1

    [call] = sends_to(fake_telegram, renter.chat_id)
    assert "Bright 2BR near the park" in call.params["text"]
    assert "9,000 AED" in call.params["text"]
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT
    assert delivery.message_ids == [fake_telegram.last_message(renter.chat_id)["message_id"]]
    assert drain() == 0


def test_listing_text_is_escaped_and_only_our_tags_are_markup(bot_settings, fake_telegram, source):
    renter = make.subscriber()
    title = "<b>Sea view & 2BR</b> <script>"
    queue(renter, make.listing(source, price=1, title=title, url="https://x.example/?a=1&b=2"))

    drain()

    text = sends_to(fake_telegram, renter.chat_id)[0].params["text"]
    assert "&lt;b&gt;Sea view &amp; 2BR&lt;/b&gt; &lt;script&gt;" in text
    assert "<script>" not in text
    assert 'href="https://x.example/?a=1&amp;b=2"' in text


def test_flood_control_pauses_sending_and_the_listing_is_sent_once(
    bot_settings, fake_telegram, source
):
    renter = make.subscriber()
    delivery = queue(renter, make.listing(source, price=9_000))
    fake_telegram.fail_next(
        "sendMessage",
        error_code=429,
        description="Too Many Requests: retry after 3",
        retry_after=3,
    )
    pauses = Pauses()

    drain(pauses)

    assert pauses == [3.0]
    assert len(sends_to(fake_telegram, renter.chat_id)) == 2  # refused once, then accepted
    assert len(fake_telegram.messages(renter.chat_id)) == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (Delivery.State.SENT, 1)


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (403, "Forbidden: bot was blocked by the user"),
        (403, "Forbidden: user is deactivated"),
        (400, "Bad Request: chat not found"),
    ],
)
def test_an_unreachable_chat_blocks_its_subscriber_and_the_rest_are_delivered(
    bot_settings, fake_telegram, source, code, description
):
    gone, present = make.subscriber(), make.subscriber()
    first, second = make.listing(source, price=1), make.listing(source, price=2)
    queue(gone, first)
    queue(gone, second)
    queue(present, first)
    fake_telegram.fail_next(
        "sendMessage", error_code=code, description=description, chat_id=gone.chat_id
    )

    drain()

    gone.refresh_from_db()
    assert gone.blocked_at is not None
    states = set(Delivery.objects.filter(subscriber=gone).values_list("state", flat=True))
    assert states == {Delivery.State.SKIPPED}
    assert len(fake_telegram.messages(present.chat_id)) == 1


def test_a_group_that_became_a_supergroup_gets_the_message_at_its_new_id(
    bot_settings, fake_telegram, source
):
    group = make.subscriber(chat_id=-100)
    queue(group, make.listing(source, price=1))
    fake_telegram.fail_next(
        "sendMessage",
        error_code=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=-1001234,
    )

    drain()

    assert Subscriber.objects.get(pk=group.pk).chat_id == -1001234
    assert len(fake_telegram.messages(-1001234)) == 1


def test_a_server_error_is_retried_later_and_never_marked_sent_before_telegram_confirms(
    bot_settings, fake_telegram, source
):
    renter = make.subscriber()
    delivery = queue(renter, make.listing(source, price=1))
    fake_telegram.fail_next("sendMessage", error_code=502, description="Bad Gateway")

    drain()

    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PENDING
    assert delivery.attempts == 1
    assert "Bad Gateway" in delivery.last_error
    assert delivery.next_attempt_at.timestamp() > time.time()
    assert fake_telegram.messages(renter.chat_id) == []


def test_deliveries_for_an_expired_subscriber_are_skipped(bot_settings, fake_telegram, source):
    lapsed = make.subscriber(active=False)
    delivery = queue(lapsed, make.listing(source, price=1))

    drain()

    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SKIPPED
    assert fake_telegram.calls_to("sendMessage") == []


def test_a_delivery_whose_subscriber_was_deleted_as_it_was_written_is_skipped(
    bot_settings, fake_telegram, source
):
    flat = make.listing(source, price=9_000)
    gone = make.subscriber()
    gone_id = gone.pk
    gone.delete()
    # What matching writes when staff delete the subscriber while its statement runs.
    orphan = Delivery.objects.create(subscriber_id=gone_id, listing=flat)
    renter = make.subscriber()
    queue(renter, flat)

    drain()

    orphan.refresh_from_db()
    assert orphan.state == Delivery.State.SKIPPED
    assert "deleted" in orphan.last_error
    assert len(sends_to(fake_telegram, renter.chat_id)) == 1
    assert len(fake_telegram.calls_to("sendMessage")) == 1


PHOTOS = ["https://img.example/1.jpg", "https://img.example/2.jpg", "https://img.example/3.jpg"]


def test_a_listing_with_photos_arrives_as_an_album_with_the_caption_first(
    bot_settings, fake_telegram, source
):
    renter = make.subscriber()
    delivery = queue(renter, make.listing(source, price=9_000, photo_urls=PHOTOS))

    drain()

    [album] = fake_telegram.calls_to("sendMediaGroup")
    assert [item["media"] for item in album.params["media"]] == PHOTOS
    assert "9,000 AED" in album.params["media"][0]["caption"]
    assert "caption" not in album.params["media"][1]
    delivery.refresh_from_db()
    assert len(delivery.message_ids) == 3


def test_photos_telegram_cannot_fetch_fall_back_to_text_and_the_listing_arrives_once(
    bot_settings, fake_telegram, source
):
    renter = make.subscriber()
    delivery = queue(renter, make.listing(source, price=9_000, photo_urls=PHOTOS))
    for method in ("sendMediaGroup", "sendPhoto"):
        fake_telegram.fail_next(
            method, error_code=400, description="Bad Request: failed to get HTTP URL content"
        )

    drain()

    [message] = fake_telegram.messages(renter.chat_id)
    assert "9,000 AED" in message["text"] and "photo" not in message
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT


def test_a_send_that_times_out_is_retried_later_not_marked_sent(
    bot_settings, fake_telegram, source, settings
):
    settings.TELEGRAM_SEND_TIMEOUT_SECONDS = 0.3
    renter = make.subscriber()
    delivery = queue(renter, make.listing(source, price=1))
    fake_telegram.hang_next("sendMessage", 1.0)

    drain()

    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PENDING
    assert "TimedOut" in delivery.last_error
    assert delivery.attempts == 1


def test_a_delivery_failing_every_time_is_given_up_with_the_error_kept(
    bot_settings, fake_telegram, source, settings
):
    settings.DELIVERY_MAX_ATTEMPTS = 3
    renter = make.subscriber()
    delivery = queue(renter, make.listing(source, price=1))
    fake_telegram.fail_next("sendMessage", error_code=500, description="Internal", times=3)

    for _ in range(3):
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        drain()

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (Delivery.State.FAILED, 3)
    assert "Internal" in delivery.last_error


def test_a_sent_message_is_recorded_once_the_database_is_back(
    bot_settings, fake_telegram, source, monkeypatch
):
    renter = make.subscriber()
    delivery = queue(renter, make.listing(source, price=1))
    record = outbox.mark_sent
    refusals = iter([OperationalError("the database system is shutting down")] * 2)

    def mark_sent_while_the_database_restarts(*args):
        error = next(refusals, None)
        if error:
            raise error
        return record(*args)

    monkeypatch.setattr(outbox, "mark_sent", mark_sent_while_the_database_restarts)
    monkeypatch.setattr(runtime.db, "FIRST_RECORDING_RETRY_SECONDS", 0.01)

    drain()

    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SENT
    assert len(sends_to(fake_telegram, renter.chat_id)) == 1


def test_the_default_retries_outlast_an_outage_of_several_minutes(settings):
    failed_tries = range(1, settings.DELIVERY_MAX_ATTEMPTS)

    waited = sum(delivering.retry_delay(attempts) for attempts in failed_tries)

    assert waited >= 10 * 60
