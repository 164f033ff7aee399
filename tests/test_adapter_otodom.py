"""Otodom, on its whole saved page of Warsaw flats for sale."""

import json
import re
from decimal import Decimal

import pytest

from listings.adapters.base import AdapterError, Page, get_adapter
from tests.pages import load_page

PAGE = "otodom/search_sale_warszawa_2021-11.html"
PAGE_URL = "https://www.otodom.pl/pl/oferty/sprzedaz/mieszkanie/warszawa?limit=36"
NEXT_DATA = re.compile(
    r'(<script id="__NEXT_DATA__" type="application/json">)(.*?)(</script>)', re.S
)


def parse(text=None):
    page = load_page(PAGE, url=PAGE_URL)
    if text is not None:
        page = Page(url=PAGE_URL, text=text)
    return get_adapter("otodom").parse(page)


def with_state(change):
    """The saved page with its __NEXT_DATA__ state passed through `change`."""
    text = load_page(PAGE).text
    match = NEXT_DATA.search(text)
    state = json.loads(match.group(2))
    change(state["props"]["pageProps"]["data"]["searchAds"])
    return text[: match.start(2)] + json.dumps(state) + text[match.end(2) :]


def by_id(listings):
    return {listing.external_id: listing for listing in listings}


def test_every_item_becomes_one_listing():
    text = load_page(PAGE).text
    items = json.loads(NEXT_DATA.search(text).group(2))["props"]["pageProps"]["data"]
    raw_ids = [str(item["id"]) for item in items["searchAds"]["items"]]

    listings = parse().listings

    assert len(raw_ids) == 36
    assert [listing.external_id for listing in listings] == raw_ids
    assert len(by_id(listings)) == 36


@pytest.mark.parametrize(
    ("external_id", "price", "rooms", "area", "locations", "slug"),
    [
        (
            "60817540",
            "315000",
            1,
            "20",
            ["Gocław", "Praga-Południe", "Warszawa"],
            "kawalerka-warszawa-ul-fundamentowa-ID47bq4",
        ),
        (
            "62512334",
            "780000",
            3,
            "60",
            ["Topolowa 30", "Nowodwory", "Białołęka", "Warszawa"],
            "piekne-mieszkanie-z-wielkim-tarasem-premium-point-ID4eijs",
        ),
        ("62430159", "870000", 4, "88", ["Ochota", "Warszawa"], None),
        ("62163258", "2730000", 5, "210", ["Mokotów", "Warszawa"], None),
    ],
)
def test_item_fields(external_id, price, rooms, area, locations, slug):
    listing = by_id(parse().listings)[external_id]

    assert listing.price == Decimal(price)
    assert (listing.currency, listing.period, listing.deal) == ("PLN", "once", "sale")
    assert listing.rooms == rooms
    assert listing.area_m2 == Decimal(area)
    assert listing.locations == locations
    assert listing.address == ", ".join(reversed(locations))
    assert listing.url.startswith("https://www.otodom.pl/pl/oferta/")
    if slug:
        assert listing.url == "https://www.otodom.pl/pl/oferta/" + slug
    assert listing.photo_urls[0].startswith("https://ireland.apollo.olxcdn.com/v1/files/")


def test_the_next_page_is_the_same_search_one_page_on():
    assert parse().next_page_url == PAGE_URL + "&page=2"


def test_a_page_without_the_state_is_broken():
    text = load_page(PAGE).text.replace('id="__NEXT_DATA__"', 'id="something-else"')

    with pytest.raises(AdapterError, match="no __NEXT_DATA__"):
        parse(text)


def test_a_state_without_items_is_broken():
    text = with_state(lambda search_ads: search_ads["items"].clear())

    with pytest.raises(AdapterError, match="no items"):
        parse(text)


def test_an_unreadable_or_hidden_price_is_none_and_a_broken_item_is_skipped():
    def spoil(search_ads):
        items = search_ads["items"]
        items[0]["totalPrice"]["value"] = "zapytaj o cenę"
        items[1]["hidePrice"] = True
        del items[2]["slug"]

    listings = by_id(parse(with_state(spoil)).listings)

    assert listings["60817540"].price is None
    assert listings["62430159"].price is None
    assert "62510842" not in listings
    assert len(listings) == 35
