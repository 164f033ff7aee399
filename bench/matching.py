"""How fast is set-based matching, compared with the floor and with a Python loop?

Run: `.venv/bin/python bench/matching.py [--filters 100000 --listings 1000]`

One run measures SQLite (a temp file) and PostgreSQL (a fresh database on 127.0.0.1) side by
side. Each gets one city with 30 districts, a subscriber with an active subscription behind
every two search filters, and the new listings; then, each on an empty Delivery table:

- ours: `subscriptions.matching.match_new_listings(listing_ids)`;
- loop: the Python loop most bots use — every live filter loaded once, each (listing, filter)
  pair tested in Python, the matches written with `bulk_create`;
- floor: writing exactly the same Delivery rows and nothing else, as an INSERT … SELECT from a
  temp table holding them (and, for comparison, the loop's `bulk_create` alone).

Ours and the floor are repeated and the best time kept; the loop runs once. The machines are
shared and noisy, so only the ratios measured in one run mean anything. The script also checks
that ours and the loop queue the same (subscriber, listing) pairs and prints the query plan of
the matching statement. PostgreSQL is ANALYZEd after loading, as autovacuum would do; SQLite is
not, as a Django deployment does not.
"""

import argparse
import contextlib
import json
import math
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
SEED = 20251204
DISTRICTS = 30
RENT_BUDGET = 9_000  # a typical monthly rent in the city's currency
SALE_BUDGET = 1_500_000
GOAL_OURS_OVER_FLOOR = 1.5
GOAL_LOOP_OVER_OURS = 25


