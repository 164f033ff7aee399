"""How long the bot takes to answer while the parser parses: idle, busy in a thread, busy in a
worker process.

Run: `.venv/bin/python bench/bot_latency.py [--messages 120] [--text /help]`

The real bot component polls the fake Bot API (tests/fakes/telegram.py), both in this process,
on a temporary SQLite database. New users send `/start` one after another; a reply's latency is
the time from queuing the update to the bot's sendMessage reaching the fake server. Phases:

- idle: nothing else runs;
- busy-thread: a parser loop parses every saved page over and over, each in a thread of this
  process (`asyncio.to_thread(adapter.parse, page)`, the parser component's old way);
- busy-pool: the same loop through `listings.parsing_pool.parse_page`, in a worker process.

The phases take turns in rounds of ten messages. It prints p50 and p95 of each and the ratio of
each p95 to idle's. The machines are shared and noisy: compare the ratios of one run, never
absolute times.
"""

import argparse
import asyncio
import itertools
import math
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from parse_cost import FIXTURE_PAGES, FIXTURES_DIR

ROOT = Path(__file__).resolve().parent.parent
GOAL_POOL_OVER_IDLE_P95 = 1.5
FIRST_CHAT_ID = 700_000
ROUND_MESSAGES = 10


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=120, help="messages per phase")
    parser.add_argument(
        "--text", default="/start", help="what each user sends: /help is a reply without queries"
    )
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from tests.fakes import telegram

    # The fake server sends a response's headers and body in two writes; with Nagle's algorithm
    # the body then waits for the client's delayed ACK, about 40 ms on Linux. Real Telegram adds
    # no such floor, and it would hide most of what this benchmark is about.
    telegram._BotApiHandler.disable_nagle_algorithm = True

    with (
        tempfile.TemporaryDirectory(prefix="rentwatch_bench_") as folder,
        telegram.FakeTelegram() as fake,
    ):
        configure(fake, Path(folder) / "bench.sqlite3")
        results = run_phases(fake, args.messages, args.text)
    print_results(results, args.messages, args.text)


