"""Text or a sticker that does not answer the question on screen earns a pointer that fits
that question, and changes nothing."""

import pytest

from subscriptions.models import SearchFilter
from tests import factories as make
from tests.test_bot_conversation import RITA, press, start

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def city():
    row = make.city(name="Testville", currency="AED", districts=("Old Town", "Harbour"))
    make.source(row)
    return row


@pytest.mark.parametrize(
    ("buttons", "hint"),
    [
        (["New search"], "Press the button of a city above"),
        (["New search", "Testville"], "Press Rent or Buy above"),
        (
            ["New search", "Testville", "Rent", "Any district", "Any price"],
            "Press the room counts",
        ),
        (
            ["New search", "Testville", "Rent", "Any district", "Any price", "Done"],
            "Press Save above",
        ),
    ],
)
def test_typed_text_gets_a_hint_for_the_question_on_screen(
    running_bot, fake_telegram, city, buttons, hint
):
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, *buttons)
    before = SearchFilter.objects.values().get(subscriber__chat_id=RITA)

    fake_telegram.send_message(RITA, "two bedrooms please")

    fake_telegram.wait_for_message(RITA, hint)
    assert SearchFilter.objects.values().get(subscriber__chat_id=RITA) == before
