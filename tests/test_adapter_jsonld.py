"""The generic JSON-LD adapter, on the saved pages that carry schema.org data and on shapes cut
from them."""

import copy
import json
from decimal import Decimal

import pytest
from bs4 import BeautifulSoup

from listings.adapters.base import AdapterError, Page
from listings.adapters.jsonld import JsonLdAdapter
from tests.pages import load_page

PARARIUS = "pararius/search_rent_delft_2026-07.html"
PARARIUS_URL = "https://www.pararius.nl/huurwoningen/delft"
BAYUT = "bayut/search-state_sale_dubai_2026-02.html"
BAYUT_URL = "https://www.bayut.com/property/details-14335976.html"
DERIVED_URL = "https://www.pararius.nl/huurwoningen/delft/page-9"


def json_ld_of(relative):
    """The first JSON-LD block of a saved page, as the site wrote it."""
    soup = BeautifulSoup(load_page(relative).text, "lxml")
    return json.loads(soup.find("script", type="application/ld+json").string)


def pararius_items():
    graph = json_ld_of(PARARIUS)["@graph"]
    item_list = next(node["mainEntity"] for node in graph if "mainEntity" in node)
    return [element["item"] for element in item_list["itemListElement"]]


def page_with(*blocks):
    """A page holding each block in its own JSON-LD script."""
    scripts = "".join(
        f'<script type="application/ld+json">{json.dumps(block)}</script>' for block in blocks
    )
    return Page(url=DERIVED_URL, text=f"<html><head>{scripts}</head><body></body></html>")


def parse(page):
    return JsonLdAdapter().parse(page)


@pytest.fixture(scope="module")
def pararius():
    return parse(load_page(PARARIUS, url=PARARIUS_URL))


def by_url(listings):
    return {listing.url: listing for listing in listings}


def test_every_item_of_the_pararius_item_list_becomes_one_listing(pararius):
    items = pararius_items()

    assert len(items) == 30
    assert [listing.url for listing in pararius.listings] == [item["url"] for item in items]
    assert len({listing.external_id for listing in pararius.listings}) == 30


@pytest.mark.parametrize(
    ("path", "title", "price"),
    [
        ("/appartement-te-huur/delft/2e760d4e/vlamingstraat", "Vlamingstraat", "2750"),
        ("/appartement-te-huur/delft/b3c624c6/burgwal", "Burgwal", "875"),
        ("/huis-te-huur/delft/08e9019b/weegplaats", "Weegplaats", "2300"),
        ("/huis-te-huur/delft/afc6a8ef/schuttersveld", "Schuttersveld", "2600"),
        ("/appartement-te-huur/delft/1bb0df2d/buitenwatersloot", "Buitenwatersloot", "2250"),
    ],
)
def test_pararius_fields_match_the_page(pararius, path, title, price):
    url = "https://www.pararius.nl" + path
    item = next(item for item in pararius_items() if item["url"] == url)
    listing = by_url(pararius.listings)[url]

    assert listing.external_id == item["@id"] == url
    assert listing.title == title
    assert (listing.price, listing.currency) == (Decimal(price), "EUR")
    assert listing.photo_urls == [item["image"]]
    # Pararius's JSON-LD says nothing of rooms, size or address; its own adapter reads cards.
    assert (listing.rooms, listing.area_m2, listing.address) == (None, None, "")


def test_the_next_page_is_the_pages_link_rel_next(pararius):
    assert pararius.next_page_url == "https://www.pararius.nl/huurwoningen/delft/page-2"


def test_a_real_estate_listing_reads_the_flat_it_is_about():
    listing = parse(load_page(BAYUT, url=BAYUT_URL)).listings

    assert len(listing) == 1
    villa = listing[0]
    assert villa.url == villa.external_id == BAYUT_URL
    assert villa.title.startswith("Special Offer | Prime Unit")
    assert (villa.price, villa.currency) == (Decimal("2520000"), "AED")
    # "House" + "BuyAction": a sale, priced once.
    assert (villa.deal, villa.period) == ("sale", "once")
    assert villa.area_m2 == Decimal("205.04")  # 2,207 sq ft
    assert villa.bathrooms == 5
    assert villa.address == "DAMAC Islands, Dubai"
    assert villa.locations == ["DAMAC Islands", "Dubai"]
    assert len(villa.photo_urls) == 14
    assert villa.photo_urls[0] == "https://images.bayut.com/thumbnails/822811718-800x600.jpeg"


