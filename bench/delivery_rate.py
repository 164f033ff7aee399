"""How close does the parser's delivery come to Telegram's limits, without breaking them?

Run: `.venv/bin/python bench/delivery_rate.py [--cap 240]`

A fake Bot API on 127.0.0.1 (`tests.fakes.telegram`) answers every call in ~50 ms. A fresh
SQLite database (a temp file, migrated) holds 2,000 pending deliveries: 4 new listings for
each of 500 chats. They are drained by the parser's own sending path: a `ParserComponent`
running its `work()` loop, which calls `deliver_pending(bot)` — `settings.DELIVERY_SENDERS`
concurrent `deliver_one_pending` loops on one `make_bot()` Bot, with PTB, httpx, the
process's shared rate limiter and `claim_next_delivery` — inside one `ThreadSensitiveContext`
(one database thread), as `Component.supervise()` sets it up. The bench's only source is
disabled, so the loop's parsing step finds nothing due and never leaves 127.0.0.1. The limit
is `TELEGRAM_MESSAGES_PER_SECOND=30`; the per-chat interval and the number of senders are
the project's defaults.

The main scenario writes the rows as matching does: one chat's rows next to each other, all
with the same `created_at`. An interleaved queue (every chat's first listing, then every
chat's second) is measured beside it. Each prints, from the timestamps the fake recorded:
messages a second and their ratio to the limit, the most messages in any 1-second window
overall and in any one chat, duplicates (a delivery sent twice), losses (a delivery never
sent), rows left unsent when the cap stopped it, and 429 answers; and how many times the loop
called `deliver_pending`, and what its first call sent before it returned.
"""

import argparse
import asyncio
import math
import os
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# It neither touches the database nor reads a setting when imported.
from tests.fakes.telegram import FakeTelegram  # noqa: E402

CHATS = 500
LISTINGS_PER_CHAT = 4
MESSAGES_PER_SECOND = 30
LATENCY = 0.05
LISTING_URL = re.compile(r"https://listings\.example/bench/(\d+)")


@dataclass
class Scenario:
    name: str
    order: str  # "matching": each chat's rows together, as matching writes them; "interleaved"
    cap: float  # seconds after which the component is asked to stop
    calls: list = field(default_factory=list)  # (started, returned, handled) per deliver_pending


def main():
    args = parse_args()
    folder = tempfile.TemporaryDirectory(prefix="rentwatch_bench_")
    fake = FakeTelegram(latency=LATENCY).start()
    try:
        configure(fake, Path(folder.name) / "bench.sqlite3")
        listing_ids = create_chats_and_listings()
        results = [run(scenario, fake, listing_ids) for scenario in scenarios(args)]
        print_table(results)
    finally:
        fake.stop()
        folder.cleanup()


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cap", type=float, default=240, help="seconds after which a scenario is stopped"
    )
    parser.add_argument("--main-only", action="store_true", help="skip the interleaved comparison")
    return parser.parse_args()


def scenarios(args):
    found = [Scenario("parser, matching order", "matching", args.cap)]
    if not args.main_only:
        found.append(Scenario("parser, interleaved order", "interleaved", args.cap))
    return found


