"""Storing a parser run: listings, price changes, the run's record and the outbox, at once."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from listings.models import District, FetchRun, Listing, PriceChange, Source
from listings.prices import monthly_price
from subscriptions.matching import match_new_listings

logger = logging.getLogger(__name__)

# A claim older than this belongs to a parser that died mid-run; another may take the source.
CLAIM_EXPIRY = timedelta(minutes=10)
# Failed runs are retried sooner than the poll interval, but not hammered.
RETRY_AFTER_FAILURE = timedelta(minutes=2)


@dataclass
class ClaimedSource:
    id: int
    name: str
    adapter: str
    search_url: str


@dataclass
class StoreResult:
    new: int = 0
    updated: int = 0
    deliveries: int = 0


def claim_due_source(now=None):
    """Claim the enabled source that has waited longest past its run time; None if none is due.

    The claim is a conditional UPDATE that must change exactly one row, so two parser
    processes never fetch the same source at once.
    """
    now = now or timezone.now()
    due = Source.objects.filter(is_enabled=True, next_run_at__lte=now).exclude(
        claimed_at__gt=now - CLAIM_EXPIRY
    )
    for source in due.order_by("next_run_at", "id")[:5]:
        claimed = Source.objects.filter(pk=source.pk, claimed_at=source.claimed_at).update(
            claimed_at=now
        )
        if claimed:
            return ClaimedSource(source.pk, source.name, source.adapter, source.search_url)
    return None


def district_resolver(city_id):
    """A function mapping a listing's place names to one of the city's districts, or None."""
    by_name = {}
    for district in District.objects.filter(city_id=city_id):
        for spelling in [district.name, *district.aliases]:
            by_name.setdefault(spelling.strip().casefold(), district.pk)

    def resolve(locations):
        for place in locations:
            district_id = by_name.get(place.strip().casefold())
            if district_id:
                return district_id
        return None

    return resolve


def store_listings(source, parsed_listings, now=None):
    """Insert new listings, update seen ones, and queue deliveries for the new ones."""
    now = now or timezone.now()
    resolve_district = district_resolver(source.city_id)
    by_external_id = {p.external_id: p for p in parsed_listings}
    existing = {
        listing.external_id: listing
        for listing in Listing.objects.filter(source=source, external_id__in=by_external_id)
    }

    result = StoreResult()
    new_listings = []
    for external_id, parsed in by_external_id.items():
        listing = existing.get(external_id)
        if listing is None:
            new_listings.append(build_listing(source, parsed, resolve_district(parsed.locations)))
        elif update_listing(listing, parsed, now):
            result.updated += 1

    Listing.objects.bulk_create(new_listings)
    Listing.objects.filter(pk__in=[x.pk for x in existing.values()]).update(last_seen_at=now)
    result.new = len(new_listings)
    result.deliveries = match_new_listings([listing.pk for listing in new_listings], now=now)
    return result


def build_listing(source, parsed, district_id):
    deal = parsed.deal or source.deal
    return Listing(
        source=source,
        external_id=parsed.external_id,
        city_id=source.city_id,
        deal=deal,
        url=parsed.url,
        title=parsed.title[:500],
        description=parsed.description,
        price=parsed.price,
        currency=parsed.currency,
        period=parsed.period,
        price_per_month=monthly_price(parsed.price, parsed.period) if deal == "rent" else None,
        price_text=parsed.price_text[:200],
        rooms=parsed.rooms,
        bathrooms=parsed.bathrooms,
        area_m2=parsed.area_m2,
        district_id=district_id,
        address=parsed.address[:500],
        photo_urls=parsed.photo_urls,
        published_at=parsed.published_at,
        raw=parsed.raw,
    )


def update_listing(listing, parsed, now):
    """Record a price change on a listing seen before; True if anything changed."""
    if parsed.price is None or parsed.price == listing.price:
        return False

    PriceChange.objects.create(
        listing=listing, old_price=listing.price, new_price=parsed.price, changed_at=now
    )
    listing.price = parsed.price
    listing.period = parsed.period or listing.period
    listing.price_text = parsed.price_text[:200]
    if listing.deal == "rent":
        listing.price_per_month = monthly_price(parsed.price, listing.period)
    listing.save(update_fields=["price", "period", "price_text", "price_per_month"])
    return True


def record_run(source_id, state, parsed_listings, pages, error, took_seconds, now=None):
    """Store what a run found and settle the source's state, all in one transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        source = Source.objects.select_related("city").get(pk=source_id)
        result = StoreResult()
        if state == FetchRun.State.OK:
            result = store_listings(source, parsed_listings, now)

        FetchRun.objects.create(
            source=source,
            started_at=now - timedelta(seconds=took_seconds),
            state=state,
            pages=pages,
            found=len(parsed_listings),
            new=result.new,
            updated=result.updated,
            deliveries=result.deliveries,
            error=error,
            took_seconds=took_seconds,
        )
        settle_source(source, state, error, now)
    return result


def settle_source(source, state, error, now):
    """Release the claim and schedule the next run according to how this one went."""
    fields = {"claimed_at": None}
    if state == FetchRun.State.OK:
        fields |= {
            "state": Source.State.OK,
            "consecutive_failures": 0,
            "last_success_at": now,
            "last_error": "",
            "next_run_at": now + timedelta(seconds=source.poll_interval_seconds),
        }
    else:
        retry_in = min(timedelta(seconds=source.poll_interval_seconds), RETRY_AFTER_FAILURE)
        fields |= {
            "state": Source.State.DEGRADED if state == FetchRun.State.TEMPORARY else state,
            "consecutive_failures": F("consecutive_failures") + 1,
            "last_error": error[:2000],
            "next_run_at": now + retry_in,
        }
    Source.objects.filter(pk=source.pk).update(**fields)
