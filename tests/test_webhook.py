"""Webhook mode: Telegram posts updates to us; only requests carrying the secret are read."""

import socket
import threading

import httpx
import pytest

from runtime.checks import check_webhook
from telegram_bot.component import BotComponent

pytestmark = pytest.mark.django_db(transaction=True)

RITA = 4501
SECRET = "s3cret-token_for-tests"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def webhook_bot(telegram_settings, fake_telegram, settings):
    port = free_port()
    settings.TELEGRAM_WEBHOOK_URL = f"http://127.0.0.1:{port}/telegram-updates"
    settings.TELEGRAM_WEBHOOK_SECRET = SECRET
    settings.TELEGRAM_WEBHOOK_PORT = port
    component = BotComponent()
    thread = threading.Thread(target=component.run_in_this_thread, daemon=True)
    thread.start()
    fake_telegram.wait_for(lambda: fake_telegram.webhook, message="the bot sets its webhook")
    yield settings.TELEGRAM_WEBHOOK_URL
    component.request_stop()
    thread.join(10)
    assert not thread.is_alive(), "the bot did not stop"


def post(url, update, secret):
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
    for _ in range(50):  # the server starts listening a moment after setWebhook
        try:
            return httpx.post(url, json=update, headers=headers, timeout=5)
        except httpx.ConnectError:
            threading.Event().wait(0.1)
    raise AssertionError("the webhook server never listened")


def test_the_bot_registers_its_webhook_with_the_secret(webhook_bot, fake_telegram):
    assert fake_telegram.webhook["url"] == webhook_bot
    assert fake_telegram.webhook["secret_token"] == SECRET
    assert fake_telegram.calls_to("getUpdates") == [], "no polling beside the webhook"


def test_an_update_with_the_secret_is_answered(webhook_bot, fake_telegram):
    update = fake_telegram.send_message(RITA, "/help")

    answer = post(webhook_bot, update, SECRET)

    assert answer.status_code == 200
    fake_telegram.wait_for_message(RITA, "/filters")


@pytest.mark.parametrize("secret", [None, "a-guess"], ids=["no secret", "a wrong secret"])
def test_an_update_without_the_secret_is_refused_and_ignored(webhook_bot, fake_telegram, secret):
    update = fake_telegram.send_message(RITA, "/help")

    answer = post(webhook_bot, update, secret)

    assert answer.status_code == 403
    # An update that does carry it, sent after: once it is answered, so would the first be.
    post(webhook_bot, fake_telegram.send_message(RITA, "/help"), SECRET)
    fake_telegram.wait_for_message(RITA, "/filters")
    assert len(fake_telegram.messages(RITA)) == 1


def test_a_webhook_without_a_secret_is_reported_before_start(settings):
    settings.TELEGRAM_WEBHOOK_URL = "https://127.0.0.1:8443/telegram-updates"
    settings.TELEGRAM_WEBHOOK_SECRET = ""

    problems = check_webhook(None)

    assert [problem.id for problem in problems] == ["rentwatch.E005"]
