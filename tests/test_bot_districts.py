"""Finding a district in a long list by typing a part of its name."""

import pytest

from subscriptions.models import SearchFilter
from tests import factories as make
from tests.test_bot_conversation import RITA, press, start

pytestmark = pytest.mark.django_db(transaction=True)

DISTRICTS = [f"Quarter {n:02d}" for n in range(1, 19)] + [
    "Harbour",
    "North Harbour",
    "Harbourside",
]


@pytest.fixture
def big_city():
    row = make.city(name="Bigville", currency="AED", districts=DISTRICTS)
    make.source(row)
    return row


def at_the_districts_step(fake_telegram):
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, "New search", "Bigville", "Rent")
    return fake_telegram.wait_for_message(RITA, "Or type a part of a name to find it")


def test_typed_text_shows_the_districts_it_matches_ignoring_case(
    running_bot, fake_telegram, big_city
):
    at_the_districts_step(fake_telegram)

    fake_telegram.send_message(RITA, "HARB")

    found = fake_telegram.wait_for_message(RITA, "Districts matching “HARB”")
    labels = [text for text, _ in found["buttons"]]
    assert labels[:3] == ["Harbour", "Harbourside", "North Harbour"]
    assert not any(label.startswith("Quarter") for label in labels)


def test_districts_ticked_among_the_matches_stay_on_that_screen(
    running_bot, fake_telegram, big_city
):
    at_the_districts_step(fake_telegram)
    fake_telegram.send_message(RITA, "harbour")
    fake_telegram.wait_for_message(RITA, "Districts matching")

    press(fake_telegram, RITA, "North Harbour", "Harbour")

    # Each press is answered before its screen changes: wait for the screen, not for idle.
    fake_telegram.wait_for(
        lambda: (
            {"✅ Harbour", "✅ North Harbour", "Harbourside"}
            <= set(dict(fake_telegram.last_message(RITA)["buttons"]))
        ),
        message="both districts ticked among the matches",
    )
    press(fake_telegram, RITA, "Done")
    fake_telegram.wait_for_message(RITA, "What monthly rent?")
    search = SearchFilter.objects.get(subscriber__chat_id=RITA)
    assert sorted(d.name for d in search.districts.all()) == ["Harbour", "North Harbour"]


def test_text_that_matches_no_district_gets_a_hint_for_this_step(
    running_bot, fake_telegram, big_city
):
    at_the_districts_step(fake_telegram)

    fake_telegram.send_message(RITA, "Atlantis")

    fake_telegram.wait_for_message(RITA, "No district matches “Atlantis”")
    assert SearchFilter.objects.get(subscriber__chat_id=RITA).draft_step == "districts"


def test_a_long_message_at_the_districts_step_gets_the_districts_hint(
    running_bot, fake_telegram, big_city
):
    at_the_districts_step(fake_telegram)

    fake_telegram.send_message(RITA, "Harbour " * 600)

    fake_telegram.wait_for_message(RITA, "Type a part of a district's name to find it")


def test_a_saved_search_finds_its_districts_by_typing_too(running_bot, fake_telegram, big_city):
    at_the_districts_step(fake_telegram)
    press(fake_telegram, RITA, "Any district", "Any price", "Done", "Save")
    fake_telegram.wait_for_message(RITA, "Saved")
    press(fake_telegram, RITA, "✏️ Change it", "📍 Districts")
    fake_telegram.wait_for_message(RITA, "Which districts?")

    fake_telegram.send_message(RITA, "side")
    fake_telegram.wait_for_message(RITA, "Districts matching “side”")
    press(fake_telegram, RITA, "Harbourside", "Done")

    fake_telegram.wait_for_message(RITA, "What shall I change?")
    search = SearchFilter.objects.get(subscriber__chat_id=RITA)
    assert (search.is_draft, [d.name for d in search.districts.all()]) == (False, ["Harbourside"])
