"""Matching new listings to saved searches: one set-based SQL statement per batch.

Never a Python loop over subscribers: the database finds each new listing's searches through
their slots (slots.py) and writes the outbox rows in the same statement.
"""

from django.db import connection
from django.utils import timezone

from listings.models import City, Listing, PriceChange
from subscriptions.models import (
    MAX_ROOM_BIT,
    RENT_TERM_PERIODS,
    Delivery,
    SearchFilter,
    SearchSlot,
    Subscriber,
    Subscription,
)
from subscriptions.slots import UNKNOWN_PRICE_CLASS, UNKNOWN_ROOMS, price_classes

BATCH_SIZE = 500
# Who may hear from us at all: the subscribers who have not blocked the bot and have access.
REACHABLE_SUBSCRIBERS = f"""(
            SELECT sub.subscriber_id FROM {Subscription._meta.db_table} sub
            JOIN {Subscriber._meta.db_table} s ON s.id = sub.subscriber_id
            WHERE s.blocked_at IS NULL AND sub.state = %(active)s AND sub.expires_at > %(now)s)"""
# The room count of the slots a listing probes: its own (four or more as four), or "unknown".
LISTING_ROOM_SLOT = f"""(CASE WHEN l.rooms IS NULL THEN {UNKNOWN_ROOMS}
                    WHEN l.rooms > {MAX_ROOM_BIT} THEN {MAX_ROOM_BIT} ELSE l.rooms END)"""


def sql_strings(values):
    """Our own constants as an SQL list: 'a', 'b'."""
    return ", ".join(f"'{value}'" for value in values)


# A rent priced in a period the renter's term takes, or one that does not say.
RENT_TERM_FITS = "(l.period NOT IN ({stated}) OR {fits})".format(
    stated=sql_strings(period for periods in RENT_TERM_PERIODS.values() for period in periods),
    fits=" OR ".join(
        f"(sl.rent_term = '{term}' AND l.period IN ({sql_strings(periods)}))"
        for term, periods in RENT_TERM_PERIODS.items()
    ),
)
# Rent is compared per month; a sale by its one-off price.
COMPARABLE_PRICE = "(CASE WHEN l.deal = 'sale' THEN l.price ELSE l.price_per_month END)"
# What a slot's area, deal and room count do not already decide.
FURNISHING_AND_TERM_FIT = f"""(sl.furnishing = '' OR l.furnishing IN ('', 'partly')
                   OR l.furnishing = sl.furnishing)
              AND (sl.rent_term = '' OR l.deal = 'sale' OR {RENT_TERM_FITS})"""


# The slots a listing may be in: its district's, or its whole city's.
AREAS = [
    "sl.district_id = l.district_id AND sl.deal = l.deal AND sl.city_id = l.city_id",
    "sl.district_id IS NULL AND sl.city_id = l.city_id AND sl.deal = l.deal",
]
PRICED = f"l.currency = c.currency AND {COMPARABLE_PRICE} IS NOT NULL"
UNPRICED = f"(l.currency <> c.currency OR {COMPARABLE_PRICE} IS NULL)"
PRICE_FITS = f"""(sl.price_min IS NULL OR {COMPARABLE_PRICE} >= sl.price_min)
              AND (sl.price_max IS NULL OR {COMPARABLE_PRICE} <= sl.price_max)"""


def price_probes(filed_classes):
    """(which listings, which of their slots) for each class searches are filed under: the
    class and its bounds written in, so that both databases probe the slot indexes on every
    column of them."""
    for price_class, low, high in price_classes():
        if price_class not in filed_classes:
            continue
        bounds = "".join(
            [
                f" AND sl.price_key >= {COMPARABLE_PRICE} * {low}" if low else "",
                f" AND sl.price_key <= {COMPARABLE_PRICE} * {high}" if high else "",
            ]
        )
        yield PRICED, f"sl.price_class = {price_class}{bounds}\n              AND {PRICE_FITS}"
    if UNKNOWN_PRICE_CLASS in filed_classes:
        yield UNPRICED, f"sl.price_class = {UNKNOWN_PRICE_CLASS}"


def candidate_branches(filed_classes):
    """One SELECT per area and price probe, each yielding (subscriber, listing, search) for
    the slots that fit a listing exactly.

    Each branch reads the batch from the listing table itself, where the planner knows how
    few rows it holds; CROSS JOIN, with the conditions in WHERE, keeps SQLite's planner from
    starting at the slots.
    """
    listing, slot = Listing._meta.db_table, SearchSlot._meta.db_table
    return [
        f"""SELECT sl.subscriber_id, l.id, sl.search_filter_id
            FROM {listing} l CROSS JOIN {City._meta.db_table} c CROSS JOIN {slot} sl
            WHERE l.id IN ({{listing_ids}}) AND c.id = l.city_id
              AND {listings} AND {area} AND sl.room_bit = {LISTING_ROOM_SLOT}
              AND {slots}
              AND {FURNISHING_AND_TERM_FIT}"""
        for area in AREAS
        for listings, slots in price_probes(filed_classes)
    ]


