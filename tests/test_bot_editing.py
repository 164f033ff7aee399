"""A renter changes a saved search from its screen in /filters: every part, its name, while it
keeps matching, across a restart of the bot, and never someone else's."""

from decimal import Decimal

import pytest

from subscriptions.matching import match_new_listings
from subscriptions.models import Delivery, SearchFilter
from tests import factories as make
from tests.conftest import RunningBot
from tests.test_bot_conversation import OLEG, RITA, press, start

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def city():
    row = make.city(name="Testville", currency="AED", districts=("Old Town", "Harbour"))
    make.source(row)
    return row


@pytest.fixture
def saved(running_bot, fake_telegram, city):
    """Rita's search, built and saved in the chat: Testville, rent, 5,000–10,000 AED, 1 room."""
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, "New search", "Testville", "Rent", "Any district")
    press(fake_telegram, RITA, "5,000–10,000 AED", "1", "Done", "Save")
    fake_telegram.wait_for_message(RITA, "Saved")
    return SearchFilter.objects.get(subscriber__chat_id=RITA)


def open_search(fake_telegram):
    fake_telegram.send_message(RITA, "/filters")
    fake_telegram.wait_for_message(RITA, "Your searches")
    press(fake_telegram, RITA, "✏️ Edit 1")
    return fake_telegram.wait_for_message(RITA, "What shall I change?")


def test_every_part_of_a_saved_search_changes_from_its_screen(saved, fake_telegram):
    open_search(fake_telegram)

    press(fake_telegram, RITA, "📍 Districts", "Harbour", "Done")
    press(fake_telegram, RITA, "💰 Price", "up to 5,000 AED")
    press(fake_telegram, RITA, "🛏 Rooms", "1", "2", "Done")
    press(fake_telegram, RITA, "Furnished", "Also listings without a price")

    saved.refresh_from_db()
    assert [d.name for d in saved.districts.all()] == ["Harbour"]
    assert (saved.price_min, saved.price_max) == (None, Decimal(5000))
    assert saved.rooms == [2]
    assert (saved.furnishing, saved.allow_unknown_price) == ("furnished", True)
    fake_telegram.wait_for_message(
        RITA,
        "Testville · rent · Harbour · up to 5,000 AED · also without a price · rooms: 2 · "
        "furnished",
    )


def test_a_search_being_changed_keeps_matching(saved, fake_telegram, city):
    open_search(fake_telegram)
    press(fake_telegram, RITA, "🛏 Rooms", "2")
    fake_telegram.wait_for_message(RITA, "How many rooms?")

    # Halfway through the change a listing arrives: it meets the search as it stands.
    listing = make.listing(make.source(city), price=7000, rooms=1)
    match_new_listings([listing.pk])

    assert Delivery.objects.filter(subscriber=saved.subscriber, listing=listing).exists()


def test_a_restart_in_the_middle_of_a_change_loses_nothing(telegram_settings, fake_telegram, city):
    first = RunningBot(fake_telegram).start()
    try:
        start(fake_telegram, RITA)
        press(fake_telegram, RITA, "New search", "Testville", "Rent", "Any district")
        press(fake_telegram, RITA, "Any price", "Done", "Save")
        open_search(fake_telegram)
        press(fake_telegram, RITA, "💰 Price")
        fake_telegram.wait_for_message(RITA, "What monthly rent?")
    finally:
        first.stop()

    second = RunningBot(fake_telegram).start()
    try:
        fake_telegram.send_message(RITA, "3000 6000")
        screen = fake_telegram.wait_for_message(RITA, "What shall I change?")
    finally:
        second.stop()

    search = SearchFilter.objects.get(subscriber__chat_id=RITA)
    assert (search.is_draft, search.price_min, search.price_max) == (
        False,
        Decimal(3000),
        Decimal(6000),
    )
    assert "3,000–6,000 AED" in screen["text"]


def test_renaming_a_search_shows_the_new_name_in_the_list(saved, fake_telegram):
    open_search(fake_telegram)
    press(fake_telegram, RITA, "✏️ Rename")
    fake_telegram.wait_for_message(RITA, "Type a new name")

    fake_telegram.send_message(RITA, "  Near   the sea ")
    fake_telegram.wait_for_message(RITA, "What shall I change?")
    fake_telegram.send_message(RITA, "/filters")

    listing = fake_telegram.wait_for_message(RITA, "Your searches")
    assert "1. Near the sea\n    Testville · rent" in listing["text"]
    assert SearchFilter.objects.get(pk=saved.pk).name == "Near the sea"


