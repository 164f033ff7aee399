"""A renter in the chat: /start, building a search with buttons and typing, /filters."""

from decimal import Decimal

import pytest

from listings.models import Listing, Source
from subscriptions.matching import match_new_listings
from subscriptions.models import Delivery, SearchFilter, Subscriber, Subscription
from tests import factories as make
from tests.conftest import RunningBot

pytestmark = pytest.mark.django_db(transaction=True)

RITA, OLEG = 4001, 4002


@pytest.fixture
def city():
    row = make.city(name="Testville", currency="AED", districts=("Old Town", "Harbour"))
    make.source(row)
    return row


def press(fake_telegram, chat_id, *buttons):
    for text in buttons:
        fake_telegram.press(chat_id, text)
        fake_telegram.wait_until_idle()


def start(fake_telegram, chat_id):
    """Send /start and wait for the whole welcome; returns the greeting."""
    fake_telegram.send_message(chat_id, "/start")
    fake_telegram.wait_for_message(chat_id, "Tell me what you are looking for")
    return fake_telegram.wait_for_message(chat_id, "Hi")


def test_start_gives_a_new_renter_a_trial(running_bot, fake_telegram, settings):
    greeting = start(fake_telegram, RITA)

    assert "free trial runs until" in greeting["text"]
    subscriber = Subscriber.objects.get(chat_id=RITA)
    trial = subscriber.subscriptions.get()
    assert trial.kind == Subscription.Kind.TRIAL
    assert (trial.expires_at - trial.starts_at).days == settings.TRIAL_DAYS
    question = fake_telegram.last_message(RITA)
    assert ("🔎 New search", "new") in question["buttons"]


def test_a_second_start_gives_no_second_trial(running_bot, fake_telegram):
    start(fake_telegram, RITA)
    fake_telegram.send_message(RITA, "/start")
    fake_telegram.wait_for_message(RITA, "access runs until")

    assert Subscription.objects.filter(subscriber__chat_id=RITA).count() == 1


def test_start_unblocks_a_renter_who_had_blocked_the_bot(running_bot, fake_telegram):
    make.subscriber(chat_id=RITA, blocked=True)

    fake_telegram.send_message(RITA, "/start")
    fake_telegram.wait_for_message(RITA, "Welcome back")

    assert Subscriber.objects.get(chat_id=RITA).blocked_at is None


def test_a_renter_builds_a_search_by_pressing_buttons(running_bot, fake_telegram, city):
    start(fake_telegram, RITA)

    press(fake_telegram, RITA, "New search", "Testville", "Rent", "Old Town", "Done")
    press(fake_telegram, RITA, "5,000–10,000 AED", "1", "2", "Done", "Save")

    search = SearchFilter.objects.get(subscriber__chat_id=RITA)
    assert not search.is_draft
    assert (search.city, search.deal) == (city, "rent")
    assert [d.name for d in search.districts.all()] == ["Old Town"]
    assert (search.price_min, search.price_max) == (Decimal(5000), Decimal(10000))
    assert search.rooms == [1, 2]
    assert (search.furnishing, search.allow_unknown_price) == ("", False)
    fake_telegram.wait_for_message(RITA, "Saved")
    assert "Testville" in search.name


def test_the_renter_chooses_furnishing_and_listings_without_a_price(
    running_bot, fake_telegram, city
):
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, "New search", "Testville", "Rent", "Any district")
    press(fake_telegram, RITA, "up to 5,000 AED", "Done")
    confirm = fake_telegram.wait_for_message(RITA, "Furnished or not?")
    assert "up to 5,000 AED · priced only" in confirm["text"]

    press(fake_telegram, RITA, "Unfurnished", "Also listings without a price")

    confirm = fake_telegram.wait_for_message(RITA, "also without a price · unfurnished")
    assert "up to 5,000 AED · also without a price · unfurnished" in confirm["text"]
    assert "✅ Unfurnished" in dict(confirm["buttons"])
    press(fake_telegram, RITA, "Save")
    search = SearchFilter.objects.get(subscriber__chat_id=RITA)
    assert (search.is_draft, search.furnishing, search.allow_unknown_price) == (
        False,
        "unfurnished",
        True,
    )


def test_a_renter_staying_a_while_asks_for_long_term_rents_only(running_bot, fake_telegram, city):
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, "New search", "Testville", "Rent", "Any district", "Any price")
    press(fake_telegram, RITA, "Done", "Long-term")

    confirm = fake_telegram.wait_for_message(RITA, "long-term")
    assert "✅ Long-term" in dict(confirm["buttons"])
    press(fake_telegram, RITA, "Save")
    search = SearchFilter.objects.get(subscriber__chat_id=RITA)
    assert search.rent_term == "long"

    source = Source.objects.get(city=city)
    monthly = make.listing(source, price=7_000, period="month", title="Flat by the month")
    make.listing(source, price=300, period="day", title="Flat by the night")
    match_new_listings(list(Listing.objects.values_list("pk", flat=True)))
    assert set(Delivery.objects.values_list("listing_id", flat=True)) == {monthly.pk}


def test_listings_without_a_price_are_not_asked_about_when_any_price_will_do(
    running_bot, fake_telegram, city
):
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, "New search", "Testville", "Rent", "Any district")
    press(fake_telegram, RITA, "Any price", "Done")

    confirm = fake_telegram.wait_for_message(RITA, "Furnished or not?")
    labels = [text for text, _ in confirm["buttons"]]
    assert "✅ Either" in labels and not any("without a price" in label for label in labels)