def test_a_single_object_is_a_listing():
    item = pararius_items()[2]

    [listing] = parse(page_with(item)).listings

    assert (listing.url, listing.price, listing.currency) == (item["url"], Decimal("875"), "EUR")


def test_a_graph_and_a_list_of_blocks_are_searched():
    first, second, third = pararius_items()[:3]

    listings = parse(page_with({"@graph": [first, second]}, [third])).listings

    assert [x.url for x in listings] == [first["url"], second["url"], third["url"]]


def test_a_price_without_currency_keeps_the_amount():
    item = copy.deepcopy(pararius_items()[0])
    del item["offers"]["priceCurrency"]

    [listing] = parse(page_with(item)).listings

    assert (listing.price, listing.currency) == (Decimal("2750"), "")


def test_a_price_specification_gives_the_period():
    item = copy.deepcopy(pararius_items()[0])
    item["offers"] = {
        "@type": "Offer",
        "priceSpecification": {
            "@type": "UnitPriceSpecification",
            "price": "1250.50",
            "priceCurrency": "EUR",
            "unitCode": "MON",
        },
    }
    weekly = copy.deepcopy(item)
    weekly["url"] = weekly["@id"] = item["url"] + "-weekly"
    weekly["offers"]["priceSpecification"] = {"price": 300, "billingDuration": "P1W"}

    monthly_listing, weekly_listing = parse(page_with(item, weekly)).listings

    assert (monthly_listing.price, monthly_listing.period) == (Decimal("1250.50"), "month")
    assert (weekly_listing.price, weekly_listing.period) == (Decimal("300"), "week")


def test_a_flat_offered_by_an_offer_gives_rooms_size_address_and_image_object():
    flat = copy.deepcopy(json_ld_of(BAYUT)["@graph"][0]["mainEntity"])
    flat["@type"] = "Apartment"
    flat["numberOfRooms"] = {"@type": "QuantitativeValue", "value": 3}
    flat["floorSize"] = {"@type": "QuantitativeValue", "value": 86.5, "unitCode": "MTK"}
    flat["address"]["streetAddress"] = "Palm Walk 7"
    flat["image"] = {"@type": "ImageObject", "url": "/photos/7.jpg"}
    offer = {"@type": "Offer", "url": "/flats/7", "price": "95000", "priceCurrency": "AED"}

    [listing] = parse(page_with({**offer, "itemOffered": flat})).listings

    assert listing.url == "https://www.pararius.nl/flats/7"
    assert (listing.rooms, listing.area_m2) == (3, Decimal("86.50"))
    assert listing.address == "Palm Walk 7, DAMAC Islands, Dubai"
    assert listing.photo_urls == ["https://www.pararius.nl/photos/7.jpg"]


def test_a_studio_has_zero_rooms():
    item = copy.deepcopy(pararius_items()[0])
    item["numberOfRooms"] = 0

    [listing] = parse(page_with(item)).listings

    assert listing.rooms == 0


def test_items_without_a_url_are_skipped_and_a_broken_block_is_ignored():
    nameless = {"@type": "Apartment", "name": "no address to send"}
    page = page_with(nameless, pararius_items()[0])
    broken = '<script type="application/ld+json">{"@type": "Apartment", oops</script>'
    page.text = page.text.replace("<head>", "<head>" + broken)

    listings = parse(page).listings

    assert [x.title for x in listings] == ["Vlamingstraat"]


def test_a_long_id_is_shortened_to_a_stable_one():
    item = copy.deepcopy(pararius_items()[0])
    item["@id"] = item["url"] + "#" + "x" * 200

    first = parse(page_with(item)).listings[0].external_id
    again = parse(page_with(item)).listings[0].external_id

    assert first == again and len(first) <= 100


@pytest.mark.parametrize(
    "relative",
    [
        # Its JSON-LD is a WebSite and photos' ImageObjects: nothing to list.
        "kleinanzeigen/search_rent_berlin_2026.html",
        # Its one Apartment describes the search page itself and has no URL.
        "krisha/search_rent_almaty-medeu_2022-11.html",
        # No JSON-LD at all.
        "wg-gesucht/search_rent_berlin_2023-08.html",
    ],
)
def test_a_page_without_listings_in_json_ld_is_an_error(relative):
    with pytest.raises(AdapterError, match="no listings in the page's JSON-LD"):
        parse(load_page(relative))
