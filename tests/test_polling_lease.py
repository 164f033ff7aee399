"""One poller per bot token: a second bot refuses to poll, in one line, and the first goes on."""

import logging
import os
import socket
import subprocess
import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from runtime.leases import Holder, PollingRefused, take_polling_lease
from runtime.models import PollingLease
from telegram_bot.component import BotComponent
from tests.conftest import RunningBot
from tests.e2e import MANAGE, Runall, command_env, manage
from tests.fakes.telegram import POLL_CONFLICT
from tests.pages import PROJECT_DIR

RITA, OMAR = 5101, 5102
BOT_ID = 123456
REFUSAL = "another process polls for this bot"


def bot_id(fake_telegram):
    return int(fake_telegram.token.split(":")[0])


def refused_bot():
    """A bot component run until it gives up by itself; returns it once its thread ended."""
    bot = BotComponent()
    thread = threading.Thread(target=bot.run_in_this_thread, daemon=True)
    thread.start()
    thread.join(10)
    assert not thread.is_alive(), "the second bot kept running"
    return bot


def replies_to_help(fake_telegram, chat_id):
    """The user asks for /help; returns every bot message in the chat once the bot is idle."""
    fake_telegram.send_message(chat_id, "/help")
    fake_telegram.wait_for(lambda: fake_telegram.messages(chat_id), 15, "the bot answers /help")
    fake_telegram.wait_until_idle()
    return fake_telegram.messages(chat_id)


def conflicts(fake_telegram):
    return [
        call
        for call in fake_telegram.calls_to("getUpdates")
        if call.response and call.response.get("error_code") == 409
    ]


def lease_left_by(fake_telegram, hostname, pid, expires_in):
    now = timezone.now()
    return PollingLease.objects.create(
        bot_id=bot_id(fake_telegram),
        hostname=hostname,
        pid=pid,
        instance="0" * 32,
        acquired_at=now - timedelta(minutes=10),
        expires_at=now + expires_in,
    )


def test_a_second_bot_refuses_to_poll_and_the_first_keeps_answering(
    running_bot, fake_telegram, caplog
):
    calls_before = len(fake_telegram.calls)

    second = refused_bot()

    assert second.fatal.startswith(f"bot: {REFUSAL} (host {socket.gethostname()} pid ")
    assert "stop it, or run runparser/runworker here instead" in second.fatal
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1 and REFUSAL in lines[0].message and not lines[0].exc_info
    # The second bot never spoke to Telegram: no getMe, no commands, no poll of its own.
    assert {c.method for c in fake_telegram.calls[calls_before:]} <= {"getUpdates"}
    assert conflicts(fake_telegram) == []

    assert len(replies_to_help(fake_telegram, RITA)) == 1


def test_a_bot_started_after_the_first_stopped_cleanly_polls_at_once(running_bot, fake_telegram):
    running_bot.stop()
    assert not PollingLease.objects.exists(), "a clean stop gives the lease up"

    started = time.monotonic()
    second = RunningBot(fake_telegram).start()
    try:
        assert len(replies_to_help(fake_telegram, RITA)) == 1
    finally:
        second.stop()

    assert time.monotonic() - started < 5
    assert conflicts(fake_telegram) == []


@pytest.mark.django_db(transaction=True)
def test_a_live_lease_of_another_machine_is_respected_and_named(telegram_settings, fake_telegram):
    lease_left_by(fake_telegram, "flat-hunter-2", 4242, expires_in=timedelta(minutes=1))

    bot = refused_bot()

    assert f"{REFUSAL} (host flat-hunter-2 pid 4242, lease until " in bot.fatal
    assert fake_telegram.calls == []
    assert PollingLease.objects.get().hostname == "flat-hunter-2"


@pytest.mark.django_db(transaction=True)
def test_a_lease_left_by_a_killed_process_is_taken_over(telegram_settings, fake_telegram):
    lease_left_by(fake_telegram, "flat-hunter-2", 4242, expires_in=timedelta(seconds=-1))

    bot = RunningBot(fake_telegram).start()
    try:
        assert len(replies_to_help(fake_telegram, RITA)) == 1
        lease = PollingLease.objects.get()
    finally:
        bot.stop()

    assert (lease.hostname, lease.pid) == (socket.gethostname(), os.getpid())
    assert lease.expires_at > timezone.now()


@pytest.mark.django_db(transaction=True)
def test_a_live_lease_of_a_process_killed_on_this_machine_is_taken_over_at_once(
    telegram_settings, fake_telegram
):
    dead = subprocess.Popen(["true"])
    dead.wait()
    lease_left_by(fake_telegram, socket.gethostname(), dead.pid, expires_in=timedelta(minutes=1))

    bot = RunningBot(fake_telegram).start()
    try:
        assert len(replies_to_help(fake_telegram, RITA)) == 1
        lease = PollingLease.objects.get()
    finally:
        bot.stop()

    assert lease.pid == os.getpid()


def test_a_live_lease_of_a_running_process_on_this_machine_is_respected(
    telegram_settings, fake_telegram, db
):
    alive = subprocess.Popen(["sleep", "30"])
    try:
        lease_left_by(fake_telegram, socket.gethostname(), alive.pid, timedelta(minutes=1))
        holder = Holder(socket.gethostname(), os.getpid(), uuid.uuid4().hex)
        with pytest.raises(PollingRefused):
            take_polling_lease(bot_id(fake_telegram), holder, 60)
    finally:
        alive.kill()
        alive.wait()


