"""Pararius, on its whole saved Delft rentals page: JSON-LD first, cards for the rest."""

import json
import re
from decimal import Decimal

import pytest
from bs4 import BeautifulSoup

from listings.adapters.base import AdapterError, Page, get_adapter
from tests.pages import load_page

PAGE = "pararius/search_rent_delft_2026-07.html"
PAGE_URL = "https://www.pararius.nl/huurwoningen/delft"
JSON_LD = re.compile(r'<script type="application/ld\+json">.*?</script>', re.S)


def parse(text=None):
    page = load_page(PAGE, url=PAGE_URL)
    if text is not None:
        page = Page(url=PAGE_URL, text=text)
    return get_adapter("pararius").parse(page)


def by_id(listings):
    return {listing.external_id: listing for listing in listings}


def test_every_result_becomes_one_listing():
    text = load_page(PAGE).text
    json_ld = json.loads(
        BeautifulSoup(text, "lxml").find("script", type="application/ld+json").string
    )
    item_list = next(node["mainEntity"] for node in json_ld["@graph"] if "mainEntity" in node)

    listings = parse().listings

    assert item_list["numberOfItems"] == len(item_list["itemListElement"]) == 30
    assert text.count('class="listing-search-item listing-search-item--list') == 30
    assert len(listings) == len(by_id(listings)) == 30


@pytest.mark.parametrize(
    ("external_id", "price", "rooms", "area", "locations", "address", "path"),
    [
        (
            "2e760d4e",
            "2750",
            4,
            "97",
            ["Centrum-Oost", "Delft"],
            "Vlamingstraat 33, 2611 KS Delft (Centrum-Oost)",
            "/appartement-te-huur/delft/2e760d4e/vlamingstraat",
        ),
        (
            "b3c624c6",
            "875",
            1,
            "29",
            ["Centrum", "Delft"],
            "Burgwal 25 H, 2611 GE Delft (Centrum)",
            "/appartement-te-huur/delft/b3c624c6/burgwal",
        ),
        (
            "afc6a8ef",
            "2600",
            7,
            "136",
            ["Centrum-Oost", "Delft"],
            "Schuttersveld 43, 2611 WE Delft (Centrum-Oost)",
            "/huis-te-huur/delft/afc6a8ef/schuttersveld",
        ),
        (
            "ab048f0a",
            "2900",
            4,
            "130",
            ["Centrum-Noord", "Delft"],
            "Nieuwe Plantage, 2611 XH Delft (Centrum-Noord)",
            "/appartement-te-huur/delft/ab048f0a/nieuwe-plantage",
        ),
    ],
)
def test_result_fields(external_id, price, rooms, area, locations, address, path):
    listing = by_id(parse().listings)[external_id]

    assert listing.price == Decimal(price)
    assert (listing.currency, listing.period, listing.deal) == ("EUR", "month", "rent")
    assert listing.rooms == rooms
    assert listing.area_m2 == Decimal(area)
    assert listing.locations == locations
    assert listing.address == address
    assert listing.url == "https://www.pararius.nl" + path
    assert listing.photo_urls[0].startswith(
        "https://casco-media-prod.global.ssl.fastly.net/" + external_id
    )


def test_listing_links_are_built_on_the_page_url():
    listing = parse().listings[0]
    local = get_adapter("pararius").parse(load_page(PAGE)).listings[0]

    assert (
        listing.url == "https://www.pararius.nl/appartement-te-huur/delft/2e760d4e/vlamingstraat"
    )
    assert local.url == "http://127.0.0.1/appartement-te-huur/delft/2e760d4e/vlamingstraat"


def test_the_cards_alone_still_give_every_listing():
    listings = parse(JSON_LD.sub("", load_page(PAGE).text)).listings

    assert len(listings) == 30
    assert by_id(listings)["2e760d4e"].price == Decimal("2750")


def test_the_next_page_link_is_absolute():
    assert parse().next_page_url == "https://www.pararius.nl/huurwoningen/delft/page-2"


def test_a_page_without_results_is_broken():
    text = JSON_LD.sub("", load_page(PAGE).text).replace("listing-search-item__link--title", "x")

    with pytest.raises(AdapterError, match="no results"):
        parse(text)


def test_an_unreadable_price_is_none_and_the_result_is_kept():
    text = load_page(PAGE).text.replace('"price":2750,', '"price":"op aanvraag",', 1)
    text = text.replace("€\u00a02.750 per maand", "Prijs op aanvraag", 1)

    listings = parse(text).listings

    assert by_id(listings)["2e760d4e"].price is None
    assert by_id(listings)["2e760d4e"].price_text == "Prijs op aanvraag"
    assert len(listings) == 30


@pytest.mark.parametrize(
    ("external_id", "furnishing"),
    [
        ("b3c624c6", "furnished"),  # "Gemeubileerd"
        ("2e760d4e", "partly"),  # "Gestoffeerd": floors and curtains, no furniture
        ("faeb9650", "unfurnished"),  # "Kaal"
        ("d3dc8315", ""),  # the card names the building year instead
    ],
)
def test_the_interior_feature_gives_the_furnishing(external_id, furnishing):
    assert by_id(parse().listings)[external_id].furnishing == furnishing