def test_a_name_too_long_gets_a_correction_and_changes_nothing(saved, fake_telegram):
    open_search(fake_telegram)
    press(fake_telegram, RITA, "✏️ Rename")

    fake_telegram.send_message(RITA, "x" * 5000)
    fake_telegram.wait_for_message(RITA, "A name is 1 to 100 characters")

    assert SearchFilter.objects.get(pk=saved.pk).name == saved.name


def test_a_name_the_renter_never_chose_follows_the_search(saved, fake_telegram):
    open_search(fake_telegram)

    press(fake_telegram, RITA, "💰 Price", "Any price")

    fake_telegram.wait_for_message(RITA, "What shall I change?")
    assert SearchFilter.objects.get(pk=saved.pk).name == "Testville · rent · rooms: 1"


def test_switching_to_buying_asks_the_price_again(saved, fake_telegram):
    open_search(fake_telegram)

    press(fake_telegram, RITA, "🔁 Rent or buy", "Buy")

    fake_telegram.wait_for_message(RITA, "What price range?")
    press(fake_telegram, RITA, "up to 1,000,000 AED")
    saved.refresh_from_db()
    assert (saved.deal, saved.price_max) == ("sale", Decimal(1_000_000))


def test_moving_a_search_to_another_city_asks_its_districts(saved, fake_telegram):
    other = make.city(name="Portville", currency="EUR", districts=("Docks", "Hill"))
    make.source(other)
    open_search(fake_telegram)

    press(fake_telegram, RITA, "🏙 City", "Portville")
    fake_telegram.wait_for_message(RITA, "Which districts?")
    press(fake_telegram, RITA, "Docks", "Done")

    saved.refresh_from_db()
    assert saved.city == other and [d.name for d in saved.districts.all()] == ["Docks"]
    # An AED price means nothing in a city that pays in euros.
    assert (saved.price_min, saved.price_max) == (None, None)


def test_pausing_and_deleting_from_the_search_screen(saved, fake_telegram):
    open_search(fake_telegram)

    press(fake_telegram, RITA, "⏸ Pause")
    fake_telegram.wait_for_message(RITA, "(paused)")
    assert SearchFilter.objects.get(pk=saved.pk).is_paused
    press(fake_telegram, RITA, "🗑 Delete", "Yes, delete")

    fake_telegram.wait_for_message(RITA, "no saved searches")
    assert not SearchFilter.objects.filter(pk=saved.pk).exists()


def test_a_draft_button_pressed_after_saving_shows_the_saved_search(saved, fake_telegram):
    saved_message = fake_telegram.wait_for_message(RITA, "Saved")

    # A rooms button of the draft, pressed again after Save (a second tap, an old copy).
    fake_telegram.press_button(RITA, f"s:{saved.pk}:r:3", message_id=saved_message["message_id"])
    screen = fake_telegram.wait_for_message(RITA, "What shall I change?")

    assert fake_telegram.answered_callbacks()[-1]["text"] == (
        "That search is saved already: here it is now."
    )
    assert "rooms: 1" in screen["text"]
    assert SearchFilter.objects.get(pk=saved.pk).rooms == [1]


def test_another_persons_edit_button_changes_nothing(saved, fake_telegram):
    olegs_greeting = start(fake_telegram, OLEG)

    for forged in (f"e:{saved.pk}:p:any", f"e:{saved.pk}:ps", f"del:{saved.pk}"):
        fake_telegram.press_button(OLEG, forged, message_id=olegs_greeting["message_id"])
        fake_telegram.wait_until_idle()
        assert fake_telegram.answered_callbacks()[-1]["text"] == "That is not your search."

    saved.refresh_from_db()
    assert (saved.price_min, saved.is_paused) == (Decimal(5000), False)


def test_every_edit_button_carries_short_data(saved, fake_telegram):
    open_search(fake_telegram)
    press(fake_telegram, RITA, "📍 Districts")
    fake_telegram.wait_for_message(RITA, "Which districts?")

    buttons = [data for m in fake_telegram.messages(RITA) for _, data in m["buttons"]]
    assert all(len(data.encode()) <= 64 for data in buttons)
    assert any(data.startswith(f"e:{saved.pk}:d:") for data in buttons)
