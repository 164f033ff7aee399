"""Staff commands in the chat: numbers and hand-granted access, for staff only."""

from datetime import timedelta

import pytest
from django.utils import timezone

from subscriptions.models import Delivery
from tests import factories as make

pytestmark = pytest.mark.django_db(transaction=True)

STAFF, RENTER = 4301, 4302


@pytest.fixture
def staff(settings):
    settings.TELEGRAM_STAFF_IDS = [STAFF]


def test_stats_shows_staff_todays_numbers(staff, running_bot, fake_telegram):
    city = make.city()
    source = make.source(city, state="broken", last_error="no cards")
    renter = make.subscriber()
    Delivery.objects.create(
        subscriber=renter,
        listing=make.listing(source, price=1),
        state="sent",
        sent_at=timezone.now(),
    )

    fake_telegram.send_message(STAFF, "/stats")
    reply = fake_telegram.wait_for_message(STAFF, "Today")

    assert "Deliveries: 1 sent, 0 failed, 0 waiting" in reply["text"]
    assert f"{source.name} 1" in reply["text"]
    assert f"{source.name}: broken — no cards" in reply["text"]


def test_grant_extends_a_subscriber_by_username(staff, running_bot, fake_telegram):
    renter = make.subscriber(chat_id=RENTER)
    end = renter.subscriptions.get().expires_at

    fake_telegram.send_message(STAFF, f"/grant @{renter.username} 30")
    fake_telegram.wait_for_message(STAFF, "Granted 30 days")

    assert renter.subscriptions.get().expires_at == end + timedelta(days=30)


@pytest.mark.parametrize(
    ("command", "answer"),
    [("/grant", "Usage"), ("/grant @nobody 5", "No subscriber"), ("/grant 4302 0", "1 to")],
)
def test_grant_explains_what_is_wrong(staff, running_bot, fake_telegram, command, answer):
    make.subscriber(chat_id=RENTER)

    fake_telegram.send_message(STAFF, command)

    fake_telegram.wait_for_message(STAFF, answer)


def test_anyone_else_gets_the_ordinary_help(staff, running_bot, fake_telegram):
    renter = make.subscriber(chat_id=RENTER)
    end = renter.subscriptions.get().expires_at

    fake_telegram.send_message(RENTER, f"/grant {RENTER} 365")
    fake_telegram.wait_for_message(RENTER, "sends you new apartment listings")

    assert renter.subscriptions.get().expires_at == end
