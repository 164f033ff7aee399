"""Buttons pressed on screens that no longer fit the database still get a sensible answer."""

import pytest

from listings.models import City
from subscriptions.models import SearchFilter
from tests import factories as make
from tests.test_bot_conversation import RITA, press, start

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def city():
    row = make.city(name="Testville", currency="AED", districts=("Old Town", "Harbour"))
    make.source(row)
    return row


def test_a_button_for_a_deleted_city_is_answered_and_shows_the_current_state(
    running_bot, fake_telegram, city
):
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, "New search")
    draft = SearchFilter.objects.get(subscriber__chat_id=RITA)
    gone = City.objects.create(name="Ghosttown", country="AE", currency="AED")
    gone_id = gone.pk
    gone.delete()

    # The city screen was drawn while Ghosttown existed; staff have removed it since.
    city_screen = fake_telegram.last_message(RITA)
    fake_telegram.press_button(
        RITA, f"s:{draft.pk}:c:{gone_id}", message_id=city_screen["message_id"]
    )
    fake_telegram.wait_until_idle()

    assert fake_telegram.answered_callbacks()[-1]["text"] == "That search no longer exists."
    assert not any("went wrong" in m["text"] for m in fake_telegram.messages(RITA))


def test_a_screen_that_cannot_be_edited_arrives_as_a_new_message(running_bot, fake_telegram, city):
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, "New search")
    fake_telegram.fail_next(
        "editMessageText", error_code=400, description="Bad Request: message can't be edited"
    )

    # The press is answered before the screen changes, so wait for the screen, not for idle.
    fake_telegram.press(RITA, "Testville")
    fake_telegram.wait_for_message(RITA, "Rent or buy?")

    assert not any("went wrong" in m["text"] for m in fake_telegram.messages(RITA))


def test_a_city_without_districts_skips_the_district_question(running_bot, fake_telegram):
    make.source(make.city(name="Bareville", currency="EUR", districts=()))
    start(fake_telegram, RITA)

    press(fake_telegram, RITA, "New search", "Bareville", "Rent")

    fake_telegram.wait_for_message(RITA, "What monthly rent?")


def test_without_trials_a_newcomer_is_not_sent_to_a_missing_command(
    running_bot, fake_telegram, settings
):
    settings.TRIAL_DAYS = 0

    greeting = start(fake_telegram, RITA)

    assert "no active subscription" in greeting["text"]
    assert "/subscription" not in greeting["text"]
