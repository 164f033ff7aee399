"""How close does draining the outbox come to Telegram's limits, without breaking them?

Run: `.venv/bin/python bench/delivery_rate.py [--senders 8] [--many-senders 64]`

A fake Bot API on 127.0.0.1 answers every call in ~50 ms (`tests.fakes.bot_api`). A fresh
SQLite database (a temp file, migrated) holds 2,000 pending deliveries: 4 new listings for
each of 500 chats. They are drained through the real code path — `deliver_one_pending` with a
`make_bot()` Bot, PTB, httpx and the process's shared rate limiter, configured at 30 messages
a second and one a second per chat — by one or several senders (asyncio tasks sharing one
database thread, as a component does).

Each scenario prints, from the timestamps the fake recorded: messages a second and their ratio
to the limit, the most messages in any 1-second window overall and in any one chat, duplicates
(a delivery sent twice), losses (a delivery never sent) and 429 answers. The queue order
matters: `match_new_listings` writes one batch's rows grouped by subscriber, so one chat's
messages sit next to each other; an interleaved queue (every chat's first listing, then every
chat's second) is measured beside it. The last scenario swaps in the limiter change that
bench/DELIVERY.md proposes. Scenarios marked with a time cap stop after it; their unsent rows
are "left", not lost.
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
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Neither module touches the database or reads a setting when imported.
from tests.fakes.bot_api import FakeTelegram  # noqa: E402

from telegram_bot.ratelimit import SharedRateLimiter, is_group  # noqa: E402

CHATS = 500
LISTINGS_PER_CHAT = 4
MESSAGES_PER_SECOND = 30
CHAT_INTERVAL = 1.0
LATENCY = 0.05
LISTING_URL = re.compile(r"https://listings\.example/bench/(\d+)")


@dataclass
class Scenario:
    name: str
    senders: int
    order: str  # "matching": as match_new_listings writes them; "interleaved"
    cap: float | None = None  # seconds; None drains the queue
    proposed_limiter: bool = False


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
    parser.add_argument("--senders", type=int, default=8, help="concurrent senders")
    parser.add_argument("--many-senders", type=int, default=64, help="for the proposed limiter")
    parser.add_argument("--cap", type=float, default=15, help="seconds for capped scenarios")
    return parser.parse_args()


def scenarios(args):
    n, many, cap = args.senders, args.many_senders, args.cap
    return [
        Scenario("parser today: 1 sender, matching order", 1, "matching", cap),
        Scenario("1 sender, interleaved order", 1, "interleaved", cap),
        Scenario(f"{n} senders, matching order", n, "matching", cap),
        Scenario(f"{n} senders, interleaved order", n, "interleaved"),
        Scenario(
            f"{many} senders, matching order, proposed limiter", many, "matching", None, True
        ),
    ]


def configure(fake, database):
    """Environment first: settings are read once, and the limiter is built from them."""
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["LOG_LEVEL"] = "WARNING"  # one INFO line per message would drown the figures
    os.environ["TELEGRAM_BOT_TOKEN"] = fake.token
    os.environ["TELEGRAM_API_BASE_URL"] = fake.base_url
    os.environ["TELEGRAM_MESSAGES_PER_SECOND"] = str(MESSAGES_PER_SECOND)
    os.environ["TELEGRAM_CHAT_INTERVAL_SECONDS"] = str(CHAT_INTERVAL)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


# -- data -----------------------------------------------------------------------------------


def create_chats_and_listings():
    """500 subscribed chats, each with a search that takes everything; returns 4 listing ids."""
    from django.utils import timezone

    from listings.models import City, Listing, Source
    from subscriptions.models import SearchFilter, Subscriber, Subscription

    city = City.objects.create(name="Benchville", country="AE", currency="AED")
    source = Source.objects.create(
        name="Bench", adapter="bayut", city=city, search_url="https://listings.example/bench"
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
    """An empty outbox refilled with 2,000 pending deliveries in the given order."""
    from django.db import transaction

    from subscriptions.matching import match_new_listings
    from subscriptions.models import Delivery, SearchFilter

    Delivery.objects.all().delete()
    with transaction.atomic():
        if order == "matching":
            match_new_listings(listing_ids)
        else:
            searches = list(SearchFilter.objects.order_by("pk"))
            Delivery.objects.bulk_create(
                Delivery(subscriber_id=s.subscriber_id, listing_id=listing_id, search_filter=s)
                for listing_id in listing_ids
                for s in searches
            )
    return Delivery.objects.count()


def neighbours_in_same_chat():
    """Share of consecutive queue entries that go to the same chat, in claiming order."""
    from subscriptions.models import Delivery

    chats = list(Delivery.objects.order_by("created_at", "id").values_list("subscriber_id"))
    same = sum(1 for a, b in zip(chats, chats[1:], strict=False) if a == b)
    return same / max(len(chats) - 1, 1)


# -- draining -------------------------------------------------------------------------------


def run(scenario, fake, listing_ids):
    """Fill the outbox, drain it as the scenario says and measure what the fake saw."""
    from telegram_bot import ratelimit

    queued = queue_deliveries(scenario.order, listing_ids)
    neighbours = neighbours_in_same_chat()
    # A fresh limiter from settings (or the proposed one), so no scenario inherits slots.
    ratelimit._shared = proposed_limiter() if scenario.proposed_limiter else None
    first_call = len(fake.calls)
    print(
        f"{scenario.name}: {queued} queued, {neighbours:.0%} next to one for the same chat",
        flush=True,
    )

    took = asyncio.run(drain(scenario.senders, scenario.cap))
    result = measure(fake.calls[first_call:], listing_ids, scenario, took)
    result["neighbours"] = neighbours
    print_result(result)
    time.sleep(CHAT_INTERVAL)  # let the last chat's interval pass before the next scenario
    return result


async def drain(senders, cap):
    """Run `senders` concurrent delivery loops until the outbox is empty or `cap` passes."""
    from asgiref.sync import ThreadSensitiveContext

    from telegram_bot.client import make_bot
    from telegram_bot.delivering import deliver_one_pending

    deadline = math.inf if cap is None else time.monotonic() + cap

    async def pause(seconds):
        await asyncio.sleep(seconds)

    async def sender(bot):
        while time.monotonic() < deadline and await deliver_one_pending(bot, pause):
            pass

    # As in a component: every ORM call of this loop runs on one thread, one connection.
    async with ThreadSensitiveContext(), make_bot() as bot:
        started = time.monotonic()
        await asyncio.gather(*(sender(bot) for _ in range(senders)))
        return time.monotonic() - started


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
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
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
        "lost": len(wanted - set(received)) if scenario.cap is None else None,
        "left": Delivery.objects.exclude(state=Delivery.State.SENT).count(),
        "too_many_requests": sum(1 for c in sends if (c.response or {}).get("error_code") == 429),
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


# -- the proposed limiter ---------------------------------------------------------------------


def proposed_limiter():
    from django.conf import settings

    return SlotLimiter(
        overall_per_second=settings.TELEGRAM_MESSAGES_PER_SECOND,
        chat_interval=settings.TELEGRAM_CHAT_INTERVAL_SECONDS,
        group_per_minute=settings.TELEGRAM_GROUP_MESSAGES_PER_MINUTE,
    )


class SlotLimiter(SharedRateLimiter):
    """The change bench/DELIVERY.md proposes for SharedRateLimiter.reserve.

    Today a message that waits for its chat also moves the overall clock to that moment, so
    every other chat waits too. Here the overall budget is a grid of 1/rate slots: a message
    takes the first free slot once its chat is ready, and the slots before it stay free for
    other chats. No two messages share a slot, so no 1-second window holds more than `rate`.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._taken = set()

    def reserve(self, chat_id):
        with self._lock:
            now = time.monotonic()
            ready = max(now, self._paused_until, self._next_in_chat.get(chat_id, 0.0))
            if is_group(chat_id):
                ready = self._group_slot(chat_id, ready)
            slot = math.ceil(ready / self.overall_interval)
            while slot in self._taken:
                slot += 1
            self._taken = {s for s in self._taken if s * self.overall_interval > now - 1}
            self._taken.add(slot)

            start = slot * self.overall_interval
            if chat_id is not None:
                self._next_in_chat[chat_id] = start + self.chat_interval
            self._forget_idle_chats(now)
            return start - now


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


def print_table(results):
    print(
        f"\n== Delivery rate: limit {MESSAGES_PER_SECOND}/s overall, 1 per "
        f"{CHAT_INTERVAL:g} s per chat; fake latency {LATENCY * 1000:.0f} ms =="
    )
    print(
        f"{'scenario':<52} {'msg/s':>6} {'ratio':>6} {'max/s':>5} {'chat max/s':>10} "
        f"{'dup':>4} {'lost':>5} {'left':>5} {'429':>4}"
    )
    for r in results:
        lost = "-" if r["lost"] is None else r["lost"]
        capped = "" if r["scenario"].cap is None else f" [{r['scenario'].cap:.0f} s cap]"
        print(
            f"{r['scenario'].name + capped:<52} {r['rate']:>6.1f} "
            f"{r['rate'] / MESSAGES_PER_SECOND:>6.2f} {r['busiest_second']:>5} "
            f"{r['busiest_chat_second']:>10} {r['duplicates']:>4} {lost:>5} {r['left']:>5} "
            f"{r['too_many_requests']:>4}"
        )
    print("goal: ratio >= 0.95, chat max/s <= 1, 0 duplicates, 0 lost")


if __name__ == "__main__":
    main()
