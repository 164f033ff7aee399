"""ImmobilienScout24, on its whole saved search state (Berlin rentals, page 1 of 2)."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from listings.adapters.base import AdapterError, Page, get_adapter
from tests.pages import fixture_path, load_page

PAGE = "immobilienscout24/search-state_rent_2020-10.json"
PAGE_URL = "https://www.immobilienscout24.de/Suche/radius/wohnung-mieten?pagenumber=1"


def raw_state():
    return json.loads(fixture_path(PAGE).read_text(encoding="utf-8"))


def raw_entries(state):
    result_list = state["resultList"]["resultListModel"]["searchResponseModel"]
    return result_list["resultlist.resultlist"]["resultlistEntries"][0]["resultlistEntry"]


def parse(state=None):
    page = load_page(PAGE, url=PAGE_URL)
    if state is not None:
        page = Page(url=PAGE_URL, text=json.dumps(state), content_type="application/json")
    return get_adapter("immoscout24").parse(page)


def by_id(listings):
    return {listing.external_id: listing for listing in listings}


def test_every_entry_becomes_one_listing():
    listings = parse().listings

    assert len(raw_entries(raw_state())) == len(listings) == 20
    assert len(by_id(listings)) == 20


@pytest.mark.parametrize(
    ("external_id", "price", "rooms", "area", "locations", "address", "photos"),
    [
        (
            "123393909",
            "415.8",
            2,
            "51",
            ["Neukölln", "Berlin"],
            "Dieselstr. 13, Neukölln (Ortsteil), Berlin",
            1,
        ),
        (
            "123589141",
            "349.68",
            2,
            "56",
            ["Rummelsburg", "Lichtenberg", "Berlin"],
            "Giselastr. 27 A, Rummelsburg, Berlin",
            2,
        ),
        (
            "123589148",
            "405.36",
            3,
            "64.5",
            ["Friedrichsfelde", "Lichtenberg", "Berlin"],
            "Archenholdstraße 84, Friedrichsfelde, Berlin",
            2,
        ),
        (
            "123566055",
            "460",
            1,
            "23",
            ["Friedrichshain", "Berlin"],
            "Pettenkofer Str. 31, Friedrichshain, Berlin",
            None,
        ),
    ],
)
def test_entry_fields(external_id, price, rooms, area, locations, address, photos):
    listing = by_id(parse().listings)[external_id]

    assert listing.price == Decimal(price)
    assert (listing.currency, listing.period, listing.deal) == ("EUR", "month", "rent")
    assert listing.rooms == rooms
    assert listing.area_m2 == Decimal(area)
    assert listing.locations == locations
    assert listing.address == address
    assert listing.url == f"https://www.immobilienscout24.de/expose/{external_id}"
    assert listing.photo_urls[0].startswith("https://pictures.immobilienscout24.de/listings/")
    assert "/ORIG/" not in listing.photo_urls[0]
    if photos:
        assert len(listing.photo_urls) == photos


def test_the_price_text_and_publication_date_are_kept():
    listing = by_id(parse().listings)["123393909"]

    assert listing.price_text == "415,80 €"
    assert listing.published_at == datetime(2020, 10, 9, 7, 19, 33, tzinfo=UTC)


def test_the_next_page_link_is_absolute():
    assert parse().next_page_url.startswith("https://www.immobilienscout24.de/Suche/radius/")
    assert parse().next_page_url.endswith("&pagenumber=2")


def test_a_state_without_entries_is_broken():
    state = raw_state()
    raw_entries(state).clear()

    with pytest.raises(AdapterError, match="no entries"):
        parse(state)


def test_an_html_page_without_the_state_is_broken():
    page = Page(url=PAGE_URL, text="<html><body>Bitte bestätigen Sie…</body></html>")

    with pytest.raises(AdapterError, match="resultListModel"):
        get_adapter("immoscout24").parse(page)


def test_an_unreadable_price_is_none_and_a_broken_entry_is_skipped():
    state = raw_state()
    raw_entries(state)[0]["resultlist.realEstate"]["price"]["value"] = "auf Anfrage"
    del raw_entries(state)[1]["resultlist.realEstate"]

    listings = by_id(parse(state).listings)

    assert listings["123393909"].price is None
    assert "123533710" not in listings
    assert len(listings) == 19
