"""The worker's lifecycle steps: a subscription past its end expires once, and is told once."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from subscriptions.lifecycle import (
    claim_one_expiry_notice,
    expire_one_subscription,
    unclaim_expiry_notice,
)
from subscriptions.models import Subscription
from tests import factories as make

pytestmark = pytest.mark.django_db


def ending(subscriber, when):
    subscription = subscriber.subscriptions.get()
    subscription.expires_at = when
    subscription.save()
    return subscription


def test_a_subscription_expires_exactly_at_its_end():
    renter = make.subscriber()
    end = timezone.now() + timedelta(hours=1)
    subscription = ending(renter, end)

    assert not expire_one_subscription(now=end - timedelta(microseconds=1))
    assert expire_one_subscription(now=end)
    subscription.refresh_from_db()
    assert subscription.state == Subscription.State.EXPIRED


def test_access_ending_at_midnight_far_from_utc_ends_exactly_then(settings):
    # Kiritimati is 14 hours ahead of UTC: midnight there is 10:00 the day before in UTC.
    settings.TIME_ZONE = "Pacific/Kiritimati"
    zone = ZoneInfo("Pacific/Kiritimati")
    midnight = datetime(2026, 12, 31, tzinfo=zone)
    subscription = ending(make.subscriber(), midnight)

    assert not expire_one_subscription(now=datetime(2026, 12, 30, 9, 59, 59, tzinfo=UTC))
    assert expire_one_subscription(now=datetime(2026, 12, 30, 10, 0, tzinfo=UTC))
    subscription.refresh_from_db()
    assert subscription.expires_at == datetime(2026, 12, 30, 10, 0, tzinfo=UTC)


def test_a_naive_datetime_is_refused_rather_than_guessed():
    with pytest.raises(RuntimeWarning, match="naive datetime"):
        ending(make.subscriber(), datetime(2026, 12, 31))


def test_an_expired_subscription_is_expired_once():
    ending(make.subscriber(), timezone.now() - timedelta(minutes=1))

    assert expire_one_subscription()
    assert not expire_one_subscription()


def test_the_subscriber_is_told_once():
    renter = make.subscriber()
    ending(renter, timezone.now() - timedelta(minutes=1))
    expire_one_subscription()

    notice = claim_one_expiry_notice()

    assert notice.chat_id == renter.chat_id
    assert claim_one_expiry_notice() is None


def test_a_notice_that_could_not_be_sent_is_tried_again():
    renter = make.subscriber()
    ending(renter, timezone.now() - timedelta(minutes=1))
    expire_one_subscription()
    notice = claim_one_expiry_notice()

    unclaim_expiry_notice(notice.subscription_id)

    assert claim_one_expiry_notice().chat_id == renter.chat_id


def test_a_subscriber_who_renewed_in_time_is_not_told():
    renter = make.subscriber()
    ending(renter, timezone.now() - timedelta(minutes=1))
    Subscription.objects.create(
        subscriber=renter, kind="paid", expires_at=timezone.now() + timedelta(days=30)
    )
    expire_one_subscription()

    assert claim_one_expiry_notice() is None
