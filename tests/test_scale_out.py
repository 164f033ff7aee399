"""Scaled out: two `runparser` and two `runworker` processes against one PostgreSQL.

The site sees each search page at most once per poll interval, each renter receives each
listing once, and each reminder and expiry notice reaches its chat once.
"""

import collections
import itertools
import json
import threading
import time

import psycopg
import pytest

from tests.e2e import Runall, command_env, manage
from tests.fakes.site import FakeSite
from tests.pages import FIXTURES_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

INTERVAL = 2  # seconds between two runs of one source
RUNS_PER_SOURCE = 3  # runs of each source before the test looks: each later one was raced for
DEADLINE = 60  # seconds for everything to be fetched, sent and told
# Times come from different processes' clocks (and run records round to microseconds).
CLOCK_SLACK = 0.05

# Rental pages, the adapter reading each and the city its listings are in.
PAGES = {
    "halooglasi/search-api_rent_beograd_2025-06.json": ("halooglasi", "Beograd"),
    "kleinanzeigen/search_rent_berlin_2026.html": ("kleinanzeigen", "Berlin"),
    "wg-gesucht/search_rent_berlin_2023-08.html": ("wggesucht", "Berlin"),
    "pararius/search_rent_delft_2026-07.html": ("pararius", "Delft"),
    "krisha/search_rent_almaty-medeu_2022-11.html": ("krisha", "Almaty"),
    "bayut/search-api-hits_rent_dubai_2022-09.json": ("bayut", "Dubai"),
}
# What each reminder (by days before the end) and the expiry notice say.
REMINDERS = {3: "access ends in 3 days", 1: "access ends tomorrow"}
EXPIRY_NOTICE = "access has ended"
# (chat id, city searched for everything to rent, hours of access left, reminders already sent).
# A chat has one message in flight at a time, so the listings are spread over several chats.
RENTERS = [
    (8001, "Beograd", 24 * 30, []),
    (8002, "Berlin", 60, []),  # the three-day reminder is due
    (8003, "Berlin", 24 * 30, []),
    (8004, "Delft", 20, [3]),  # told three days ahead already: the one-day reminder is due
    (8005, "Almaty", 24 * 30, []),
    (8006, "Almaty", 60, []),
    (8007, "Dubai", 20, [3]),
    (8008, "Dubai", 24 * 30, []),
    (8009, "Dubai", -2, []),  # lapsed two hours ago: told so, and sent no listings
    (8010, None, -1, []),
    (8011, None, -1, []),
]

SEED = """
import json, os
from datetime import timedelta
from django.utils import timezone
from listings.models import City, Source
from subscriptions.models import SearchFilter, Subscriber, Subscription

plan, now = json.loads(os.environ["SCALE_OUT_PLAN"]), timezone.now()
for url, adapter, city in plan["sources"]:
    Source.objects.create(name=url.rsplit("/", 2)[-2], adapter=adapter, search_url=url,
                          city=City.objects.get(name=city), poll_interval_seconds=plan["interval"])
for chat_id, city, hours, reminded in plan["renters"]:
    renter = Subscriber.objects.create(chat_id=chat_id, user_id=chat_id, language="en")
    Subscription.objects.create(subscriber=renter, kind="paid", reminders_sent=reminded,
                                expires_at=now + timedelta(hours=hours))
    if city:
        SearchFilter.objects.create(subscriber=renter, city=City.objects.get(name=city),
                                    name=f"All of {city}", is_draft=False)
"""


class TimedSite(FakeSite):
    """The fake site, noting when each request arrived."""

    def __init__(self, root):
        super().__init__(root)
        # Path with query → wall-clock times, the clock runs are scheduled by. When the
        # machine's wall clock is stepped forward (CI saw 6 s at once), a run due by it comes
        # early by the monotonic clock, and the test would see a fetch that was not one.
        self.arrivals = collections.defaultdict(list)
        self._arrivals_lock = threading.Lock()

    def answer(self, method, raw_path, headers):
        with self._arrivals_lock:
            self.arrivals[raw_path].append(time.time())
        return super().answer(method, raw_path, headers)