def main():
    args = parse_args()
    if args.child:
        run_child(args)
        return

    results = [run_sqlite(args), run_postgresql(args)]
    print_summary(results)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--filters", type=int, default=100_000)
    parser.add_argument("--listings", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of ours and of the floor")
    parser.add_argument(
        "--limit", type=float, default=120, help="seconds after which ours is stopped"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)  # the database label
    parser.add_argument("--result", help=argparse.SUPPRESS)  # where the child writes JSON
    return parser.parse_args()


# -- the parent: one child process per database ---------------------------------------------


def run_sqlite(args):
    with tempfile.TemporaryDirectory(prefix="rentwatch_bench_") as folder:
        return run_in_child("SQLite", f"sqlite:///{folder}/bench.sqlite3", args)


def run_postgresql(args):
    import psycopg

    name = f"rentwatch_bench_{os.getpid()}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        return run_in_child("PostgreSQL", f"{PG_SERVER}/{name}", args)
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run_in_child(label, database_url, args):
    """Each database gets a process of its own, so Django's settings name just that one."""
    with tempfile.NamedTemporaryFile(suffix=".json") as result:
        command = [sys.executable, __file__, "--child", label, "--result", result.name]
        command += ["--filters", str(args.filters), "--listings", str(args.listings)]
        command += ["--repeats", str(args.repeats), "--limit", str(args.limit)]
        env = os.environ | {"DATABASE_URL": database_url, "LOG_LEVEL": "WARNING"}
        subprocess.run(command, env=env, cwd=ROOT, check=True)
        return json.loads(Path(result.name).read_text())


def print_summary(results):
    print("\n== Summary (seconds; ratios measured side by side in this run) ==")
    print(
        f"{'database':<11} {'deliveries':>10} {'ours':>9} {'floor':>7} {'loop':>8} "
        f"{'ours/floor':>10} {'loop/ours':>9} {'same pairs':>10}"
    )
    for r in results:
        over_floor, loop_over = ratios(r)
        same = {True: "yes", False: "NO", None: "-"}[r["same_pairs"]]
        print(
            f"{r['database']:<11} {r['deliveries']:>10,} {ours_text(r):>9} {r['floor']:>7.2f} "
            f"{r['loop']:>8.2f} {over_floor:>10} {loop_over:>9} {same:>10}"
        )
    print(f"goals: ours/floor <= {GOAL_OURS_OVER_FLOOR}, loop/ours >= {GOAL_LOOP_OVER_OURS}")


def ours_text(r):
    return f"> {r['limit']:.0f}" if r["ours"] is None else f"{r['ours']:.2f}"


def ratios(r):
    """ours/floor and loop/ours as text; bounds when ours was stopped at the limit."""
    if r["ours"] is None:
        return f"> {r['limit'] / r['floor']:.1f}", f"< {r['loop'] / r['limit']:.2f}"
    return f"{r['ours'] / r['floor']:.2f}", f"{r['loop'] / r['ours']:.1f}"


# -- the child: one database ------------------------------------------------------------------


def run_child(args):
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    print(f"\n== {args.child} ==", flush=True)
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    listing_ids = create_data(args.filters, args.listings, random.Random(SEED))
    print(
        f"created {args.filters:,} filters and {args.listings:,} listings "
        f"in {time.perf_counter() - started:.1f} s",
        flush=True,
    )

    result = measure(args.child, listing_ids, args.repeats, args.limit)
    print_table(result)
    print_plan(listing_ids)
    Path(args.result).write_text(json.dumps(result))


# -- data -----------------------------------------------------------------------------------


def create_data(n_filters, n_listings, rng):
    """Build the city, subscribers, filters and new listings; returns the listing ids."""
    from django.db import connection

    from listings.models import City, District

    city = City.objects.create(name="Benchville", country="AE", currency="AED")
    districts = District.objects.bulk_create(
        District(city=city, name=f"District {n}") for n in range(DISTRICTS)
    )
    # Some districts are far more popular than others, for renters and landlords alike.
    district_ids = [d.pk for d in districts]
    weights = [1 / (n + 1) ** 0.5 for n in range(DISTRICTS)]

    subscriber_ids = create_subscribers(max(n_filters // 2, 1), rng)
    create_filters(n_filters, city, subscriber_ids, district_ids, weights, rng)
    listing_ids = create_listings(n_listings, city, district_ids, weights, rng)

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return listing_ids


def create_subscribers(count, rng):
    """Subscribers with an active subscription each; 2 % have blocked the bot."""
    from django.utils import timezone

    from subscriptions.models import Subscriber, Subscription

    now = timezone.now()
    subscribers = Subscriber.objects.bulk_create(
        (
            Subscriber(
                chat_id=10_000 + n,
                user_id=10_000 + n,
                username=f"renter{n}",
                blocked_at=now if rng.random() < 0.02 else None,
            )
            for n in range(count)
        ),
        batch_size=5_000,
    )
    Subscription.objects.bulk_create(
        (
            Subscription(subscriber=s, kind="trial", expires_at=now + timedelta(days=30))
            for s in subscribers
        ),
        batch_size=5_000,
    )
    return [s.pk for s in subscribers]


def create_filters(count, city, subscriber_ids, district_ids, weights, rng):
    from subscriptions.models import SearchFilter
    from subscriptions.slots import rewrite_slots

    # Everyone has one search; some have a second or third.
    owners = subscriber_ids + [
        rng.choice(subscriber_ids) for _ in range(count - len(subscriber_ids))
    ]
    filters = SearchFilter.objects.bulk_create(
        (random_filter(SearchFilter, owner, city, rng) for owner in owners[:count]),
        batch_size=5_000,
    )
    through = SearchFilter.districts.through
    links = (
        through(searchfilter_id=f.pk, district_id=district_id)
        for f in filters
        for district_id in pick_districts(district_ids, weights, rng)
    )
    through.objects.bulk_create(links, batch_size=10_000)
    # bulk_create sends no signals: do what they would have done.
    rewrite_slots(SearchFilter.objects.values_list("pk", flat=True))


def random_filter(model, subscriber_id, city, rng):
    deal = "sale" if rng.random() < 0.15 else "rent"
    budget = rng.lognormvariate(math.log(SALE_BUDGET if deal == "sale" else RENT_BUDGET), 0.5)
    price_min, price_max = random_price_range(budget, rng)
    return model(
        subscriber_id=subscriber_id,
        city=city,
        deal=deal,
        price_min=price_min,
        price_max=price_max,
        rooms_mask=random_rooms_mask(rng),
        furnishing=rng.choices(["", "furnished", "unfurnished"], weights=[75, 18, 7])[0],
        rent_term=rng.choices(["", "long", "short"], weights=[70, 27, 3])[0],
        allow_unknown_price=rng.random() < 0.25,
        is_paused=rng.random() < 0.08,
        is_draft=rng.random() < 0.01,
    )


def random_price_range(budget, rng):
    """Most renters name a range, some only a ceiling; a few leave the price open."""
    roll = rng.random()
    if roll < 0.02:
        return None, None
    price_max = Decimal(round(budget, -2))
    if roll < 0.87:
        return Decimal(round(budget * 0.85, -2)), price_max
    return None, price_max


def random_rooms_mask(rng):
    """0 (any) for one in 25; otherwise one room count, or two neighbouring ones."""
    if rng.random() < 0.04:
        return 0
    rooms = rng.choices(range(5), weights=[10, 30, 30, 20, 10])[0]
    mask = 1 << rooms
    if rooms < 4 and rng.random() < 0.2:
        mask |= 1 << (rooms + 1)
    return mask


def pick_districts(district_ids, weights, rng):
    """0 to 3 districts, popular ones more often."""
    wanted = rng.choices([0, 1, 2, 3], weights=[3, 47, 30, 20])[0]
    chosen = set()
    while len(chosen) < wanted:
        chosen.add(rng.choices(district_ids, weights=weights)[0])
    return chosen


def create_listings(count, city, district_ids, weights, rng):
    from listings.models import Listing, Source

    sources = {
        deal: Source.objects.create(
            name=f"Bench {deal}",
            adapter="bayut",
            city=city,
            deal=deal,
            search_url=f"https://listings.example/{deal}",
        )
        for deal in ("rent", "sale")
    }
    listings = Listing.objects.bulk_create(
        (
            random_listing(Listing, n, sources, city, district_ids, weights, rng)
            for n in range(count)
        ),
        batch_size=1_000,
    )
    return [listing.pk for listing in listings]


def random_listing(model, n, sources, city, district_ids, weights, rng):
    deal = "sale" if rng.random() < 0.15 else "rent"
    district_id = None if rng.random() < 0.05 else rng.choices(district_ids, weights=weights)[0]
    rooms = (
        None
        if rng.random() < 0.03
        else rng.choices(range(7), weights=[8, 25, 30, 20, 10, 5, 2])[0]
    )
    return model(
        source=sources[deal],
        external_id=f"bench-{n}",
        city=city,
        deal=deal,
        url=f"https://listings.example/{deal}/{n}",
        title=f"Flat {n}",
        rooms=rooms,
        district_id=district_id,
        # Most sites never say; of those that do, more say furnished.
        furnishing=rng.choices(["", "furnished", "partly", "unfurnished"], [55, 25, 8, 12])[0],
        **random_price(deal, city, rng),
    )


def random_price(deal, city, rng):
    """8 % on request, 3 % in a foreign currency; of the rents a tenth priced per year and a
    twentieth per day (holiday flats)."""
    if rng.random() < 0.08:
        return {"price_text": "Price on request", "currency": city.currency}
    currency = "USD" if rng.random() < 0.03 else city.currency
    if deal == "sale":
        price = round(rng.lognormvariate(math.log(SALE_BUDGET), 0.6), -3)
        return {"price": Decimal(price), "currency": currency, "period": "once"}
    monthly = round(rng.lognormvariate(math.log(RENT_BUDGET), 0.6), -2)
    if rng.random() < 0.05:
        daily = round(monthly / 20, -1)
        return {
            "price": Decimal(daily),
            "price_per_month": Decimal(daily * 30),
            "currency": currency,
            "period": "day",
        }
    if rng.random() < 0.1:
        return {
            "price": Decimal(monthly * 12),
            "price_per_month": Decimal(monthly),
            "currency": currency,
            "period": "year",
        }
    return {
        "price": Decimal(monthly),
        "price_per_month": Decimal(monthly),
        "currency": currency,
        "period": "month",
    }


# -- measuring ------------------------------------------------------------------------------


def measure(label, listing_ids, repeats, limit):
    """Run the loop once (its rows feed the floor), then alternate the floor and ours."""
    from django.db import connection

    from subscriptions.matching import match_new_listings

    loop = python_loop(listing_ids)
    loop_matching = loop.pop("matching")
    loop_rows = delivery_rows()
    load_temp_table(loop_rows)
    print(f"  loop {loop['total']:.2f} s", flush=True)

    ours, floor, ours_rows = [], [], set()
    for _ in range(repeats):
        clear_deliveries()
        floor.append(timed(insert_from_temp_table))
        clear_deliveries()
        ours.append(timed(match_new_listings, listing_ids, limit=limit))
        print(f"  floor {floor[-1]:.2f} s, ours {seconds_text(ours[-1], limit)}", flush=True)
        if ours[-1] is None:
            break  # stopped at the limit: once is enough to know
        ours_rows = ours_rows or delivery_rows()

    return {
        "database": label,
        "vendor": connection.vendor,
        "deliveries": len(loop_rows),
        "ours": None if None in ours else min(ours),
        "limit": limit,
        "floor": min(floor + [loop["write"]]),
        "floor_insert_select": min(floor),
        "floor_bulk_create": loop["write"],
        "loop": loop["total"],
        "loop_parts": loop,
        "same_pairs": pairs(ours_rows) == pairs(loop_rows) if ours_rows else None,
        # A person gets one delivery per listing, naming one of the searches that matched.
        "filters_match": ours_rows <= loop_matching if ours_rows else None,
    }


def timed(func, *args, limit=None):
    """Seconds `func` takes inside one transaction, the way the parser calls matching; None
    when it was stopped at `limit` seconds (its writes are rolled back)."""
    from django.db import OperationalError, transaction

    started = time.perf_counter()
    try:
        with time_limit(limit), transaction.atomic():
            func(*args)
    except OperationalError:
        if limit is None:
            raise
        return None
    return time.perf_counter() - started


@contextlib.contextmanager
def time_limit(seconds):
    """Stop a statement that runs longer than `seconds` (on PostgreSQL, each statement)."""
    from django.db import connection

    if seconds is None:
        yield
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {int(seconds * 1000)}")
            try:
                yield
            finally:
                cursor.execute("SET statement_timeout = 0")
    else:
        deadline = time.monotonic() + seconds
        connection.ensure_connection()
        connection.connection.set_progress_handler(lambda: time.monotonic() > deadline, 100_000)
        try:
            yield
        finally:
            connection.connection.set_progress_handler(None, 0)


def seconds_text(seconds, limit):
    return f"> {limit:.0f} s (stopped)" if seconds is None else f"{seconds:.2f} s"


def clear_deliveries():
    from django.db import connection

    from subscriptions.models import Delivery

    table = Delivery._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {table}")
        else:
            cursor.execute(f"DELETE FROM {table}")


def delivery_rows():
    """The set of (subscriber, listing, filter) the Delivery table holds."""
    from subscriptions.models import Delivery

    return set(Delivery.objects.values_list("subscriber_id", "listing_id", "search_filter_id"))


def pairs(rows):
    return {(subscriber_id, listing_id) for subscriber_id, listing_id, _ in rows}


def load_temp_table(rows):
    """Put the rows to write into a temp table, outside the timing."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_rows (subscriber_id bigint, listing_id bigint, "
            "search_filter_id bigint)"
        )
        cursor.executemany("INSERT INTO bench_rows VALUES (%s, %s, %s)", sorted(rows))
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE bench_rows")


def insert_from_temp_table():
    """The floor: write the same rows, same columns, same conflict clause; no matching."""
    from django.db import connection
    from django.utils import timezone

    from subscriptions.models import Delivery

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Delivery._meta.db_table}
                (subscriber_id, listing_id, search_filter_id, kind, state, attempts,
                 next_attempt_at, created_at, message_ids, last_error)
            SELECT subscriber_id, listing_id, search_filter_id, %s, %s, 0, %s, %s, '[]', ''
            FROM bench_rows
            WHERE true  -- SQLite reads "FROM t ON" as a join without it
            ON CONFLICT (subscriber_id, listing_id) WHERE kind = 'new' DO NOTHING
            """,
            ["new", "pending", timezone.now(), timezone.now()],
        )


# -- the Python loop ------------------------------------------------------------------------


def python_loop(listing_ids):
    """Load every live filter once, test each (listing, filter) in Python, bulk_create."""
    from django.db import transaction
    from django.utils import timezone

    from listings.models import Listing
    from subscriptions.models import Delivery

    now = timezone.now()
    started = time.perf_counter()
    filters = live_filters(now)
    listings = list(Listing.objects.filter(pk__in=listing_ids).select_related("city"))
    loaded = time.perf_counter()

    best = {}  # (subscriber, listing) → the lowest matching filter id
    matching = set()  # every (subscriber, listing, filter) that matches
    for listing in listings:
        for search in filters:
            if filter_matches(search, listing):
                key = (search.subscriber_id, listing.pk)
                best[key] = min(best.get(key, search.pk), search.pk)
                matching.add((*key, search.pk))
    matched = time.perf_counter()

    rows = [
        Delivery(
            subscriber_id=s, listing_id=li, search_filter_id=f, next_attempt_at=now, created_at=now
        )
        for (s, li), f in best.items()
    ]
    with transaction.atomic():
        Delivery.objects.bulk_create(rows, batch_size=5_000, ignore_conflicts=True)
    written = time.perf_counter()
    return {
        "load": loaded - started,
        "match": matched - loaded,
        "write": written - matched,
        "total": written - started,
        "matching": matching,
    }


def live_filters(now):
    """Filters that may match: not drafts or paused, owner unblocked and subscribed.

    Three plain queries, joined in Python, as a bot that loads everything once would do.
    """
    from subscriptions.models import SearchFilter, Subscription

    subscribed = set(
        Subscription.objects.filter(
            state="active", expires_at__gt=now, subscriber__blocked_at__isnull=True
        ).values_list("subscriber_id", flat=True)
    )
    live = SearchFilter.objects.filter(is_draft=False, is_paused=False).order_by("pk")
    filters = [search for search in live if search.subscriber_id in subscribed]

    districts = defaultdict(set)
    links = SearchFilter.districts.through.objects.values_list("searchfilter_id", "district_id")
    for filter_id, district_id in links:
        districts[filter_id].add(district_id)
    for search in filters:
        search.district_ids = districts.get(search.pk, set())
    return filters


def filter_matches(search, listing):
    from subscriptions.models import MAX_ROOM_BIT

    if search.city_id != listing.city_id or search.deal != listing.deal:
        return False
    if search.rooms_mask and (
        listing.rooms is None or not search.rooms_mask & (1 << min(listing.rooms, MAX_ROOM_BIT))
    ):
        return False
    if search.district_ids and listing.district_id not in search.district_ids:
        return False
    if search.furnishing and listing.furnishing not in ("", "partly", search.furnishing):
        return False
    stated = listing.period in RENT_TERM_PERIODS["any"]
    if search.rent_term and listing.deal == "rent" and stated:
        return listing.period in RENT_TERM_PERIODS[search.rent_term] and (
            price_matches(search, listing)
        )
    return price_matches(search, listing)


RENT_TERM_PERIODS = {
    "long": ("month", "year"),
    "short": ("day", "week"),
    "any": ("day", "week", "month", "year"),
}


def price_matches(search, listing):
    if search.price_min is None and search.price_max is None:
        return True
    price = listing.price if listing.deal == "sale" else listing.price_per_month
    if price is None or listing.currency != listing.city.currency:
        return search.allow_unknown_price
    return (search.price_min is None or price >= search.price_min) and (
        search.price_max is None or price <= search.price_max
    )


# -- reporting ------------------------------------------------------------------------------


def print_table(r):
    loop = r["loop_parts"]
    over_floor, loop_over = ratios(r)
    rows = [
        ("(a) ours: match_new_listings", ours_text(r)),
        ("(b) loop: load live filters", f"{loop['load']:.2f}"),
        ("    loop: test every (listing, filter)", f"{loop['match']:.2f}"),
        ("    loop: bulk_create", f"{loop['write']:.2f}"),
        ("    loop: total", f"{r['loop']:.2f}"),
        ("(c) floor: INSERT … SELECT from temp table", f"{r['floor_insert_select']:.2f}"),
        ("    floor: bulk_create of the same rows", f"{r['floor_bulk_create']:.2f}"),
    ]
    print(f"deliveries: {r['deliveries']:,}")
    print(f"{'what':<44} {'seconds':>9}")
    for what, seconds in rows:
        print(f"{what:<44} {seconds:>9}")
    print(
        f"ours/floor = {over_floor} (goal <= {GOAL_OURS_OVER_FLOOR}), "
        f"loop/ours = {loop_over} (goal >= {GOAL_LOOP_OVER_OURS})"
    )
    print(
        f"same (subscriber, listing) pairs: {r['same_pairs']}; "
        f"the search named matches: {r['filters_match']}",
        flush=True,
    )


def print_plan(listing_ids):
    """EXPLAIN the exact statement matching runs for the first batch."""
    from django.db import connection

    sql, params = captured_match_statement(listing_ids)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (COSTS OFF) " + sql, params)
            lines = [row[0] for row in cursor.fetchall()]
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
            lines = sqlite_plan_lines(cursor.fetchall())
    print("query plan of the matching statement:")
    print("\n".join("  " + line for line in lines))
    print("scans:", "; ".join(scan_summary(lines)), flush=True)


class Captured(Exception):
    pass


def captured_match_statement(listing_ids):
    """The SQL and parameters match_new_listings executes, caught before it runs."""
    from django.db import connection

    from subscriptions.matching import match_new_listings

    seen = {}

    def catch(execute, sql, params, many, context):
        if not sql.lstrip().startswith("INSERT"):
            return execute(sql, params, many, context)  # the classes read before it
        seen.update(sql=sql, params=params)
        raise Captured

    with connection.execute_wrapper(catch), contextlib.suppress(Captured):
        match_new_listings(listing_ids)
    return seen["sql"], seen["params"]


def sqlite_plan_lines(rows):
    depth = {0: -1}
    lines = []
    for node_id, parent, _, detail in rows:
        depth[node_id] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node_id] + detail)
    return lines


def scan_summary(lines):
    """Which tables are read whole and which through an index, from the plan text."""
    found = []
    for line in (line.strip().lstrip("->").strip() for line in lines):
        if line.startswith(("Seq Scan", "SCAN ")) and "INDEX" not in line:
            found.append(f"FULL {line}")
        elif "Index" in line or "INDEX" in line:
            found.append(f"index {line}")
    return found


if __name__ == "__main__":
    main()
