"""Matching new listings to saved searches: one set-based SQL statement per batch.

Never a Python loop over subscribers: the database joins the batch of new listings with every
live search filter and writes the outbox rows in the same statement.
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
from subscriptions.slots import UNKNOWN_ROOMS, price_classes

BATCH_SIZE = 500
# Who may hear from us at all: a subscriber `s` who has not blocked the bot and has access.
REACHABLE_SUBSCRIBER = f"""(s.blocked_at IS NULL AND EXISTS (
              SELECT 1 FROM {Subscription._meta.db_table} sub
              WHERE sub.subscriber_id = s.id AND sub.state = %(active)s
                AND sub.expires_at > %(now)s))"""
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
        f"(f.rent_term = '{term}' AND l.period IN ({sql_strings(periods)}))"
        for term, periods in RENT_TERM_PERIODS.items()
    ),
)
# Rent is compared per month; a sale by its one-off price.
COMPARABLE_PRICE = "(CASE WHEN l.deal = 'sale' THEN l.price ELSE l.price_per_month END)"


def match_sql(filed_classes):
    """The statement: candidates first, found through the search slots, then every criterion
    on the candidate pairs only.

    A listing's candidates are the searches with a slot for its district (or for its whole
    city), its room count (or any) and a price key in the range its price allows for the
    slot's class (slots.py); a listing with no comparable price reaches only searches that
    accept one. Testing every search of the city against every listing would cost the pairs
    of all searches.
    """
    listing, search = Listing._meta.db_table, SearchFilter._meta.db_table
    areas = [
        "sl.district_id = l.district_id AND sl.deal = l.deal",
        "sl.district_id IS NULL AND sl.city_id = l.city_id AND sl.deal = l.deal",
    ]
    # One branch per area and price class that searches are filed under, its class and
    # bounds written in, so that both databases probe the slots' index on every column of it.
    # Each branch reads the batch from the listing table itself, where the planner knows how
    # few rows it holds; CROSS JOIN, with the conditions in WHERE, keeps SQLite's planner from
    # starting at the slots.
    branches = []
    for area in areas:
        for price_class, low, high in price_classes():
            if price_class not in filed_classes:
                continue
            bounds = "".join(
                [
                    f" AND sl.price_key >= {COMPARABLE_PRICE} * {low}" if low else "",
                    f" AND sl.price_key <= {COMPARABLE_PRICE} * {high}" if high else "",
                ]
            )
            branches.append(
                f"""SELECT sl.search_filter_id, l.id
            FROM {listing} l CROSS JOIN {City._meta.db_table} c
            CROSS JOIN {SearchSlot._meta.db_table} sl
            WHERE l.id IN ({{listing_ids}}) AND c.id = l.city_id
              AND l.currency = c.currency AND {COMPARABLE_PRICE} IS NOT NULL
              AND {area} AND sl.room_bit = {LISTING_ROOM_SLOT}
              AND sl.price_class = {price_class}{bounds}"""
            )
        branches.append(
            f"""SELECT sl.search_filter_id, l.id
            FROM {listing} l CROSS JOIN {City._meta.db_table} c
            CROSS JOIN {SearchSlot._meta.db_table} sl
            WHERE l.id IN ({{listing_ids}}) AND c.id = l.city_id
              AND (l.currency <> c.currency OR {COMPARABLE_PRICE} IS NULL)
              AND {area} AND sl.room_bit = {LISTING_ROOM_SLOT}
              AND sl.accepts_unknown_price = %(true)s"""
        )
    candidates = "\n          UNION ALL\n            ".join(branches)
    return f"""
        INSERT INTO {Delivery._meta.db_table}
            (subscriber_id, listing_id, search_filter_id, kind, state, attempts,
             next_attempt_at, created_at, message_ids, last_error)
        WITH candidates (filter_id, listing_id) AS (
            {candidates}
        )
        SELECT f.subscriber_id, l.id, MIN(f.id), %(kind)s, %(state)s, 0,
               %(now)s, %(now)s, '[]', ''
        FROM candidates cand
        CROSS JOIN {listing} l
        CROSS JOIN {search} f
        CROSS JOIN {Subscriber._meta.db_table} s
        CROSS JOIN {City._meta.db_table} c
        WHERE l.id = cand.listing_id AND f.id = cand.filter_id
          AND s.id = f.subscriber_id AND c.id = l.city_id
          AND f.city_id = l.city_id AND f.deal = l.deal
          AND f.is_draft = %(false)s AND f.is_paused = %(false)s
          AND {REACHABLE_SUBSCRIBER}
          AND (f.rooms_mask = 0 OR (l.rooms IS NOT NULL
               AND (f.rooms_mask & (1 << (CASE WHEN l.rooms > 4 THEN 4 ELSE l.rooms END))) <> 0))
          AND (f.furnishing = '' OR l.furnishing IN ('', 'partly') OR l.furnishing = f.furnishing)
          AND (f.rent_term = '' OR l.deal = 'sale' OR {RENT_TERM_FITS})
          AND ((f.price_min IS NULL AND f.price_max IS NULL)
               OR (l.currency = c.currency AND {COMPARABLE_PRICE} IS NOT NULL
                   AND (f.price_min IS NULL OR {COMPARABLE_PRICE} >= f.price_min)
                   AND (f.price_max IS NULL OR {COMPARABLE_PRICE} <= f.price_max))
               OR (f.allow_unknown_price = %(true)s
                   AND (l.currency <> c.currency OR {COMPARABLE_PRICE} IS NULL)))
        GROUP BY f.subscriber_id, l.id
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
        "true": True,
        "false": False,
    }
    # Only the classes searches are filed under get a branch. A search saved with a new class
    # after this read misses this batch, as does any search saved after the statement below.
    filed = set(SearchSlot.objects.values_list("price_class", flat=True).distinct())
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
        JOIN {Subscriber._meta.db_table} s ON s.id = d.subscriber_id
        WHERE pc.id IN ({{change_ids}})
          AND pc.new_price < pc.old_price
          AND f.notify_price_drops = %(true)s AND f.is_paused = %(false)s
          AND {REACHABLE_SUBSCRIBER}
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