def match_sql(filed_classes):
    """The statement: each listing's candidates found through the search slots, tested exactly,
    then kept for the reachable subscribers only, one delivery per person.

    A listing's candidates are the slots for its district (or for its whole city), deal and
    room count (or any) with a price key in the range its price allows for the slot's class
    (slots.py); a listing with no comparable price probes the slots of the searches that take
    one. Testing every search of the city against every listing would cost the pairs of all
    searches.
    """
    candidates = "\n          UNION ALL\n            ".join(candidate_branches(filed_classes))
    # The reachable subscribers are a set, made once per statement: tested candidate by
    # candidate, they cost more than finding the candidates. Grouped in the order of the
    # outbox's unique index, the rows go in as a sorted run.
    return f"""
        INSERT INTO {Delivery._meta.db_table}
            (subscriber_id, listing_id, search_filter_id, kind, state, attempts,
             next_attempt_at, created_at, message_ids, last_error)
        WITH reachable AS MATERIALIZED {REACHABLE_SUBSCRIBERS},
        matches (subscriber_id, listing_id, search_filter_id) AS (
            {candidates}
        )
        SELECT subscriber_id, listing_id, MIN(search_filter_id), %(kind)s, %(state)s, 0,
               %(now)s, %(now)s, '[]', ''
        FROM matches
        WHERE subscriber_id IN (SELECT subscriber_id FROM reachable)
        GROUP BY subscriber_id, listing_id
        ON CONFLICT (subscriber_id, listing_id) WHERE kind = 'new' DO NOTHING
    """


def match_new_listings(listing_ids, now=None):
    """Write a pending Delivery for every live search each listing matches; returns the count.

    Call it inside the transaction that stored the listings, so that a listing is never stored
    without its deliveries.
    """
    now = now or timezone.now()
    params = {
        "kind": Delivery.Kind.NEW,
        "state": Delivery.State.PENDING,
        "active": Subscription.State.ACTIVE,
        "now": now,
    }
    # Only the classes searches are filed under get a branch. A search saved with a new class
    # after this read misses this batch, as does any search saved after the statement below.
    filed = set(SearchSlot.objects.values_list("price_class", flat=True).distinct())
    if not filed:
        return 0  # no live search at all
    return execute_in_batches(match_sql(filed), "listing_ids", list(listing_ids), params)


def price_drop_sql():
    return f"""
        INSERT INTO {Delivery._meta.db_table}
            (subscriber_id, listing_id, search_filter_id, kind, state, attempts,
             next_attempt_at, created_at, message_ids, last_error, price_change_id)
        SELECT d.subscriber_id, d.listing_id, MIN(d.search_filter_id), %(kind)s, %(state)s, 0,
               %(now)s, %(now)s, '[]', '', pc.id
        FROM {PriceChange._meta.db_table} pc
        JOIN {Delivery._meta.db_table} d
             ON d.listing_id = pc.listing_id AND d.kind = %(new)s AND d.state = %(sent)s
        JOIN {SearchFilter._meta.db_table} f ON f.id = d.search_filter_id
        WHERE pc.id IN ({{change_ids}})
          AND pc.new_price < pc.old_price
          AND f.notify_price_drops = %(true)s AND f.is_paused = %(false)s
          AND d.subscriber_id IN {REACHABLE_SUBSCRIBERS}
        GROUP BY d.subscriber_id, d.listing_id, pc.id
        ON CONFLICT (subscriber_id, price_change_id) WHERE kind = 'price_drop' DO NOTHING
    """


def match_price_drops(price_change_ids, now=None):
    """Queue a "price dropped" delivery for everyone already told about each listing whose
    search wants drops; returns the count. Call it in the transaction that stored the change."""
    now = now or timezone.now()
    params = {
        "kind": Delivery.Kind.PRICE_DROP,
        "state": Delivery.State.PENDING,
        "new": Delivery.Kind.NEW,
        "sent": Delivery.State.SENT,
        "active": Subscription.State.ACTIVE,
        "now": now,
        "true": True,
        "false": False,
    }
    return execute_in_batches(price_drop_sql(), "change_ids", list(price_change_ids), params)


def execute_in_batches(template, placeholder, ids, params):
    """Run `template` once per batch of ids, filling `{placeholder}`; returns rows written."""
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(ids), BATCH_SIZE):
            batch = ids[start : start + BATCH_SIZE]
            names = ", ".join(f"%(id{n})s" for n in range(len(batch)))
            batch_params = params | {f"id{n}": row_id for n, row_id in enumerate(batch)}
            cursor.execute(template.replace("{" + placeholder + "}", names), batch_params)
            written += max(cursor.rowcount, 0)
    return written
