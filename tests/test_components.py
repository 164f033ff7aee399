"""The three components in one process: each with its own PostgreSQL connection, so a slow
parser query never holds up the bot."""

import threading

import pytest
from django.db import connection

from listings.component import ParserComponent
from runtime.db import db
from runtime.models import Heartbeat
from subscriptions.component import WorkerComponent
from telegram_bot.component import BotComponent

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SLOW_QUERY_SECONDS = 4


def sleep_in_database(seconds):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(%s)", [seconds])


class SlowParser(ParserComponent):
    """A parser whose first unit of work is one slow query."""

    def __init__(self):
        super().__init__()
        self.sleeping = threading.Event()
        self.slept = threading.Event()

    async def parse_one_due_source(self):
        if not self.slept.is_set():
            self.sleeping.set()
            await db(sleep_in_database)(SLOW_QUERY_SECONDS)
            self.slept.set()
        return await super().parse_one_due_source()


def start_components(*components):
    threads = [
        threading.Thread(target=c.run_in_this_thread, name=c.name, daemon=True) for c in components
    ]
    for thread in threads:
        thread.start()
    return threads


def stop_components(components, threads):
    for component in components:
        component.request_stop()
    for thread in threads:
        thread.join(15)
    assert not any(t.is_alive() for t in threads), "a component did not stop"


def live_backend_pids():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return {row[0] for row in cursor.fetchall()}


def test_each_component_holds_its_own_connection(telegram_settings, fake_telegram):
    components = [BotComponent(), ParserComponent(), WorkerComponent()]
    threads = start_components(*components)
    try:
        fake_telegram.wait_for(
            lambda: Heartbeat.objects.filter(db_session__isnull=False).count() == 3,
            message="every component records a heartbeat",
        )
        sessions = dict(Heartbeat.objects.values_list("component", "db_session"))
        live = live_backend_pids()
    finally:
        stop_components(components, threads)

    assert set(sessions) == {"bot", "parser", "worker"}
    assert len(set(sessions.values())) == 3
    assert set(sessions.values()) <= live


def test_a_slow_parser_query_does_not_hold_up_a_bot_reply(telegram_settings, fake_telegram):
    bot, parser = BotComponent(), SlowParser()
    threads = start_components(bot, parser)
    try:
        fake_telegram.wait_for(
            lambda: Heartbeat.objects.filter(component="bot").exists(), message="bot started"
        )
        assert parser.sleeping.wait(10)

        fake_telegram.send_message(501, "/start")
        fake_telegram.wait_for(
            lambda: fake_telegram.messages(501),
            timeout=SLOW_QUERY_SECONDS - 1,
            message="the bot answers /start while the parser's query runs",
        )
        answered_during_the_query = not parser.slept.is_set()
    finally:
        stop_components([bot, parser], threads)

    assert answered_during_the_query


def test_components_survive_the_database_dropping_their_connections(
    telegram_settings, fake_telegram, settings
):
    settings.PARSER_IDLE_SECONDS = 0.2
    settings.WORKER_TICK_SECONDS = 0.2
    settings.HEARTBEAT_SECONDS = 0.2
    components = [BotComponent(), ParserComponent(), WorkerComponent()]
    threads = start_components(*components)
    try:
        fake_telegram.wait_for(lambda: len(sessions()) == 3, message="three heartbeats")
        before = sessions()
        with connection.cursor() as cursor:  # what a database restart does to them
            for pid in before.values():
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

        fake_telegram.wait_for(
            lambda: all(sessions().get(name) not in (None, pid) for name, pid in before.items()),
            timeout=20,
            message="every component reconnects",
        )
        fake_telegram.send_message(502, "/start")
        fake_telegram.wait_for_message(502, "Hi")
        restarts = dict(Heartbeat.objects.values_list("component", "restarts"))
    finally:
        stop_components(components, threads)

    assert restarts == {"bot": 0, "parser": 0, "worker": 0}, "reconnected without crashing"


def sessions():
    return dict(
        Heartbeat.objects.filter(db_session__isnull=False).values_list("component", "db_session")
    )
