"""Staff hear from the worker once when a component goes down or deliveries fail, once after."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from runtime import alerts
from runtime.models import Heartbeat
from subscriptions.component import WorkerComponent
from subscriptions.models import Delivery
from telegram_bot.client import make_bot
from tests import factories as make

pytestmark = pytest.mark.django_db

STAFF = 5501


@pytest.fixture
def staff(settings, telegram_settings):
    settings.TELEGRAM_STAFF_IDS = [STAFF]
    settings.HEARTBEAT_STALE_SECONDS = 180
    settings.DELIVERY_ALERT_FAILURES = 3
    settings.DELIVERY_ALERT_MINUTES = 15


def tick():
    async def run():
        async with make_bot() as bot:
            return await WorkerComponent().tick(bot)

    return async_to_sync(run)()


def staff_texts(fake_telegram):
    return [message["text"] for message in fake_telegram.messages(STAFF)]


def beat(component, seconds_ago):
    now = timezone.now()
    Heartbeat.objects.update_or_create(
        component=component,
        defaults={
            "beat_at": now - timedelta(seconds=seconds_ago),
            "started_at": now - timedelta(hours=1),
            "pid": 321,
            "hostname": "box-2",
        },
    )


def fail_deliveries(count, error="Bad Request: message is too long"):
    source = make.source(make.city())
    renter = make.subscriber()
    for _ in range(count):
        Delivery.objects.create(
            subscriber=renter,
            listing=make.listing(source),
            state=Delivery.State.FAILED,
            attempts=5,
            claimed_at=timezone.now(),
            last_error=error,
        )


def test_a_component_down_is_told_once_and_its_return_once(staff, fake_telegram):
    beat("bot", seconds_ago=5)
    beat("parser", seconds_ago=600)

    tick()
    tick()
    tick()
    [down] = staff_texts(fake_telegram)
    assert "“parser” is down since" in down and "box-2" in down

    beat("parser", seconds_ago=1)
    tick()
    tick()

    assert staff_texts(fake_telegram)[1:] == ["✅ Component “parser” is back (box-2, pid 321)."]


def test_the_worker_does_not_report_its_own_late_heartbeat(staff, fake_telegram):
    beat("worker", seconds_ago=600)

    tick()

    assert staff_texts(fake_telegram) == []


def test_failing_deliveries_are_told_once_and_their_recovery_once(
    staff, fake_telegram, time_machine
):
    fail_deliveries(3)

    tick()
    tick()
    [failing] = staff_texts(fake_telegram)
    assert "Deliveries are failing: 3 failed in the last 15 minutes" in failing
    assert "message is too long" in failing

    time_machine.move_to(timezone.now() + timedelta(minutes=16))
    tick()
    tick()

    assert staff_texts(fake_telegram)[1:] == [
        "✅ Deliveries work again: none failed in the last 15 minutes."
    ]


def test_a_few_failed_deliveries_are_not_an_alert(staff, fake_telegram):
    fail_deliveries(2)

    tick()

    assert staff_texts(fake_telegram) == []


def test_nothing_is_sent_without_staff_ids(staff, settings, fake_telegram):
    settings.TELEGRAM_STAFF_IDS = []
    beat("parser", seconds_ago=600)
    fail_deliveries(5)

    tick()

    assert fake_telegram.calls_to("sendMessage") == []


def test_an_alert_telegram_refused_for_now_is_sent_on_the_next_tick(staff, fake_telegram):
    beat("parser", seconds_ago=600)
    fake_telegram.fail_next("sendMessage", error_code=502, description="Bad Gateway")

    tick()
    assert staff_texts(fake_telegram) == []
    tick()
    tick()

    assert len(staff_texts(fake_telegram)) == 1


def test_a_worker_that_read_the_state_before_another_claimed_it_sends_nothing(staff):
    beat("parser", seconds_ago=600)
    now = timezone.now()
    [watch] = list(alerts.component_watches("worker", now))

    first = alerts.claim_change(watch, raised_at=None, now=now)
    # The second worker read "not raised" before the first one's UPDATE landed.
    second = alerts.claim_change(watch, raised_at=None, now=now)

    assert first is not None and "is down since" in first.text
    assert second is None