@pytest.fixture
def timed_site():
    with TimedSite(FIXTURES_DIR) as site:
        yield site


def test_two_parsers_and_two_workers_fetch_send_and_remind_once(
    request, tmp_path, fresh_database, fake_telegram, timed_site
):
    env = scaled_out_env(fresh_database, fake_telegram)
    manage(env, "migrate", "--verbosity", "0")
    plan = {
        "interval": INTERVAL,
        "sources": [[timed_site.url(page), *read_by] for page, read_by in PAGES.items()],
        "renters": RENTERS,
    }
    manage(env | {"SCALE_OUT_PLAN": json.dumps(plan)}, "shell", "-c", SEED)

    commands = ["runparser", "runparser", "runworker", "runworker"]
    processes = [Runall(env, tmp_path / f"{c}-{n}.log", c) for n, c in enumerate(commands)]
    request.addfinalizer(lambda: print(*(f"{p.log_path.name}:\n{p.output()}" for p in processes)))
    try:
        with psycopg.connect(fresh_database, autocommit=True) as database:
            wait_until_all_done(database, fake_telegram, processes)
            exit_codes = [process.terminate()[0] for process in processes]
            deliveries = delivery_rows(database)
            expected = expected_deliveries(database)
            run_starts = fetch_run_starts(database)
    finally:
        for process in processes:
            process.stop()

    assert exit_codes == [0, 0, 0, 0]
    assert_each_page_fetched_at_most_once_an_interval(timed_site, run_starts)
    assert_each_listing_reached_each_renter_once(fake_telegram, deliveries, expected)
    assert_each_notice_reached_its_chat_once(fake_telegram)

    parser_logs = [process.output() for process in processes[:2]]
    assert all("state=ok" in log for log in parser_logs), "both parsers fetched sources"
    assert all("sent delivery" in log for log in parser_logs), "both parsers sent listings"


def scaled_out_env(database_url, fake_telegram):
    return command_env(
        DATABASE_URL=database_url,
        TELEGRAM_BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_BASE_URL=fake_telegram.base_url,
        # Hundreds of messages to a few chats: Telegram's one a second per chat would take
        # minutes, and the limiter is not what this test is about.
        TELEGRAM_CHAT_INTERVAL_SECONDS=0,
        TELEGRAM_MESSAGES_PER_SECOND=200,
        PARSER_IDLE_SECONDS=0.2,
        PARSER_PROCESSES=0,
        FETCH_HOST_DELAY_SECONDS=0,
        WORKER_TICK_SECONDS=0.5,
        REMINDER_DAYS=",".join(map(str, REMINDERS)),
    )


def wait_until_all_done(database, fake_telegram, processes):
    """Poll until every source ran several times, the outbox is empty and every notice went
    out; fail with what is missing at the deadline."""
    deadline = time.monotonic() + DEADLINE
    while True:
        missing = what_is_missing(database, fake_telegram)
        if not missing:
            return
        exited = [p.log_path.name for p in processes if p.process.poll() is not None]
        assert not exited, f"{exited} exited early"
        assert time.monotonic() < deadline, f"after {DEADLINE} s: {missing}"
        time.sleep(0.2)


def what_is_missing(database, fake_telegram):
    """What the processes have still to do, in words; empty when they are done."""
    runs = dict(database.execute("SELECT source_id, count(*) FROM listings_fetchrun GROUP BY 1"))
    sources = [row[0] for row in database.execute("SELECT id FROM listings_source")]
    waiting = database.execute(
        "SELECT count(*) FROM subscriptions_delivery WHERE state IN ('pending', 'sending')"
    ).fetchone()[0]

    missing = []
    if any(runs.get(source, 0) < RUNS_PER_SOURCE for source in sources):
        missing.append(f"{RUNS_PER_SOURCE} runs of each source (have {runs})")
    if waiting:
        missing.append(f"{waiting} deliveries waiting")
    if missing:
        return missing
    # Reading the chats holds the fake's lock and copies every message: only once the
    # database says the rest is done.
    untold = sum((expected_notices() - notices_received(fake_telegram)).values())
    if untold:
        missing.append(f"{untold} reminders and expiry notices")
    return missing


