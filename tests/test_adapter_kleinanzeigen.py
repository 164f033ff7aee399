"""Kleinanzeigen, on its whole saved Berlin rentals page."""

from decimal import Decimal

import pytest

from listings.adapters.base import AdapterError, Page, get_adapter
from tests.pages import load_page

PAGE = "kleinanzeigen/search_rent_berlin_2026.html"
PAGE_URL = "https://www.kleinanzeigen.de/s-wohnung-mieten/berlin/c203l3331"


@pytest.fixture
def result():
    return get_adapter("kleinanzeigen").parse(load_page(PAGE, url=PAGE_URL))


def by_id(listings):
    return {listing.external_id: listing for listing in listings}


def test_every_card_becomes_one_listing(result):
    page = load_page(PAGE).text

    assert page.count('class="aditem" data-adid=') == 27  # one promoted card is repeated
    assert len(result.listings) == len(by_id(result.listings)) == 26


@pytest.mark.parametrize(
    ("external_id", "price", "rooms", "area", "district"),
    [
        ("3374833041", "1730", 2, "86.01", "Mitte"),
        ("3337375537", "1390", 2, "58", "Heinersdorf"),  # reduced from 1.490 €
        ("3377684717", "3150", 7, "165", "Rudow"),
        ("3389854573", "392", 1, "39.59", "Neukölln"),
    ],
)
def test_card_fields(result, external_id, price, rooms, area, district):
    listing = by_id(result.listings)[external_id]

    assert listing.price == Decimal(price)
    assert (listing.currency, listing.period) == ("EUR", "month")
    assert listing.rooms == rooms
    assert listing.area_m2 == Decimal(area)
    assert listing.locations == [district]
    assert listing.url.startswith("https://www.kleinanzeigen.de/s-anzeige/")
    assert f"/{external_id}-" in listing.url
    assert listing.photo_urls[0].startswith("https://img.kleinanzeigen.de/")


def test_the_next_page_link_is_absolute(result):
    assert result.next_page_url == (
        "https://www.kleinanzeigen.de/s-wohnung-mieten/berlin/seite:2/c203l3331"
    )


def test_a_page_without_cards_is_broken(result):
    page = load_page(PAGE)
    stripped = page.text.replace('class="aditem"', 'class="something-else"')

    with pytest.raises(AdapterError, match="no result cards"):
        get_adapter("kleinanzeigen").parse(Page(url=PAGE_URL, text=stripped))
