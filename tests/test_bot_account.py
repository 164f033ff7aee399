"""The renter's own commands: /stop, /resume, /subscription, /latest, and what a saved
search already finds."""

from datetime import timedelta

import pytest
from django.utils import timezone

from subscriptions.models import Delivery, SearchFilter, Subscription
from tests import factories as make

pytestmark = pytest.mark.django_db(transaction=True)

RITA = 4101


@pytest.fixture
def city():
    row = make.city(name="Testville", currency="AED", districts=("Old Town", "Harbour"))
    make.source(row)
    return row


@pytest.fixture
def rita(city):
    renter = make.subscriber(chat_id=RITA)
    make.search(renter, city, name="Cheap flats")
    make.search(renter, city, name="Big flats")
    return renter


def command(fake_telegram, text, expect):
    fake_telegram.send_message(RITA, text)
    return fake_telegram.wait_for_message(RITA, expect)


def test_stop_pauses_every_search_and_resume_turns_them_back_on(running_bot, fake_telegram, rita):
    command(fake_telegram, "/stop", "Alerts stopped")
    assert set(SearchFilter.objects.values_list("is_paused", flat=True)) == {True}

    command(fake_telegram, "/resume", "2 paused searches turned back on")
    assert set(SearchFilter.objects.values_list("is_paused", flat=True)) == {False}


def test_resume_counts_only_the_searches_it_turned_back_on(running_bot, fake_telegram, rita):
    SearchFilter.objects.filter(name="Cheap flats").update(is_paused=True)

    reply = command(fake_telegram, "/resume", "turned back on")

    assert "1 paused search turned back on. 1 was on already." in reply["text"]
    command(fake_telegram, "/resume", "All your 2 searches were on already")


def test_subscription_shows_the_days_left(running_bot, fake_telegram, rita):
    Subscription.objects.update(expires_at=timezone.now() + timedelta(days=5, hours=1))

    reply = command(fake_telegram, "/subscription", "runs until")

    assert "free trial" in reply["text"] and "5 days left" in reply["text"]


def test_subscription_says_when_there_is_no_access(running_bot, fake_telegram, rita):
    Subscription.objects.update(expires_at=timezone.now() - timedelta(days=1))

    command(fake_telegram, "/subscription", "no active access")


def test_latest_sends_the_last_listings_again(running_bot, fake_telegram, rita, city):
    listing = make.listing(make.source(city), price=7000, title="Loft by the harbour")
    Delivery.objects.create(
        subscriber=rita,
        listing=listing,
        state=Delivery.State.SENT,
        sent_at=timezone.now(),
        search_filter=rita.search_filters.first(),
    )

    reply = command(fake_telegram, "/latest", "Loft by the harbour")

    assert "Cheap flats" in reply["text"]


def test_latest_with_nothing_sent_says_it_is_watching(running_bot, fake_telegram, rita):
    command(fake_telegram, "/latest", "Nothing sent to you yet")


def test_a_pause_button_pauses_one_search(running_bot, fake_telegram, rita):
    command(fake_telegram, "/filters", "Your searches")

    fake_telegram.press(RITA, "⏸ Pause 1")
    fake_telegram.wait_for_message(RITA, "(paused)")

    paused = dict(SearchFilter.objects.values_list("name", "is_paused"))
    assert paused == {"Cheap flats": True, "Big flats": False}


def test_saving_a_search_shows_what_it_already_finds(running_bot, fake_telegram, city):
    source = make.source(city)
    make.listing(
        source,
        price=6000,
        rooms=1,
        title="Match on the quay",
        district_row=make.district(city, "Harbour"),
    )
    make.listing(source, price=6000, rooms=3, title="Too many rooms")
    fake_telegram.send_message(RITA, "/start")
    fake_telegram.wait_for_message(RITA, "Hi")

    for button in [
        "New search",
        "Testville",
        "Rent",
        "Any district",
        "Any price",
        "1",
        "Done",
        "Save",
    ]:
        fake_telegram.press(RITA, button)
    saved = fake_telegram.wait_for_message(RITA, "Saved")

    assert "Match on the quay" in saved["text"]
    assert "Too many rooms" not in saved["text"]
