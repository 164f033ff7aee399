"""Storing a parser run: listings, price changes, removals, the run's record, the source's
state and the outbox rows, in one transaction."""

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from listings.models import District, FetchRun, Listing, PriceChange, Source
from listings.prices import monthly_price
from subscriptions.matching import match_new_listings, match_price_drops

logger = logging.getLogger(__name__)

# A claim older than this belongs to a parser that died mid-run; another may take the source.
CLAIM_EXPIRY = timedelta(minutes=10)
# Failed runs are retried sooner than the poll interval, but not hammered.
RETRY_AFTER_FAILURE = timedelta(minutes=2)
# A repost's price may differ this much from the original's and still be the same flat.
REPOST_PRICE_TOLERANCE = Decimal("0.10")


@dataclass
class ClaimedSource:
    id: int
    name: str
    adapter: str
    search_url: str
    selectors: dict
    etag: str
    last_modified: str


@dataclass
class RunOutcome:
    """What fetching and parsing a source's pages gave, before anything is stored."""

    state: str
    listings: list = field(default_factory=list)
    pages: int = 0
    error: str = ""
    not_modified: bool = False
    etag: str = ""
    last_modified: str = ""
    retry_at: float | None = None  # time.time() the site asked us to wait for
    complete: bool = True  # False when a later page failed and the rest went unread


@dataclass
class StoreResult:
    new: int = 0
    updated: int = 0
    removed: int = 0
    reposts: int = 0
    deliveries: int = 0
    alert: str = ""  # a message for staff, when the source just failed or recovered


def release_claim(source_id):
    """Give back a claimed source whose run could not finish, so another run may take it."""
    Source.objects.filter(pk=source_id).update(claimed_at=None)


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
        # The source as it was read, run time included: a run another parser finished since
        # then released its claim but moved the run time on, and must not be run again.
        claimed = Source.objects.filter(
            pk=source.pk, claimed_at=source.claimed_at, next_run_at=source.next_run_at
        ).update(claimed_at=now)
        if claimed:
            return ClaimedSource(
                source.pk,
                source.name,
                source.adapter,
                source.search_url,
                source.selectors,
                source.etag,
                source.last_modified,
            )
    return None


def record_run(source_id, outcome, took_seconds, now=None):
    """Store what a run found and settle the source's state, all in one transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        source = Source.objects.select_related("city").get(pk=source_id)
        result = StoreResult()
        if outcome.state == FetchRun.State.OK and outcome.not_modified:
            # The page is as it was: everything on it is still there.
            Listing.objects.filter(source=source, removed_at__isnull=True).update(last_seen_at=now)
        elif outcome.state == FetchRun.State.OK:
            result = store_listings(source, outcome.listings, now)
            # Only a run that read the whole site may conclude that a flat is gone.
            if outcome.complete:
                result.removed = mark_unseen_removed(source, now)

        FetchRun.objects.create(
            source=source,
            started_at=now - timedelta(seconds=took_seconds),
            state=outcome.state,
            pages=outcome.pages,
            found=len(outcome.listings),
            new=result.new,
            updated=result.updated,
            deliveries=result.deliveries,
            error=outcome.error,
            took_seconds=took_seconds,
        )
        result.alert = settle_source(source, outcome, now)
    return result


def store_listings(source, parsed_listings, now):
    """Insert new listings, update seen ones, and queue deliveries for the new ones."""
    resolve_district = district_resolver(source.city_id)
    by_external_id = {p.external_id: p for p in parsed_listings}
    existing = {
        listing.external_id: listing
        for listing in Listing.objects.filter(source=source, external_id__in=by_external_id)
    }

    result = StoreResult()
    new_listings, price_changes = [], []
    for external_id, parsed in by_external_id.items():
        listing = existing.get(external_id)
        if listing is None:
            new_listings.append(build_listing(source, parsed, resolve_district(parsed.locations)))
            continue
        change = update_listing(listing, parsed, now)
        if change:
            result.updated += 1
            price_changes.append(change.pk)

    result.reposts = link_reposts(source, new_listings)
    Listing.objects.bulk_create(new_listings)
    Listing.objects.filter(pk__in=[x.pk for x in existing.values()]).update(
        last_seen_at=now, removed_at=None
    )
    result.new = len(new_listings)
    announce = [listing.pk for listing in new_listings if listing.repost_of_id is None]
    result.deliveries = match_new_listings(announce, now=now)
    result.deliveries += match_price_drops(price_changes, now=now)
    return result


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
        furnishing=parsed.furnishing,
        photo_urls=parsed.photo_urls,
        published_at=parsed.published_at,
        fingerprint=fingerprint(parsed),
        raw=parsed.raw,
    )


def fingerprint(parsed):
    """What stays the same when an agent deletes a listing and posts the flat again: the
    address, the area to the square metre, the rooms and the first photo's file name."""
    if not (parsed.address and parsed.area_m2):
        return ""
    photo = parsed.photo_urls[0].split("?")[0].rsplit("/", 1)[-1] if parsed.photo_urls else ""
    key = "|".join(
        [
            " ".join(parsed.address.casefold().split()),
            str(round(parsed.area_m2)),
            str(parsed.rooms),
            photo,
        ]
    )
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def link_reposts(source, new_listings):
    """Point each new listing that is an older one posted again at the original; count them."""
    prints = {listing.fingerprint for listing in new_listings if listing.fingerprint}
    originals = {}
    for listing in Listing.objects.filter(source=source, fingerprint__in=prints).order_by("pk"):
        originals.setdefault(listing.fingerprint, listing)

    reposts = 0
    for listing in new_listings:
        original = originals.get(listing.fingerprint)
        if original and near_price(original.price, listing.price):
            listing.repost_of_id = original.repost_of_id or original.pk
            reposts += 1
    return reposts


