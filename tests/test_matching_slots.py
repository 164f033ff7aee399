"""Matching through search slots finds exactly the searches a listing fits, however the
searches were made or changed since."""

import random
from decimal import Decimal

import pytest

from listings.models import District
from subscriptions import searches as chat_searches
from subscriptions.matching import match_new_listings
from subscriptions.models import MAX_ROOM_BIT, Delivery
from subscriptions.slots import price_class
from tests import factories as make

pytestmark = pytest.mark.django_db


def delivered():
    return set(Delivery.objects.values_list("search_filter_id", "listing_id"))


def fits(search, listing, district_ids):
    """What a renter means by their search, written out plainly."""
    if search.is_draft or search.is_paused:
        return False
    if search.city_id != listing.city_id or search.deal != listing.deal:
        return False
    if district_ids and listing.district_id not in district_ids:
        return False
    if search.rooms_mask and (
        listing.rooms is None or not search.rooms_mask & (1 << min(listing.rooms, MAX_ROOM_BIT))
    ):
        return False
    if search.furnishing and listing.furnishing not in ("", "partly", search.furnishing):
        return False
    terms = {"long": ("month", "year"), "short": ("day", "week"), "": ()}
    stated = listing.period in ("day", "week", "month", "year")
    if (
        search.rent_term
        and listing.deal == "rent"
        and stated
        and (listing.period not in terms[search.rent_term])
    ):
        return False
    if search.price_min is None and search.price_max is None:
        return True
    price = listing.price if listing.deal == "sale" else listing.price_per_month
    if price is None or listing.currency != listing.city.currency:
        return search.allow_unknown_price
    low_enough = search.price_max is None or price <= search.price_max
    return low_enough and (search.price_min is None or price >= search.price_min)


def random_price_range(rng):
    kind = rng.choice(["none", "ceiling", "floor", "narrow", "wide", "absurd", "zero"])
    budget = Decimal(rng.choice([900, 4_000, 9_000, 9_500, 30_000]))
    return {
        "none": (None, None),
        "ceiling": (None, budget),
        "floor": (budget, None),
        "narrow": (budget * Decimal("0.85"), budget),
        "wide": (budget / 4, budget * 3),
        "absurd": (Decimal(1), budget * 10_000),
        "zero": (Decimal(0), budget),
    }[kind]


def test_it_delivers_exactly_what_a_plain_check_of_every_pair_finds(city, source):
    rng = random.Random(20261204)
    districts = [District.objects.create(city=city, name=f"District {n}") for n in range(4)]
    sale_source = make.source(city, deal="sale")
    searches = []
    for _ in range(150):
        price_min, price_max = random_price_range(rng)
        searches.append(
            make.search(
                make.subscriber(),
                city,
                districts=rng.sample(districts, rng.choice([0, 0, 1, 2])),
                rooms=rng.sample(range(MAX_ROOM_BIT + 1), rng.choice([0, 1, 2])),
                deal=rng.choice(["rent", "rent", "sale"]),
                price_min=price_min,
                price_max=price_max,
                allow_unknown_price=rng.random() < 0.3,
                furnishing=rng.choice(["", "", "furnished", "unfurnished"]),
                rent_term=rng.choice(["", "", "long", "short"]),
                is_paused=rng.random() < 0.1,
                is_draft=rng.random() < 0.05,
            )
        )
    listings = []
    for _ in range(60):
        deal_source = rng.choice([source, source, sale_source])
        price = rng.choice([None, 0, 800, 3_400, 7_650, 9_000, 9_500, 12_000, 2_000_000])
        listings.append(
            make.listing(
                deal_source,
                price=price,
                period=rng.choice(["month", "month", "year", "day", "week", ""]),
                rooms=rng.choice([None, 0, 1, 2, 3, 4, 6]),
                district_row=rng.choice([None, *districts]),
                currency=rng.choice([city.currency] * 5 + ["USD"]),
                furnishing=rng.choice(["", "furnished", "partly", "unfurnished"]),
            )
        )

    match_new_listings([listing.pk for listing in listings])

    expected = {
        (search.pk, listing.pk)
        for search in searches
        for listing in listings
        if fits(search, listing, {d.pk for d in search.districts.all()})
    }
    # One delivery per person and listing: each renter here has one search.
    assert delivered() == expected
    assert len(expected) > 100


@pytest.mark.parametrize(
    ("price_min", "price_max", "expected"),
    [
        (None, None, (0, 0)),
        (Decimal(500), None, (0, 500)),
        (None, Decimal(900), (13, 900)),
        (Decimal(0), Decimal(900), (13, 900)),
        (Decimal(1000), Decimal(1000), (1, 1000)),
        (Decimal(850), Decimal(1000), (1, 850)),
        (Decimal(700), Decimal(1000), (2, 700)),
        (Decimal(1), Decimal(1_000_000), (0, 1)),
    ],
)
def test_a_price_range_is_filed_by_its_width(price_min, price_max, expected):
    assert price_class(price_min, price_max) == expected


def test_a_search_changed_after_saving_matches_what_it_says_now(city, source):
    old_town, harbour = make.district(city, "Old Town"), make.district(city, "Harbour")
    search = make.search(
        make.subscriber(), city, districts=[old_town], price_max=5_000, furnishing="unfurnished"
    )
    search.price_max = Decimal(9_000)
    search.furnishing = "furnished"
    search.save(update_fields=["price_max", "furnishing"])
    search.districts.remove(old_town)
    harbour.search_filters.add(search)
    listing = make.listing(source, price=8_000, district_row=harbour, furnishing="furnished")

    match_new_listings([listing.pk])

    assert delivered() == {(search.pk, listing.pk)}


def test_pausing_every_search_from_the_chat_stops_matching_until_resumed(city, source):
    renter = make.subscriber()
    searches = [make.search(renter, city), make.search(renter, city, rooms=[2])]
    first = make.listing(source, price=8_000, rooms=2)
    second = make.listing(source, price=8_000, rooms=2)

    chat_searches.set_all_paused(renter.chat_id, paused=True)
    match_new_listings([first.pk])
    assert delivered() == set()

    chat_searches.set_all_paused(renter.chat_id, paused=False)
    match_new_listings([second.pk])
    assert delivered() == {(min(s.pk for s in searches), second.pk)}


def test_a_search_whose_only_district_is_deleted_watches_the_whole_city(city, source):
    gone = District.objects.create(city=city, name="Gone")
    search = make.search(make.subscriber(), city, districts=[gone])
    gone.delete()
    listing = make.listing(source, price=8_000, district_row=make.district(city, "Harbour"))

    match_new_listings([listing.pk])

    assert delivered() == {(search.pk, listing.pk)}
