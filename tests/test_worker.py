"""The worker component's tick through the real PTB stack: expiry told once, errors handled."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from subscriptions.component import WorkerComponent
from subscriptions.models import Delivery, Subscriber, Subscription
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


@pytest.fixture
def ending_in_two_days(telegram_settings):
    renter = make.subscriber()
    Subscription.objects.update(expires_at=timezone.now() + timedelta(days=2, hours=12))
    return renter


def test_reminders_go_out_once_each_on_the_configured_days(
    fake_telegram, ending_in_two_days, settings, time_machine
):
    settings.REMINDER_DAYS = [3, 1]
    renter = ending_in_two_days

    tick()
    tick()
    time_machine.move_to(timezone.now() + timedelta(days=1, hours=13))
    tick()
    tick()

    texts = [m["text"] for m in fake_telegram.messages(renter.chat_id)]
    assert len(texts) == 2
    assert "ends in 3 days" in texts[0] or "ends in 2 days" in texts[0]
    assert "ends tomorrow" in texts[1]
    assert Subscription.objects.get().reminders_sent == [3, 1]


def test_a_subscription_found_with_a_day_left_gets_only_the_last_reminder(
    fake_telegram, telegram_settings, settings
):
    settings.REMINDER_DAYS = [3, 1]
    renter = make.subscriber()
    Subscription.objects.update(expires_at=timezone.now() + timedelta(hours=20))

    tick()
    tick()

    [reminder] = fake_telegram.messages(renter.chat_id)
    assert "ends tomorrow" in reminder["text"]
    assert Subscription.objects.get().reminders_sent == [3, 1]


def test_a_renewed_subscriber_gets_no_reminder(fake_telegram, ending_in_two_days):
    Subscription.objects.create(
        subscriber=ending_in_two_days,
        kind="paid",
        expires_at=timezone.now() + timedelta(days=40),
    )

    tick()

    assert fake_telegram.messages(ending_in_two_days.chat_id) == []


@pytest.fixture
def lapsed_a_week_ago(telegram_settings, city):
    renter = make.subscriber()
    Subscription.objects.update(
        state=Subscription.State.EXPIRED,
        expires_at=timezone.now() - timedelta(days=8),
        expiry_notified_at=timezone.now() - timedelta(days=8),
    )
    make.search(renter, city, price_max=10_000)
    return renter


def test_a_lapsed_subscriber_hears_weekly_what_they_missed(
    fake_telegram, lapsed_a_week_ago, source, time_machine
):
    make.listing(source, price=9_000)
    make.listing(source, price=8_000)
    make.listing(source, price=50_000)  # not theirs

    tick()
    tick()
    time_machine.move_to(timezone.now() + timedelta(days=7, minutes=1))
    make.listing(source, price=7_000)
    tick()

    texts = [m["text"] for m in fake_telegram.messages(lapsed_a_week_ago.chat_id)]
    assert len(texts) == 2
    assert "This week 2 new listings matched your searches" in texts[0]
    assert "This week 1 new listing matched" in texts[1] and "/renew" in texts[1]
    assert not Delivery.objects.exists(), "the listings themselves stay for subscribers"


def test_nothing_missed_is_not_worth_a_message(fake_telegram, lapsed_a_week_ago, source):
    make.listing(source, price=50_000)

    tick()

    assert fake_telegram.messages(lapsed_a_week_ago.chat_id) == []


def test_operators_may_switch_the_missed_notice_off(
    fake_telegram, lapsed_a_week_ago, source, settings
):
    settings.MISSED_LISTINGS_NOTICE = False
    make.listing(source, price=9_000)

    tick()

    assert fake_telegram.messages(lapsed_a_week_ago.chat_id) == []


def test_a_subscriber_who_renewed_hears_nothing_of_missed_listings(
    fake_telegram, lapsed_a_week_ago, source
):
    Subscription.objects.create(
        subscriber=lapsed_a_week_ago, kind="paid", expires_at=timezone.now() + timedelta(days=30)
    )
    make.listing(source, price=9_000)

    tick()

    texts = [m["text"] for m in fake_telegram.messages(lapsed_a_week_ago.chat_id)]
    assert not any("matched your searches" in text for text in texts)
