"""Storing a parser run: listings once per source, price changes, the run and the source."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import QuerySet
from django.utils import timezone

from listings.adapters.base import ParsedListing
from listings.models import FetchRun, Listing, PriceChange, Source
from listings.storing import RunOutcome, claim_due_source, record_run
from subscriptions.models import Delivery
from tests import factories as make

pytestmark = pytest.mark.django_db


@pytest.fixture
def city():
    row = make.city(districts=("Old Town", "Harbour"))
    harbour = make.district(row, "Harbour")
    harbour.aliases = ["Marina Harbour"]
    harbour.save()
    return row


@pytest.fixture
def source(city):
    return make.source(city, poll_interval_seconds=600)


def parsed(external_id, price="9000", locations=(), **fields):
    return ParsedListing(
        external_id=external_id,
        url=f"https://listings.example/{external_id}",
        title=f"Flat {external_id}",
        price=Decimal(price) if price else None,
        currency="AED",
        period="month",
        locations=list(locations),
        **fields,
    )


def test_a_run_stores_new_listings_and_queues_deliveries_for_matching_searches(city, source):
    renter = make.subscriber()
    make.search(renter, city, price_max=10_000)
    page = [parsed("a", "9000"), parsed("b", "12000"), parsed("c", None)]

    stored = record_run(source.pk, RunOutcome("ok", page, 1), 0.5)

    assert (stored.new, stored.updated, stored.deliveries) == (3, 0, 1)
    assert Listing.objects.filter(source=source).count() == 3
    delivery = Delivery.objects.get()
    assert delivery.listing.external_id == "a"
    assert delivery.state == Delivery.State.PENDING


def test_a_listing_seen_again_is_neither_stored_nor_announced_twice(city, source):
    make.search(make.subscriber(), city)
    record_run(source.pk, RunOutcome("ok", [parsed("a")], 1), 0.1)

    again = record_run(source.pk, RunOutcome("ok", [parsed("a")], 1), 0.1)

    assert (again.new, again.deliveries) == (0, 0)
    assert Listing.objects.count() == 1
    assert Delivery.objects.count() == 1


def test_a_new_price_is_recorded_as_a_price_change(city, source):
    record_run(source.pk, RunOutcome("ok", [parsed("a", "9000")], 1), 0.1)

    again = record_run(source.pk, RunOutcome("ok", [parsed("a", "8500")], 1), 0.1)

    assert again.updated == 1
    change = PriceChange.objects.get()
    assert (change.old_price, change.new_price) == (Decimal("9000"), Decimal("8500"))
    assert Listing.objects.get().price_per_month == Decimal("8500")


def test_a_district_is_found_through_its_alias(city, source):
    record_run(source.pk, RunOutcome("ok", [parsed("a", locations=["Marina Harbour"])], 1), 0)

    assert Listing.objects.get().district.name == "Harbour"


def test_an_ok_run_settles_the_source_and_schedules_the_next(source):
    record_run(source.pk, RunOutcome("ok", [parsed("a")], 1), 0.2)

    source.refresh_from_db()
    assert source.state == Source.State.OK
    assert source.claimed_at is None
    assert source.last_success_at is not None
    assert source.next_run_at > timezone.now() + timedelta(seconds=590)
    run = FetchRun.objects.get()
    assert (run.state, run.found, run.new) == ("ok", 1, 1)


def test_a_broken_run_stores_nothing_and_counts_the_failure(source):
    stored = record_run(
        source.pk, RunOutcome("broken", pages=1, error="no listings on the page"), 0.1
    )

    source.refresh_from_db()
    assert stored.new == 0
    assert source.state == Source.State.BROKEN
    assert source.consecutive_failures == 1
    assert source.last_error == "no listings on the page"
    assert not Listing.objects.exists()


def test_a_due_source_is_claimed_once(source):
    first = claim_due_source()
    second = claim_due_source()

    assert first.id == source.pk
    assert second is None


def test_disabled_and_not_yet_due_sources_are_not_claimed(city):
    make.source(city, is_enabled=False)
    make.source(city, next_run_at=timezone.now() + timedelta(minutes=5))

    assert claim_due_source() is None


def test_a_source_another_parser_ran_meanwhile_is_not_claimed_again(source, monkeypatch):
    """Parser B reads the due sources; before its claim lands, parser A claims, fetches and
    stores the same source. B must find it no longer due."""
    update = QuerySet.update

    def another_parser_runs_it_first(queryset, **fields):
        monkeypatch.setattr(QuerySet, "update", update)
        first = claim_due_source()
        record_run(first.id, RunOutcome(FetchRun.State.OK, pages=1), took_seconds=0.1)
        return update(queryset, **fields)

    monkeypatch.setattr(QuerySet, "update", another_parser_runs_it_first)

    assert claim_due_source() is None