@pytest.mark.django_db(transaction=True)
def test_a_bot_whose_lease_was_taken_stops_polling(telegram_settings, fake_telegram, settings):
    settings.HEARTBEAT_SECONDS = 0.1
    bot = RunningBot(fake_telegram).start()

    # As if this bot had stalled past its lease and another process had taken it.
    PollingLease.objects.update(
        hostname="flat-hunter-2", pid=4242, instance="0" * 32,
        expires_at=timezone.now() + timedelta(minutes=1),
    )  # fmt: skip
    bot.thread.join(10)

    # Its thread, and with it its event loop and PTB's updater, is gone: nothing polls.
    assert not bot.thread.is_alive(), "the bot kept polling without its lease"
    lost = "another process took over polling for this bot (host flat-hunter-2 pid 4242"
    assert lost in bot.component.fatal
    assert PollingLease.objects.get().hostname == "flat-hunter-2", "the new holder keeps it"


@pytest.mark.django_db(transaction=True)
def test_a_lease_deleted_in_admin_under_a_live_bot_is_written_again(
    telegram_settings, fake_telegram, settings
):
    settings.HEARTBEAT_SECONDS = 0.1
    bot = RunningBot(fake_telegram).start()
    try:
        PollingLease.objects.all().delete()
        fake_telegram.wait_for(PollingLease.objects.exists, message="the bot writes it again")
        assert len(replies_to_help(fake_telegram, RITA)) == 1
    finally:
        bot.stop()

    assert not bot.component.fatal


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("left_behind", [False, True], ids=["no lease", "an expired lease"])
def test_of_bots_starting_at_the_same_moment_exactly_one_gets_the_lease(left_behind):
    if left_behind:
        PollingLease.objects.create(
            bot_id=BOT_ID, hostname="flat-hunter-2", pid=4242, instance="0" * 32,
            acquired_at=timezone.now(), expires_at=timezone.now() - timedelta(seconds=1),
        )  # fmt: skip
    holders = [Holder("flat-hunter-1", 1000 + n, uuid.uuid4().hex) for n in range(6)]
    all_ready = threading.Barrier(len(holders))
    outcomes = []

    def start(holder):
        all_ready.wait()
        try:
            take_polling_lease(BOT_ID, holder, 60)
            outcomes.append(holder.instance)
        except PollingRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=[holder]) for holder in holders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    winners = [outcome for outcome in outcomes if outcome != "refused"]
    assert len(outcomes) == len(holders) and len(winners) == 1
    assert PollingLease.objects.get().instance == winners[0]


def test_a_conflict_from_telegram_is_said_once_and_polling_goes_on(
    running_bot, fake_telegram, caplog
):
    fake_telegram.fail_next("getUpdates", error_code=409, description=POLL_CONFLICT, times=2)

    assert len(replies_to_help(fake_telegram, RITA)) == 1

    assert len(conflicts(fake_telegram)) == 2
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) == 1, [r.message for r in lines]
    assert "409 (Conflict: terminated by other getUpdates" in lines[0].message
    assert "same token" in lines[0].message
    assert not lines[0].exc_info
    assert running_bot.thread.is_alive()


# -- two runall processes, as an operator would start them


@pytest.mark.e2e
def test_a_second_runall_with_the_same_token_exits_in_one_line_and_the_first_answers(
    request, tmp_path, fresh_database, fake_telegram
):
    env = command_env(
        DATABASE_URL=fresh_database,
        TELEGRAM_BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_BASE_URL=fake_telegram.base_url,
        TELEGRAM_POLL_TIMEOUT=5,
        PARSER_IDLE_SECONDS=0.3,
        WORKER_TICK_SECONDS=1,
    )
    manage(env, "migrate", "--verbosity", "0")
    first = start_polling(request, env, tmp_path / "first.log")

    started = time.monotonic()
    second = subprocess.run(
        [*MANAGE, "runall"], env=env, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60
    )
    took = time.monotonic() - started

    assert second.returncode == 1, second.stderr
    last_line = second.stderr.strip().splitlines()[-1]
    assert f"{REFUSAL} (host {socket.gethostname()} pid {first.process.pid}," in last_line
    assert "Traceback" not in second.stderr and "did not stop" not in second.stderr
    assert "is polling for updates" not in second.stderr
    assert took < 20
    assert conflicts(fake_telegram) == []

    assert len(replies_to_help(fake_telegram, RITA)) == 1
    assert first.terminate()[0] == 0

    third = start_polling(request, env, tmp_path / "third.log")
    assert len(replies_to_help(fake_telegram, OMAR)) == 1
    assert third.terminate()[0] == 0
    assert conflicts(fake_telegram) == []


def start_polling(request, env, log_path):
    """Start runall and wait until its bot polls; its log is printed when the test ends."""
    runall = Runall(env, log_path)
    request.addfinalizer(runall.stop)
    request.addfinalizer(lambda: print(f"{log_path.name}:\n{runall.output()}"))
    deadline = time.monotonic() + 30
    while "is polling for updates" not in runall.output():
        assert runall.process.poll() is None, runall.output()
        assert time.monotonic() < deadline, "runall's bot never polled:\n" + runall.output()
        time.sleep(0.05)
    return runall
