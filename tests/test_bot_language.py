"""The bot speaks the renter's language: Telegram's guess first, their choice after."""

import pytest

from subscriptions.models import Delivery, Subscriber
from tests import factories as make
from tests.test_delivery import drain

pytestmark = pytest.mark.django_db(transaction=True)

IVAN = 4201


def test_a_russian_speaking_renter_is_greeted_in_russian(running_bot, fake_telegram):
    fake_telegram.send_message(IVAN, "/start", first_name="Иван", language_code="ru-RU")

    greeting = fake_telegram.wait_for_message(IVAN, "Здравствуйте, Иван")

    assert "Ваш пробный период действует до" in greeting["text"]
    assert Subscriber.objects.get(chat_id=IVAN).language == "ru"


def test_the_renter_switches_language_and_every_screen_follows(running_bot, fake_telegram):
    fake_telegram.send_message(IVAN, "/start", language_code="ru")
    fake_telegram.wait_for_message(IVAN, "Здравствуйте")

    fake_telegram.press(IVAN, "English")
    fake_telegram.wait_for_message(IVAN, "I speak English now")
    fake_telegram.send_message(IVAN, "/help")
    fake_telegram.wait_for_message(IVAN, "sends you new apartment listings")

    fake_telegram.send_message(IVAN, "/language")
    fake_telegram.wait_for_message(IVAN, "Which language")
    fake_telegram.press(IVAN, "Русский")
    fake_telegram.wait_for_message(IVAN, "говорю по-русски")
    assert Subscriber.objects.get(chat_id=IVAN).language == "ru"


def test_a_russian_speaker_builds_and_changes_a_search_in_russian(running_bot, fake_telegram):
    make.source(make.city(name="Testville", currency="AED", districts=("Old Town",)))
    fake_telegram.send_message(IVAN, "/start", language_code="ru")
    fake_telegram.wait_for_message(IVAN, "Здравствуйте")

    for button in ["Новый поиск", "Testville", "Аренда", "Любой район", "до 5,000 AED", "Готово"]:
        fake_telegram.press(IVAN, button)
    confirm = fake_telegram.wait_for_message(IVAN, "С мебелью или без?")
    assert "только с ценой · мебель неважна" in confirm["text"]
    for button in ["Без мебели", "Также объявления без цены", "Сохранить", "Изменить"]:
        fake_telegram.press(IVAN, button)

    screen = fake_telegram.wait_for_message(IVAN, "Что изменить?")
    assert "и без цены · без мебели" in screen["text"]
    assert "✏️ Переименовать" in dict(screen["buttons"])


def test_an_unknown_language_falls_back_to_english(running_bot, fake_telegram):
    fake_telegram.send_message(IVAN, "/start", language_code="xx")

    fake_telegram.wait_for_message(IVAN, "Hi")


def test_listings_reach_a_russian_speaker_in_russian(telegram_settings, fake_telegram):
    renter = make.subscriber(chat_id=IVAN)
    Subscriber.objects.filter(pk=renter.pk).update(language="ru")
    listing = make.listing(make.source(make.city()), price=9000, rooms=2)
    Delivery.objects.create(subscriber=renter, listing=listing)

    drain()

    [message] = fake_telegram.messages(IVAN)
    assert "Открыть объявление" in message["text"] and "/ месяц" in message["text"]
