"""Shared fixtures: the fake Telegram Bot API, the local listing site, the database kind."""

import threading

import pytest
from django.conf import settings
from django.test import override_settings

from telegram_bot import ratelimit
from telegram_bot.ratelimit import SharedRateLimiter
from tests import factories as make
from tests.e2e import fresh_database_url
from tests.fakes.site import FakeSite
from tests.fakes.telegram import FakeTelegram
from tests.pages import FIXTURES_DIR


def on_postgresql():
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def pytest_collection_modifyitems(config, items):
    if on_postgresql():
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://…")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def quick_fetching(settings):
    """No politeness delays against our own local site."""
    settings.FETCH_HOST_DELAY_SECONDS = 0
    settings.FETCH_BACKOFF_SECONDS = 0.01
    # Parse in a thread: a worker process per test costs a second; test_parsing_pool
    # covers the process pool.
    settings.PARSER_PROCESSES = 0


@pytest.fixture(autouse=True)
def generous_rate_limits(monkeypatch):
    """Telegram's real limits would make every test wait a second per message to a chat;
    tests of the limits build their own limiter."""
    monkeypatch.setattr(ratelimit, "_shared", SharedRateLimiter(1000, 0.0, 1000))


@pytest.fixture
def fake_telegram():
    with FakeTelegram() as server:
        yield server


@pytest.fixture
def fake_site():
    with FakeSite(FIXTURES_DIR) as site:
        yield site


@pytest.fixture
def telegram_settings(fake_telegram):
    """Point every Bot this process builds at the fake server, polling briefly."""
    with override_settings(
        TELEGRAM_BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_BASE_URL=fake_telegram.base_url,
        TELEGRAM_POLL_TIMEOUT=1,
    ):
        yield


class RunningBot:
    """The real bot component, polling the fake Bot API from a thread of its own."""

    def __init__(self, fake_telegram):
        from telegram_bot.component import BotComponent

        self.fake_telegram = fake_telegram
        self.component = BotComponent()
        self.thread = threading.Thread(target=self.component.run_in_this_thread, daemon=True)

    def start(self):
        polls_before = len(self.fake_telegram.calls_to("getUpdates"))
        self.thread.start()
        self.fake_telegram.wait_for(
            lambda: len(self.fake_telegram.calls_to("getUpdates")) > polls_before,
            message="the bot polls for updates",
        )
        return self

    def stop(self):
        self.component.request_stop()
        self.thread.join(10)
        assert not self.thread.is_alive(), "the bot did not stop"


@pytest.fixture
def running_bot(transactional_db, telegram_settings, fake_telegram):
    # Depends on transactional_db so that the bot stops before the database is flushed.
    bot = RunningBot(fake_telegram).start()
    yield bot
    if bot.thread.is_alive():
        bot.stop()


@pytest.fixture
def fresh_database(tmp_path):
    """A URL to an empty database of its own, for management commands run as subprocesses."""
    url, drop = fresh_database_url(tmp_path)
    yield url
    drop()


@pytest.fixture
def city():
    """A city with two districts; modules needing another one define their own."""
    return make.city()


@pytest.fixture
def source(city):
    return make.source(city)