def delivery_rows(database):
    """(chat id, listing URL, state) of every delivery."""
    return database.execute(
        """SELECT s.chat_id, l.url, d.state FROM subscriptions_delivery d
           JOIN subscriptions_subscriber s ON s.id = d.subscriber_id
           JOIN listings_listing l ON l.id = d.listing_id"""
    ).fetchall()


def expected_deliveries(database):
    """(chat id, listing URL) for every listing stored in a city a renter with access watches:
    the answer worked out without the matching SQL."""
    watching = [(chat, city) for chat, city, hours, _ in RENTERS if city and hours > 0]
    listings = database.execute(
        """SELECT c.name, l.url FROM listings_listing l JOIN listings_city c ON c.id = l.city_id
           WHERE l.repost_of_id IS NULL AND l.deal = 'rent'"""
    ).fetchall()
    return collections.Counter(
        (chat, url) for chat, city in watching for name, url in listings if name == city
    )


def fetch_run_starts(database):
    """Source name → start times (seconds) of its runs, oldest first."""
    starts = collections.defaultdict(list)
    for name, started_at in database.execute(
        """SELECT s.name, r.started_at FROM listings_fetchrun r
           JOIN listings_source s ON s.id = r.source_id ORDER BY r.started_at"""
    ):
        starts[name].append(started_at.timestamp())
    return starts


def assert_each_page_fetched_at_most_once_an_interval(timed_site, run_starts):
    for page in PAGES:
        arrivals = timed_site.arrivals["/" + page]
        assert len(arrivals) >= RUNS_PER_SOURCE, f"{page} was fetched {len(arrivals)} times"
    for path, arrivals in timed_site.arrivals.items():
        gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
        assert min(gaps, default=INTERVAL) >= INTERVAL - CLOCK_SLACK, f"{path}: gaps {gaps}"

    assert len(run_starts) == len(PAGES)
    for name, starts in run_starts.items():
        gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
        assert min(gaps) >= INTERVAL - CLOCK_SLACK, f"runs of {name} {gaps} s apart"


def assert_each_listing_reached_each_renter_once(fake_telegram, deliveries, expected):
    received = collections.Counter(
        (chat, url) for chat, *_ in RENTERS for url in listing_links(fake_telegram, chat)
    )
    recorded = collections.Counter((chat, url) for chat, url, _ in deliveries)

    assert sum(expected.values()) >= 250, "hundreds of deliveries"
    assert {state for *_, state in deliveries} == {"sent"}
    assert recorded == expected, "one delivery per renter and listing in their city"
    assert received == recorded, "the chats hold one message per delivery"


def listing_links(fake_telegram, chat):
    """The listing each of the chat's listing messages links to ("Open the listing")."""
    return [
        entity["url"]
        for message in fake_telegram.messages(chat)
        for entity in message.get("entities") or message.get("caption_entities") or []
        if entity["type"] == "text_link"
    ]


def assert_each_notice_reached_its_chat_once(fake_telegram):
    assert notices_received(fake_telegram) == expected_notices()


def expected_notices():
    """(chat id, notice) for every reminder and expiry notice due, once each."""
    due = collections.Counter()
    for chat, _, hours, reminded in RENTERS:
        if hours <= 0:
            due[chat, EXPIRY_NOTICE] += 1
        for days, notice in REMINDERS.items():
            if 0 < hours <= days * 24 and days not in reminded:
                due[chat, notice] += 1
    return due


def notices_received(fake_telegram):
    return collections.Counter(
        (chat, notice)
        for chat, *_ in RENTERS
        for message in fake_telegram.messages(chat)
        for notice in [*REMINDERS.values(), EXPIRY_NOTICE]
        if notice in message["text"]
    )