def test_every_button_is_answered_and_carries_short_opaque_data(running_bot, fake_telegram, city):
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, "New search", "Testville", "Rent")

    buttons = [data for m in fake_telegram.messages(RITA) for _, data in m["buttons"]]
    assert all(len(data.encode()) <= 64 for data in buttons)
    assert len(fake_telegram.answered_callbacks()) == 3


@pytest.mark.parametrize("typed", ["from 3 000 to 6k", "3000 6000"])
def test_a_typed_price_range_is_understood(running_bot, fake_telegram, city, typed):
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, "New search", "Testville", "Rent", "Any district")

    fake_telegram.send_message(RITA, typed)
    rooms = fake_telegram.wait_for_message(RITA, "How many rooms")

    search = SearchFilter.objects.get(subscriber__chat_id=RITA)
    assert (search.price_min, search.price_max) == (Decimal(3000), Decimal(6000))
    assert "3,000–6,000 AED" in rooms["text"]


@pytest.mark.parametrize(
    ("typed", "correction"),
    [
        ("abc", "could not read a price"),
        ("-500", "cannot be negative"),
        ("9000-3000", "lower price is above"),
        ("99999999999", "too large"),
        ("x" * 5000, "could not read a price"),
    ],
)
def test_nonsense_price_gets_a_correction_and_changes_nothing(
    running_bot, fake_telegram, city, typed, correction
):
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, "New search", "Testville", "Rent", "Any district")

    fake_telegram.send_message(RITA, typed)
    fake_telegram.wait_for_message(RITA, correction)

    search = SearchFilter.objects.get(subscriber__chat_id=RITA)
    assert (search.price_min, search.price_max, search.draft_step) == (None, None, "price")


def test_pressing_another_persons_button_changes_nothing(running_bot, fake_telegram, city):
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, "New search")
    ritas_draft = SearchFilter.objects.get(subscriber__chat_id=RITA)
    olegs_greeting = start(fake_telegram, OLEG)

    # Oleg forges a button naming Rita's search on a message of his own chat.
    forged = f"s:{ritas_draft.pk}:c:{city.pk}"
    fake_telegram.press_button(OLEG, forged, message_id=olegs_greeting["message_id"])
    fake_telegram.wait_until_idle()

    ritas_draft.refresh_from_db()
    assert ritas_draft.city is None
    assert fake_telegram.answered_callbacks()[-1]["text"] == "That is not your search."


@pytest.mark.parametrize(
    "payload", ["s:abc:c:1", "s:1", "nonsense", "s:999999:c:1", "", "pause:x", "del:"]
)
def test_a_malformed_or_stale_button_shows_the_current_state(
    running_bot, fake_telegram, payload, caplog
):
    greeting = start(fake_telegram, RITA)

    fake_telegram.press_button(RITA, payload, message_id=greeting["message_id"])
    fake_telegram.wait_until_idle()

    assert fake_telegram.answered_callbacks()[-1]["text"] == "That search no longer exists."
    fake_telegram.wait_for_message(RITA, "no saved searches")
    assert f"chat {RITA} pressed a stale or malformed button {payload!r}" in caplog.text


def test_a_draft_survives_a_bot_restart(telegram_settings, fake_telegram, city):
    first = RunningBot(fake_telegram).start()
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, "New search", "Testville", "Rent")
    first.stop()

    second = RunningBot(fake_telegram).start()
    try:
        press(fake_telegram, RITA, "Harbour", "Done", "Any price", "Done", "Save")
    finally:
        second.stop()

    search = SearchFilter.objects.get(subscriber__chat_id=RITA)
    assert not search.is_draft
    assert [d.name for d in search.districts.all()] == ["Harbour"]


def test_filters_lists_and_deletes_a_search(running_bot, fake_telegram, city):
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, "New search", "Testville", "Rent", "Any district", "Any price")
    press(fake_telegram, RITA, "Done", "Save")

    fake_telegram.send_message(RITA, "/filters")
    listing = fake_telegram.wait_for_message(RITA, "Your searches")
    assert listing["text"].count("Testville") == 1, "the name is said once"
    assert "1. Testville · rent · furnished or not" in listing["text"]
    press(fake_telegram, RITA, "Delete", "Yes, delete")

    fake_telegram.wait_for_message(RITA, "no saved searches")
    assert not SearchFilter.objects.filter(subscriber__chat_id=RITA).exists()


def test_a_renter_at_the_most_searches_is_told_to_delete_one_first(
    running_bot, fake_telegram, city, settings
):
    settings.MAX_SEARCHES_PER_SUBSCRIBER = 1
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, "New search", "Testville", "Rent", "Any district", "Any price")
    press(fake_telegram, RITA, "Done", "Save")

    fake_telegram.send_message(RITA, "/new")

    fake_telegram.wait_for_message(RITA, "as many searches as one person may (1)")
    assert SearchFilter.objects.filter(subscriber__chat_id=RITA).count() == 1


@pytest.mark.parametrize(
    ("code", "description", "retry_after"),
    [(429, "Too Many Requests: retry after 1", 1), (502, "Bad Gateway", None)],
)
def test_a_reply_refused_for_a_passing_reason_still_reaches_the_renter(
    running_bot, fake_telegram, code, description, retry_after
):
    start(fake_telegram, RITA)
    fake_telegram.fail_next(
        "sendMessage",
        error_code=code,
        description=description,
        retry_after=retry_after,
        chat_id=RITA,
    )

    fake_telegram.send_message(RITA, "/filters")

    fake_telegram.wait_for_message(RITA, "no saved searches")
    assert not any("went wrong" in m["text"] for m in fake_telegram.messages(RITA))