def configure(fake, database_path):
    """Django on a fresh SQLite file, its Bot pointed at the fake server, no rate limiting."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=f"sqlite:///{database_path}",
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_BASE_URL=fake.base_url,
        TELEGRAM_POLL_TIMEOUT="1",
        # Telegram's 30 messages a second would pace the replies we are timing.
        TELEGRAM_MESSAGES_PER_SECOND="100000",
        TELEGRAM_CHAT_INTERVAL_SECONDS="0",
        LOG_LEVEL="WARNING",
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def run_phases(fake, messages, text):
    """Latencies and parsing rate of each phase, measured in interleaved rounds."""
    from listings.parsing_pool import shutdown_pool

    parsers = {"idle": None, "busy-thread": parse_in_thread, "busy-pool": parse_in_pool}
    results = {phase: Phase() for phase in parsers}
    users = iter(range(FIRST_CHAT_ID, FIRST_CHAT_ID + 10 * messages))
    bot, bot_thread = start_bot(fake)
    try:
        time_replies(fake, users, 5, text)  # warm up: first queries, templates, connections
        # Rounds with the order rotating, so that a neighbour's load on this shared machine
        # falls on every phase alike rather than on whichever ran at that moment.
        for round_number in range(math.ceil(messages / ROUND_MESSAGES)):
            phases = list(parsers)
            shift = round_number % len(phases)
            for phase in phases[shift:] + phases[:shift]:
                results[phase].add_round(fake, users, text, parsers[phase])
        return results
    finally:
        bot.request_stop()
        bot_thread.join(10)
        shutdown_pool()


class Phase:
    """What one phase measured over its rounds."""

    def __init__(self):
        self.latencies = []
        self.pages_parsed = 0
        self.parsing_seconds = 0.0

    def add_round(self, fake, users, text, parse):
        if parse is None:
            self.latencies += time_replies(fake, users, ROUND_MESSAGES, text)
            return
        with ParsingLoop(parse) as loop:
            self.latencies += time_replies(fake, users, ROUND_MESSAGES, text)
        self.pages_parsed += loop.pages_parsed
        self.parsing_seconds += loop.seconds

    @property
    def pages_per_second(self):
        return self.pages_parsed / self.parsing_seconds if self.parsing_seconds else None


def start_bot(fake):
    """The real bot component in a thread, as runall runs it, once it polls for updates."""
    from telegram_bot.component import BotComponent

    bot = BotComponent()
    thread = threading.Thread(target=bot.run_in_this_thread, daemon=True)
    thread.start()
    fake.wait_for(lambda: fake.calls_to("getUpdates"), 30, "the bot polls for updates")
    return bot, thread


def time_replies(fake, users, count, text):
    """Seconds from queuing each message to its reply reaching the server, one user at a time."""
    latencies = []
    for _ in range(count):
        chat_id = next(users)
        queued_at = time.monotonic()
        fake.send_message(chat_id, text, user_id=chat_id)
        reply = fake.wait_for(
            lambda chat_id=chat_id: first_reply(fake, chat_id), 30, f"the bot answers {text}"
        )
        latencies.append(reply.at - queued_at)
        # A little jitter, so that messages do not keep landing at one phase of a parse.
        time.sleep(random.uniform(0.02, 0.06))
    return latencies


def first_reply(fake, chat_id):
    replies = [call for call in fake.calls_to("sendMessage") if call.chat_id == chat_id]
    return replies[0] if replies else None


async def parse_in_thread(adapter_name, page):
    from listings.adapters.base import get_adapter

    return await asyncio.to_thread(get_adapter(adapter_name).parse, page)


async def parse_in_pool(adapter_name, page):
    from listings.parsing_pool import parse_page

    return await parse_page(adapter_name, page)


class ParsingLoop:
    """A parser's event loop in a thread of its own, parsing every saved page until stopped."""

    def __init__(self, parse):
        self.parse = parse
        self.pages_parsed = 0
        self.seconds = 0.0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self.run()), daemon=True)
        self._warm = threading.Event()

    def __enter__(self):
        self._thread.start()
        # The first page starts the pool's process; the bot is timed once parsing is steady.
        self._warm.wait(60)
        return self

    def __exit__(self, *exc_info):
        self._stopping.set()
        self._thread.join(60)

    async def run(self):
        pages = load_pages()
        try:
            await self.parse(*pages[0])
        finally:
            self._warm.set()

        started = time.monotonic()
        for number in itertools.count():
            if self._stopping.is_set():
                break
            await self.parse(*pages[number % len(pages)])
            self.pages_parsed += 1
        self.seconds = time.monotonic() - started


def load_pages():
    from listings.adapters.base import Page

    pages = []
    for relative, adapter_name in FIXTURE_PAGES:
        path = FIXTURES_DIR / relative
        content_type = "application/json" if path.suffix == ".json" else "text/html"
        text = path.read_bytes().decode("utf-8")
        pages.append((adapter_name, Page(f"http://127.0.0.1/{relative}", text, content_type)))
    return pages


def percentile(values, share):
    """Nearest-rank percentile: the smallest value at or above `share` of them."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def print_results(results, messages, text):
    print(f"Bot {text} reply latency, {messages} messages per phase in interleaved rounds\n")
    print(f"{'phase':12} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'p95/idle':>9} {'pages/s':>8}")
    idle_p95 = percentile(results["idle"].latencies, 0.95)
    for name, phase in results.items():
        p95 = percentile(phase.latencies, 0.95)
        rate = phase.pages_per_second
        print(
            f"{name:12} {statistics.median(phase.latencies) * 1000:8.1f} {p95 * 1000:8.1f} "
            f"{max(phase.latencies) * 1000:8.1f} {p95 / idle_p95:9.2f} "
            + (f"{rate:8.1f}" if rate else f"{'-':>8}")
        )

    pool_ratio = percentile(results["busy-pool"].latencies, 0.95) / idle_p95
    verdict = "met" if pool_ratio <= GOAL_POOL_OVER_IDLE_P95 else "NOT met"
    print(f"\ngoal busy-pool/idle p95 <= {GOAL_POOL_OVER_IDLE_P95}: {pool_ratio:.2f}, {verdict}")


if __name__ == "__main__":
    main()