def near_price(old, new):
    if old is None or new is None:
        return old == new
    return abs(new - old) <= abs(old) * REPOST_PRICE_TOLERANCE


def update_listing(listing, parsed, now):
    """Record a price change on a listing seen before; returns the PriceChange, if any."""
    if parsed.price is None or parsed.price == listing.price:
        return None

    change = PriceChange.objects.create(
        listing=listing, old_price=listing.price, new_price=parsed.price, changed_at=now
    )
    listing.price = parsed.price
    listing.period = parsed.period or listing.period
    listing.price_text = parsed.price_text[:200]
    if listing.deal == "rent":
        listing.price_per_month = monthly_price(parsed.price, listing.period)
    listing.save(update_fields=["price", "period", "price_text", "price_per_month"])
    return change


def mark_unseen_removed(source, now):
    unseen_since = now - timedelta(hours=settings.LISTING_REMOVED_AFTER_HOURS)
    return Listing.objects.filter(
        source=source, removed_at__isnull=True, last_seen_at__lt=unseen_since
    ).update(removed_at=now)


def settle_source(source, outcome, now):
    """Release the claim, schedule the next run, and say whether staff must hear of it."""
    fields = {"claimed_at": None}
    alert = ""
    if outcome.state == FetchRun.State.OK:
        fields |= {
            "state": Source.State.OK,
            "consecutive_failures": 0,
            "last_success_at": now,
            "last_error": "",
            "next_run_at": now + timedelta(seconds=source.poll_interval_seconds),
            "alerted_at": None,
        }
        if not outcome.not_modified:
            fields |= {"etag": outcome.etag, "last_modified": outcome.last_modified}
        if source.alerted_at:
            alert = f"✅ Source “{source.name}” works again."
    else:
        failures = source.consecutive_failures + 1
        fields |= {
            "state": Source.State.DEGRADED
            if outcome.state == FetchRun.State.TEMPORARY
            else outcome.state,
            "consecutive_failures": F("consecutive_failures") + 1,
            "last_error": outcome.error[:2000],
            "next_run_at": next_try(source, outcome, now),
        }
        if failures >= settings.SOURCE_ALERT_AFTER_FAILURES and not source.alerted_at:
            fields["alerted_at"] = now
            alert = (
                f"⚠️ Source “{source.name}” failed {failures} runs in a row "
                f"({outcome.state}): {outcome.error}"
            )
    Source.objects.filter(pk=source.pk).update(**fields)
    return alert


def next_try(source, outcome, now):
    retry_in = min(timedelta(seconds=source.poll_interval_seconds), RETRY_AFTER_FAILURE)
    next_run = now + retry_in
    if outcome.retry_at:
        asked = datetime.fromtimestamp(outcome.retry_at, tz=UTC)
        next_run = max(next_run, asked)
    return next_run