def configure(fake, database):
    """Environment first: settings are read once, and the limiter is built from them."""
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["LOG_LEVEL"] = "WARNING"  # one INFO line per message would drown the figures
    os.environ["TELEGRAM_BOT_TOKEN"] = fake.token
    os.environ["TELEGRAM_API_BASE_URL"] = fake.base_url
    os.environ["TELEGRAM_MESSAGES_PER_SECOND"] = str(MESSAGES_PER_SECOND)
    # The project's defaults, not whatever this shell happens to export.
    for name in ("TELEGRAM_CHAT_INTERVAL_SECONDS", "DELIVERY_SENDERS", "PARSER_IDLE_SECONDS"):
        os.environ.pop(name, None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def chat_interval():
    from django.conf import settings

    return settings.TELEGRAM_CHAT_INTERVAL_SECONDS


def senders():
    from django.conf import settings

    return settings.DELIVERY_SENDERS


# -- data -----------------------------------------------------------------------------------


def create_chats_and_listings():
    """500 subscribed chats, each with a search that takes everything; returns 4 listing ids."""
    from django.utils import timezone

    from listings.models import City, Listing, Source
    from subscriptions.models import SearchFilter, Subscriber, Subscription

    city = City.objects.create(name="Benchville", country="AE", currency="AED")
    # Disabled: the parser's loop must find no source due and fetch nothing.
    source = Source.objects.create(
        name="Bench",
        adapter="bayut",
        city=city,
        search_url="https://listings.example/bench",
        is_enabled=False,
    )
    now = timezone.now()
    chats = Subscriber.objects.bulk_create(
        Subscriber(chat_id=100_000 + n, user_id=100_000 + n) for n in range(CHATS)
    )
    Subscription.objects.bulk_create(
        Subscription(subscriber=s, kind="trial", expires_at=now + timedelta(days=7)) for s in chats
    )
    SearchFilter.objects.bulk_create(
        SearchFilter(subscriber=s, city=city, name="Anything", is_draft=False) for s in chats
    )
    listings = Listing.objects.bulk_create(
        Listing(
            source=source,
            external_id=f"bench-{n}",
            city=city,
            title=f"Bench flat {n}",
            url=f"https://listings.example/bench/{n}",
            price=9_000,
            currency="AED",
            period="month",
            price_per_month=9_000,
            rooms=2,
        )
        for n in range(LISTINGS_PER_CHAT)
    )
    return [listing.pk for listing in listings]


def queue_deliveries(order, listing_ids):
    """An empty outbox refilled with 2,000 pending deliveries in the given order.

    Matching writes one batch in one statement, so every row has the same `created_at` and
    `claim_next_delivery` takes them in id order; "matching" puts each chat's rows together,
    as `match_new_listings` does, and "interleaved" each chat's first listing, then each
    chat's second.
    """
    from django.db import transaction
    from django.utils import timezone

    from subscriptions.models import Delivery, SearchFilter

    Delivery.objects.all().delete()
    searches = list(SearchFilter.objects.order_by("subscriber_id"))
    if order == "matching":
        pairs = [(s, listing_id) for s in searches for listing_id in listing_ids]
    else:
        pairs = [(s, listing_id) for listing_id in listing_ids for s in searches]
    now = timezone.now()
    with transaction.atomic():
        Delivery.objects.bulk_create(
            Delivery(
                subscriber_id=s.subscriber_id,
                listing_id=listing_id,
                search_filter=s,
                next_attempt_at=now,
                created_at=now,
            )
            for s, listing_id in pairs
        )
    return Delivery.objects.count()


def neighbours_in_same_chat():
    """Share of consecutive queue entries that go to the same chat, in claiming order."""
    from subscriptions.models import Delivery

    chats = list(Delivery.objects.order_by("created_at", "id").values_list("subscriber_id"))
    same = sum(1 for a, b in zip(chats, chats[1:], strict=False) if a == b)
    return same / max(len(chats) - 1, 1)


def unsent():
    from subscriptions.models import Delivery

    return Delivery.objects.exclude(state=Delivery.State.SENT).count()


# -- draining -------------------------------------------------------------------------------


def run(scenario, fake, listing_ids):
    """Fill the outbox, let a parser component drain it and measure what the fake saw."""
    from telegram_bot import ratelimit

    queued = queue_deliveries(scenario.order, listing_ids)
    neighbours = neighbours_in_same_chat()
    ratelimit._shared = None  # a fresh limiter from settings, so no scenario inherits slots
    first_call = len(fake.calls)
    print(
        f"{scenario.name}: {queued} queued, {neighbours:.0%} next to one for the same chat",
        flush=True,
    )

    took = asyncio.run(drain(scenario, queued))
    result = measure(fake.calls[first_call:], listing_ids, scenario, took)
    result["neighbours"] = neighbours
    print_result(result)
    time.sleep(chat_interval())  # let the last chat's interval pass before the next scenario
    return result


async def drain(scenario, queued):
    """Run a ParserComponent's work loop until every row is sent or the cap has passed."""
    from asgiref.sync import ThreadSensitiveContext

    from listings.component import ParserComponent
    from runtime.db import db
    from telegram_bot.client import make_bot

    component = ParserComponent()
    # What Component.supervise() sets up before run(): the loop and the stop event `wait`
    # uses. run() itself would also open the fetcher's HTTP client and the parsing pool,
    # which this loop never reaches (no source is due).
    component._loop = asyncio.get_running_loop()
    component._stop_event = asyncio.Event()
    deliver_pending = component.deliver_pending

    async def counted(bot):
        started = time.monotonic()
        handled = await deliver_pending(bot)
        sent = queued - await db(unsent)()
        scenario.calls.append((started, time.monotonic(), handled, sent))
        if sent >= queued:
            component.request_stop()  # drained: the component finishes this unit and returns
        return handled

    component.deliver_pending = counted  # work() looks it up on the instance

    async def stop_at_cap():
        await asyncio.sleep(scenario.cap)
        component.request_stop()

    async with ThreadSensitiveContext(), make_bot() as bot:
        started = time.monotonic()
        cap = asyncio.create_task(stop_at_cap())
        try:
            await component.work(bot)
        finally:
            cap.cancel()
        took = time.monotonic() - started
        return took


# -- measuring ------------------------------------------------------------------------------


def measure(calls, listing_ids, scenario, took):
    from subscriptions.models import Delivery

    sends = [c for c in calls if c.method.startswith("send")]
    delivered = [c for c in sends if c.response and c.response.get("ok")]
    times = sorted(c.at for c in delivered)
    per_chat = defaultdict(list)
    for call in delivered:
        per_chat[call.chat_id].append(call.at)

    received = Counter((c.chat_id, listing_of(c)) for c in delivered)
    wanted = {(100_000 + n, str(i)) for n in range(CHATS) for i in range(len(listing_ids))}
    left = Delivery.objects.exclude(state=Delivery.State.SENT).count()
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    first = scenario.calls[0] if scenario.calls else (0.0, 0.0, False, 0)
    return {
        "scenario": scenario,
        "took": took,
        "sent": len(delivered),
        "rate": rate,
        "busiest_second": most_in_window(times),
        "busiest_chat_second": max(
            (most_in_window(sorted(t)) for t in per_chat.values()), default=0
        ),
        "closest_in_chat": min((gap(sorted(t)) for t in per_chat.values()), default=math.inf),
        "duplicates": sum(n - 1 for n in received.values() if n > 1),
        # A row the cap left behind is not lost; one that is neither sent nor pending is.
        "lost": len(wanted - set(received)) if left == 0 else None,
        "left": left,
        "too_many_requests": sum(1 for c in sends if (c.response or {}).get("error_code") == 429),
        "deliver_pending_calls": len(scenario.calls),
        "first_call_seconds": first[1] - first[0],
        "first_call_sent": first[3],
        "states": dict(Counter(Delivery.objects.values_list("state", flat=True))),
    }


def listing_of(call):
    """Which bench listing a message announces, from the link in its text."""
    found = LISTING_URL.search(call.params.get("text") or call.params.get("caption") or "")
    listing_number = found.group(1) if found else "?"
    return listing_number


def most_in_window(times, window=1.0):
    """The most timestamps inside any half-open window [t, t + window)."""
    most, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


def gap(times):
    return min((b - a for a, b in zip(times, times[1:], strict=False)), default=math.inf)


# -- reporting ------------------------------------------------------------------------------


def print_result(r):
    lost = "-" if r["lost"] is None else r["lost"]
    print(
        f"  {r['sent']} sent in {r['took']:.1f} s: {r['rate']:.1f} msg/s "
        f"({r['rate'] / MESSAGES_PER_SECOND:.2f} of the limit); busiest second "
        f"{r['busiest_second']}, busiest chat second {r['busiest_chat_second']} (closest two "
        f"in a chat {r['closest_in_chat']:.3f} s apart); duplicates {r['duplicates']}, "
        f"lost {lost}, left {r['left']}, 429s {r['too_many_requests']}",
        flush=True,
    )
    print(
        f"  deliver_pending called {r['deliver_pending_calls']} times; the first returned "
        f"after {r['first_call_seconds']:.1f} s with {r['first_call_sent']} sent; "
        f"final states {r['states']}",
        flush=True,
    )


def print_table(results):
    print(
        f"\n== Delivery rate: limit {MESSAGES_PER_SECOND}/s overall, 1 per "
        f"{chat_interval():g} s per chat, {senders()} senders; fake latency "
        f"{LATENCY * 1000:.0f} ms =="
    )
    print(
        f"{'scenario':<28} {'msg/s':>6} {'ratio':>6} {'max/s':>5} {'chat max/s':>10} "
        f"{'closest':>7} {'dup':>4} {'lost':>5} {'left':>5} {'429':>4} {'calls':>5}"
    )
    for r in results:
        lost = "-" if r["lost"] is None else r["lost"]
        print(
            f"{r['scenario'].name:<28} {r['rate']:>6.1f} "
            f"{r['rate'] / MESSAGES_PER_SECOND:>6.2f} {r['busiest_second']:>5} "
            f"{r['busiest_chat_second']:>10} {r['closest_in_chat']:>7.3f} {r['duplicates']:>4} "
            f"{lost:>5} {r['left']:>5} {r['too_many_requests']:>4} "
            f"{r['deliver_pending_calls']:>5}"
        )
    print("goal: ratio >= 0.95, chat max/s <= 1, 0 duplicates, 0 lost")


if __name__ == "__main__":
    main()
