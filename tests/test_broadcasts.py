"""Staff broadcasts from the chat: previewed, confirmed, sent once to everyone with access."""

import pytest
from asgiref.sync import async_to_sync

from subscriptions.component import WorkerComponent
from subscriptions.models import Broadcast, BroadcastMessage
from telegram_bot.client import make_bot
from tests import factories as make

pytestmark = pytest.mark.django_db(transaction=True)

STAFF, STRANGER = 4401, 4402
TEXT = "We now watch Krisha too <b>& more</b>"


@pytest.fixture
def staff(settings):
    settings.TELEGRAM_STAFF_IDS = [STAFF]


@pytest.fixture
def renters():
    return [make.subscriber(), make.subscriber(), make.subscriber(blocked=True)]


def worker_tick():
    async def run():
        async with make_bot() as bot:
            return await WorkerComponent().tick(bot)

    return async_to_sync(run)()


def compose(fake_telegram, text=TEXT):
    fake_telegram.send_message(STAFF, f"/broadcast {text}")
    return fake_telegram.wait_for_message(STAFF, "Preview")


def test_staff_preview_confirm_and_everyone_with_access_gets_it_once(
    staff, renters, running_bot, fake_telegram
):
    expired = make.subscriber(active=False)
    preview = compose(fake_telegram)
    assert "this goes to 2 subscribers" in preview["text"]
    assert TEXT in preview["text"], "shown as typed, escaped rather than read as markup"

    fake_telegram.press(STAFF, "Send to 2")
    fake_telegram.wait_for_message(STAFF, "Broadcast going out: 0 of 2 sent")
    worker_tick()
    worker_tick()

    for renter in renters[:2]:
        assert [m["text"] for m in fake_telegram.messages(renter.chat_id)] == [TEXT]
    assert fake_telegram.messages(renters[2].chat_id) == []
    assert TEXT not in [m["text"] for m in fake_telegram.messages(expired.chat_id)]
    fake_telegram.wait_for_message(STAFF, "Broadcast sent: 2 of 2 delivered, 0 failed.")
    assert Broadcast.objects.get().state == Broadcast.State.DONE


def test_pressing_send_twice_sends_once(staff, renters, running_bot, fake_telegram):
    preview = compose(fake_telegram)
    send = dict(preview["buttons"])["Send to 2"]

    for _ in range(2):
        fake_telegram.press_button(STAFF, send, message_id=preview["message_id"])
        fake_telegram.wait_until_idle()

    assert BroadcastMessage.objects.count() == 2


def test_a_cancelled_broadcast_reaches_nobody(staff, renters, running_bot, fake_telegram):
    compose(fake_telegram)
    fake_telegram.press(STAFF, "Cancel")
    fake_telegram.wait_for_message(STAFF, "Broadcast cancelled.")

    worker_tick()

    assert all(fake_telegram.messages(r.chat_id) == [] for r in renters)


def test_anyone_else_gets_the_ordinary_help(staff, renters, running_bot, fake_telegram):
    fake_telegram.send_message(STRANGER, f"/broadcast {TEXT}")

    fake_telegram.wait_for_message(STRANGER, "/filters")
    assert not Broadcast.objects.exists()
