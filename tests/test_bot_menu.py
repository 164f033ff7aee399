"""The main menu under the message field: each label does what its command does, in the
renter's language."""

import pytest

from subscriptions.models import SearchFilter, Subscriber
from tests import factories as make
from tests.test_bot_conversation import RITA, start

pytestmark = pytest.mark.django_db(transaction=True)

IVAN = 4501
MENU_LABELS = [
    ["📋 My searches", "🔎 New search"],
    ["🔕 Pause all", "🔔 Resume all"],
    ["💳 Subscription", "❓ Help"],
]


def menus_sent(fake_telegram, chat_id):
    """The reply keyboards the bot sent to the chat, as rows of labels."""
    return [
        [
            [button if isinstance(button, str) else button["text"] for button in row]
            for row in markup["keyboard"]
        ]
        for call in fake_telegram.calls_to("sendMessage")
        if call.chat_id == chat_id
        and "keyboard" in (markup := call.params.get("reply_markup") or {})
    ]


def test_start_puts_the_menu_under_the_message_field(running_bot, fake_telegram):
    start(fake_telegram, RITA)

    assert menus_sent(fake_telegram, RITA) == [MENU_LABELS]


@pytest.mark.parametrize(
    ("label", "reply"),
    [
        ("📋 My searches", "Your searches"),
        ("🔎 New search", "Which city?"),
        ("🔕 Pause all", "Alerts stopped"),
        ("🔔 Resume all", "Your search was on already"),
        ("💳 Subscription", "Your free trial runs until"),
        ("❓ Help", "sends you new apartment listings"),
    ],
)
def test_each_menu_label_does_what_its_command_does(running_bot, fake_telegram, label, reply):
    start(fake_telegram, RITA)
    city = make.city()
    make.source(city)
    make.search(Subscriber.objects.get(chat_id=RITA), city, name="Flats")

    fake_telegram.send_message(RITA, label)

    fake_telegram.wait_for_message(RITA, reply)


def test_pause_all_from_the_menu_pauses_every_search(running_bot, fake_telegram):
    start(fake_telegram, RITA)
    make.search(Subscriber.objects.get(chat_id=RITA), make.city(), name="Flats")

    fake_telegram.send_message(RITA, "🔕 Pause all")
    fake_telegram.wait_for_message(RITA, "Alerts stopped")

    assert SearchFilter.objects.get(name="Flats").is_paused


def test_a_russian_speaker_gets_the_menu_in_russian_and_it_works(running_bot, fake_telegram):
    fake_telegram.send_message(IVAN, "/start", language_code="ru")
    fake_telegram.wait_for_message(IVAN, "Здравствуйте")
    [menu] = fake_telegram.wait_for(lambda: menus_sent(fake_telegram, IVAN))

    assert menu[0] == ["📋 Мои поиски", "🔎 Новый поиск"]
    fake_telegram.send_message(IVAN, "❓ Помощь")
    fake_telegram.wait_for_message(IVAN, "присылает")


def test_switching_language_sends_the_menu_in_the_new_language(running_bot, fake_telegram):
    start(fake_telegram, RITA)
    fake_telegram.send_message(RITA, "/language")
    fake_telegram.wait_for_message(RITA, "Which language")

    fake_telegram.press(RITA, "Русский")
    fake_telegram.wait_for_message(RITA, "Меню")

    assert menus_sent(fake_telegram, RITA)[-1][0] == ["📋 Мои поиски", "🔎 Новый поиск"]
    # The English keyboard may still show until the new one arrives: its labels keep working.
    fake_telegram.send_message(RITA, "❓ Help")
    fake_telegram.wait_for_message(RITA, "присылает")
