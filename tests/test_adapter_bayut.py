"""Bayut, on its whole saved pages: the search index's JSON and a page's embedded state."""

import json
import re
from decimal import Decimal

import pytest

from listings.adapters.base import AdapterError, Page, get_adapter
from tests.pages import fixture_path, load_page

RENT_PAGE = "bayut/search-api-hits_rent_dubai_2022-09.json"
SALE_PAGE = "bayut/search-state_sale_dubai_2026-02.html"


@pytest.fixture
def adapter():
    return get_adapter("bayut")


def by_id(listings):
    return {listing.external_id: listing for listing in listings}


def test_every_rental_hit_becomes_a_listing(adapter):
    raw_hits = json.loads(fixture_path(RENT_PAGE).read_text())["hits"]

    listings = adapter.parse(load_page(RENT_PAGE)).listings

    assert len(listings) == len(raw_hits) == 12
    assert len(by_id(listings)) == 12


@pytest.mark.parametrize(
    ("external_id", "price", "rooms", "area", "district"),
    [
        ("4711777", "19950", 1, "79.25", "Downtown Dubai"),
        ("6342399", "11998", 2, "73.02", "Mohammed Bin Rashid City"),
        ("5913760", "45000", 2, "143.81", "Downtown Dubai"),
        ("5608050", "34000", 3, "193.33", "Downtown Dubai"),
    ],
)
def test_rental_fields_are_read_from_the_hit(adapter, external_id, price, rooms, area, district):
    listing = by_id(adapter.parse(load_page(RENT_PAGE)).listings)[external_id]

    assert listing.price == Decimal(price)
    assert (listing.currency, listing.period, listing.deal) == ("AED", "month", "rent")
    assert listing.rooms == rooms
    assert listing.area_m2 == Decimal(area)
    assert district in listing.locations
    assert listing.url == f"https://www.bayut.com/property/details-{external_id}.html"
    assert listing.photo_urls and listing.photo_urls[0].startswith("https://")
    assert listing.published_at is not None


def test_every_hit_of_the_embedded_state_becomes_a_sale_listing(adapter):
    page = load_page(SALE_PAGE)
    ids_in_page = set(re.findall(r'"externalID":"(\d{6,})","slug"', page.text))

    listings = adapter.parse(page).listings

    assert len(listings) == 24
    assert set(by_id(listings)) <= ids_in_page
    first = by_id(listings)["14335976"]
    assert (first.price, first.period, first.deal) == (Decimal("2520000"), "once", "sale")
    assert (first.rooms, first.bathrooms) == (4, 5)
    assert first.area_m2 == Decimal("205.04")
    assert "DAMAC Islands" in first.locations


def test_a_page_without_the_state_is_broken_not_empty(adapter):
    page = load_page(SALE_PAGE)
    without_state = page.text.replace("window.state = ", "window.somethingElse = ")

    with pytest.raises(AdapterError, match="window.state"):
        adapter.parse(Page(url=page.url, text=without_state))


def test_a_malformed_hit_is_skipped_and_the_rest_are_kept(adapter):
    data = json.loads(fixture_path(RENT_PAGE).read_text())
    del data["hits"][0]["externalID"]

    listings = adapter.parse(Page(url="http://127.0.0.1/x.json", text=json.dumps(data))).listings

    assert len(listings) == 11


def test_a_malformed_price_is_unknown_and_the_page_survives(adapter):
    data = json.loads(fixture_path(RENT_PAGE).read_text())
    data["hits"][0]["price"] = "abc"

    listings = adapter.parse(Page(url="http://127.0.0.1/x.json", text=json.dumps(data))).listings

    assert len(listings) == 12
    assert by_id(listings)["4711777"].price is None


def test_the_furnishing_status_is_read_from_each_hit(adapter):
    rentals = adapter.parse(load_page(RENT_PAGE)).listings
    sales = adapter.parse(load_page(SALE_PAGE)).listings

    assert {listing.furnishing for listing in rentals} == {"furnished"}
    assert {listing.furnishing for listing in sales} == {"unfurnished"}
