"""The worker component's tick through the real PTB stack: expiry told once, errors handled."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from subscriptions.component import WorkerComponent
from subscriptions.models import Subscriber, Subscription
from telegram_bot.client import make_bot
from tests import factories as make

pytestmark = pytest.mark.django_db


@pytest.fixture
def lapsed(telegram_settings):
    renter = make.subscriber()
    Subscription.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    return renter


def tick():
    async def run():
        async with make_bot() as bot:
            return await WorkerComponent().tick(bot)

    return async_to_sync(run)()


def test_an_expired_subscriber_is_told_once(fake_telegram, lapsed):
    tick()
    tick()

    [notice] = fake_telegram.messages(lapsed.chat_id)
    assert "access has ended" in notice["text"]
    assert Subscription.objects.get().state == Subscription.State.EXPIRED


def test_a_notice_refused_for_a_passing_reason_is_sent_on_a_later_tick(fake_telegram, lapsed):
    fake_telegram.fail_next("sendMessage", error_code=502, description="Bad Gateway")

    tick()
    assert fake_telegram.messages(lapsed.chat_id) == []
    tick()

    assert len(fake_telegram.messages(lapsed.chat_id)) == 1


def test_a_subscriber_who_blocked_the_bot_is_marked_blocked(fake_telegram, lapsed):
    fake_telegram.fail_next(
        "sendMessage", error_code=403, description="Forbidden: bot was blocked by the user"
    )

    tick()

    assert Subscriber.objects.get().blocked_at is not None
