"""Updates Telegram sends that the chat cannot simply answer: presses without a message,
messages without text, and replies Telegram refuses for good. None may crash a handler or
start a loop of apologies."""

import time

import pytest

from subscriptions.models import SearchFilter, Subscriber
from tests import factories as make
from tests.test_bot_conversation import RITA, press, start

pytestmark = pytest.mark.django_db(transaction=True)


def queue_update(fake_telegram, content):
    # The fake's public helpers press buttons on messages it holds and send text; these
    # updates are neither, so they go into its queue as Telegram would send them.
    return fake_telegram._queue_update(content)


def rita():
    return {"id": RITA, "is_bot": False, "first_name": "Rita", "language_code": "en"}


def bot_texts(fake_telegram):
    return [m["text"] for m in fake_telegram.messages(RITA)]


@pytest.mark.parametrize(
    "where",
    [
        {"inline_message_id": "AAEAAAE"},
        # A message too old for Telegram to hand out again comes with a date of 0.
        {"message": {"message_id": 1, "date": 0, "chat": {"id": RITA, "type": "private"}}},
    ],
    ids=["inline message", "inaccessible message"],
)
def test_a_press_without_a_message_shows_the_screen_anew(running_bot, fake_telegram, where):
    start(fake_telegram, RITA)
    make.search(Subscriber.objects.get(chat_id=RITA), make.city(), name="Flats")

    press_without_message = {"id": "99", "from": rita(), "chat_instance": "1", "data": "list"}
    queue_update(fake_telegram, {"callback_query": press_without_message | where})

    fake_telegram.wait_for_message(RITA, "Your searches")
    assert not any("went wrong" in text for text in bot_texts(fake_telegram))
    assert any(text.startswith("👋 Hi") for text in bot_texts(fake_telegram)), "nothing edited"


def test_a_sticker_at_the_price_question_gets_the_price_hint(running_bot, fake_telegram):
    make.source(make.city(name="Testville", currency="AED"))
    start(fake_telegram, RITA)
    press(fake_telegram, RITA, "New search", "Testville", "Rent", "Any district")
    fake_telegram.wait_for_message(RITA, "What monthly rent?")

    sticker = {
        "file_id": "CAAC1", "file_unique_id": "AQAD1", "width": 512, "height": 512,
        "is_animated": False, "is_video": False, "type": "regular",
    }  # fmt: skip
    chat = {"id": RITA, "type": "private", "first_name": "Rita"}
    message = {"message_id": 900, "date": int(time.time()), "chat": chat, "from": rita()}
    queue_update(fake_telegram, {"message": message | {"sticker": sticker}})

    fake_telegram.wait_for_message(RITA, "I could not read a price there")
    assert SearchFilter.objects.get(subscriber__chat_id=RITA).draft_step == "price"


@pytest.mark.parametrize(
    "description", ["Forbidden: bot was blocked by the user", "Forbidden: user is deactivated"]
)
def test_a_chat_that_refuses_our_reply_is_marked_blocked_without_apologies(
    running_bot, fake_telegram, description
):
    start(fake_telegram, RITA)
    replies_before = len(fake_telegram.calls_to("sendMessage"))
    fake_telegram.fail_next("sendMessage", error_code=403, description=description, chat_id=RITA)

    fake_telegram.send_message(RITA, "/help")
    fake_telegram.wait_for(lambda: Subscriber.objects.get(chat_id=RITA).blocked_at is not None)
    fake_telegram.wait_until_idle()

    assert len(fake_telegram.calls_to("sendMessage")) == replies_before + 1, "no apology sent"
    assert not any("went wrong" in text for text in bot_texts(fake_telegram))


def test_a_reply_refused_for_good_earns_one_short_apology_and_no_retry(running_bot, fake_telegram):
    start(fake_telegram, RITA)
    replies_before = len(fake_telegram.calls_to("sendMessage"))
    fake_telegram.fail_next(
        "sendMessage", error_code=400, description="Bad Request: message is too long", chat_id=RITA
    )

    fake_telegram.send_message(RITA, "/help")

    fake_telegram.wait_for_message(RITA, "Telegram would not show that")
    fake_telegram.wait_until_idle()
    assert len(fake_telegram.calls_to("sendMessage")) == replies_before + 2
    assert Subscriber.objects.get(chat_id=RITA).blocked_at is None


def test_when_the_apology_is_refused_too_the_bot_carries_on(running_bot, fake_telegram):
    start(fake_telegram, RITA)
    replies_before = len(fake_telegram.calls_to("sendMessage"))
    fake_telegram.fail_next(
        "sendMessage",
        error_code=400,
        description="Bad Request: message is too long",
        chat_id=RITA,
        times=2,
    )

    fake_telegram.send_message(RITA, "/help")
    fake_telegram.wait_for(
        lambda: len(fake_telegram.calls_to("sendMessage")) == replies_before + 2,
        message="the reply and one apology are tried",
    )
    fake_telegram.wait_until_idle()
    fake_telegram.send_message(RITA, "/help")

    fake_telegram.wait_for_message(RITA, "sends you new apartment listings")
    assert len(fake_telegram.calls_to("sendMessage")) == replies_before + 3
