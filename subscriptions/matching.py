"""Matching new listings to saved searches: one set-based SQL statement per batch.

Never a Python loop over subscribers: the database joins the batch of new listings with every
live search filter and writes the outbox rows in the same statement.
"""

from django.db import connection
from django.utils import timezone

from listings.models import City, Listing, PriceChange
from subscriptions.models import Delivery, SearchFilter, Subscriber, Subscription

BATCH_SIZE = 500
# Who may hear from us at all: a subscriber `s` who has not blocked the bot and has access.
REACHABLE_SUBSCRIBER = f"""(s.blocked_at IS NULL AND EXISTS (
              SELECT 1 FROM {Subscription._meta.db_table} sub
              WHERE sub.subscriber_id = s.id AND sub.state = %(active)s
                AND sub.expires_at > %(now)s))"""
# Rent is compared per month; a sale by its one-off price.
COMPARABLE_PRICE = "(CASE WHEN l.deal = 'sale' THEN l.price ELSE l.price_per_month END)"


def match_sql():
    """The statement: candidates first, each search reached through what it names, then
    every other criterion on the candidate pairs only.

    A search naming districts is reached through the district link table from the
    listing's district; a search naming none, through the listing's city. Testing every
    search of the city against every listing would cost the pairs of all searches.
    """
    filter_districts = SearchFilter.districts.through._meta.db_table
    listing, search = Listing._meta.db_table, SearchFilter._meta.db_table
    return f"""
        INSERT INTO {Delivery._meta.db_table}
            (subscriber_id, listing_id, search_filter_id, kind, state, attempts,
             next_attempt_at, created_at, message_ids, last_error)
        WITH candidates (filter_id, listing_id) AS (
            SELECT fd.searchfilter_id, l.id
            FROM {listing} l
            JOIN {filter_districts} fd ON fd.district_id = l.district_id
            WHERE l.id IN ({{listing_ids}})
          UNION ALL
            SELECT f.id, l.id
            FROM {listing} l
            JOIN {search} f ON f.city_id = l.city_id AND f.deal = l.deal
            WHERE l.id IN ({{listing_ids}}) AND f.names_districts = %(false)s
        )
        SELECT f.subscriber_id, l.id, MIN(f.id), %(kind)s, %(state)s, 0,
               %(now)s, %(now)s, '[]', ''
        FROM candidates cand
        JOIN {listing} l ON l.id = cand.listing_id
        JOIN {search} f ON f.id = cand.filter_id
        JOIN {Subscriber._meta.db_table} s ON s.id = f.subscriber_id
        JOIN {City._meta.db_table} c ON c.id = l.city_id
        WHERE f.city_id = l.city_id AND f.deal = l.deal
          AND f.is_draft = %(false)s AND f.is_paused = %(false)s
          AND {REACHABLE_SUBSCRIBER}
          AND (f.rooms_mask = 0 OR (l.rooms IS NOT NULL
               AND (f.rooms_mask & (1 << (CASE WHEN l.rooms > 4 THEN 4 ELSE l.rooms END))) <> 0))
          AND (f.furnishing = '' OR l.furnishing IN ('', 'partly') OR l.furnishing = f.furnishing)
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
    return execute_in_batches(match_sql(), "listing_ids", list(listing_ids), params)


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
