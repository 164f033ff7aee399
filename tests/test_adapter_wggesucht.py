"""wg-gesucht, on its whole saved Berlin results page."""

import re
from decimal import Decimal

import pytest

from listings.adapters.base import AdapterError, Page, get_adapter
from tests.pages import load_page

PAGE = "wg-gesucht/search_rent_berlin_2023-08.html"
PAGE_URL = "https://www.wg-gesucht.de/wg-zimmer-und-wohnungen-in-Berlin.8.0+1+2.1.0.html"


def parse(text=None):
    page = load_page(PAGE, url=PAGE_URL)
    if text is not None:
        page = Page(url=PAGE_URL, text=text)
    return get_adapter("wggesucht").parse(page)


def by_id(listings):
    return {listing.external_id: listing for listing in listings}


def test_every_offer_card_becomes_one_listing():
    raw_ids = re.findall(
        r'class="wgg_card offer_list_item[^"]*"\s+data-id="(\d+)"', load_page(PAGE).text
    )

    listings = parse().listings

    assert len(raw_ids) == 25
    assert [listing.external_id for listing in listings] == raw_ids
    assert len(by_id(listings)) == 25


@pytest.mark.parametrize(
    ("external_id", "price", "rooms", "area", "locations", "street", "path"),
    [
        (
            "10401873",
            "650",
            None,  # a room in a "3er WG"
            "20",
            ["Charlottenburg", "Berlin"],
            "Kaiser Friedrich Straße",
            "/wg-zimmer-in-Berlin-Charlottenburg.10401873.html",
        ),
        (
            "8974685",
            "350",
            1,
            "30",
            ["Charlottenburg", "Berlin"],
            "Schillerstraße 36 10627",
            "/1-zimmer-wohnungen-in-Berlin-Charlottenburg.8974685.html",
        ),
        (
            "10000510",
            "700",
            4,  # "4,5-Zimmer-Wohnung"
            "145",
            ["Schöneberg", "Berlin"],
            "Erdmannstrasse",
            "/wohnungen-in-Berlin-Schoeneberg.10000510.html",
        ),
        (
            "8757952",
            "300",
            2,
            "42",
            ["Berlin"],  # the card names no district
            "Fehrbelliner Strasse",
            "/wohnungen-in-Berlin.8757952.html",
        ),
    ],
)
def test_card_fields(external_id, price, rooms, area, locations, street, path):
    listing = by_id(parse().listings)[external_id]

    assert listing.price == Decimal(price)
    assert (listing.currency, listing.period, listing.deal) == ("EUR", "month", "rent")
    assert listing.rooms == rooms
    assert listing.area_m2 == Decimal(area)
    assert listing.locations == locations
    assert listing.address.startswith(street)
    assert listing.url == "https://www.wg-gesucht.de" + path
    assert listing.photo_urls[0].startswith("https://img.wg-gesucht.de/media/up/")


def test_the_partner_card_links_to_what_the_site_links_to():
    listing = by_id(parse().listings)["10124705"]

    assert listing.url.startswith("https://www.wg-gesucht.de/wg-zimmer-und-1-zimmer-wohnungen")
    assert "asset_id=10124705" in listing.url
    assert (listing.price, listing.locations) == (Decimal("370"), ["Lichterfelde", "Berlin"])


def test_a_page_without_offer_cards_is_broken():
    text = load_page(PAGE).text.replace("offer_list_item", "something_else")

    with pytest.raises(AdapterError, match="no offer cards"):
        parse(text)


def test_an_unreadable_price_is_none_and_the_card_is_kept():
    before, card_and_after = load_page(PAGE).text.split('data-id="10401873"', 1)
    card_and_after = card_and_after.replace("<b>650 &euro;</b>", "<b>auf Anfrage</b>", 1)
    text = before + 'data-id="10401873"' + card_and_after

    listing = by_id(parse(text).listings)["10401873"]

    assert listing.price is None
    assert listing.price_text == "auf Anfrage"
    assert len(parse(text).listings) == 25
