"""The no-code CSS selector adapter, configured for two real saved pages as staff would."""

import re
from decimal import Decimal

import pytest

from listings.adapters.base import AdapterError, Page, adapter_for_source
from listings.adapters.css_selectors import CssSelectorAdapter, InvalidSelectors
from listings.adapters.kleinanzeigen import KleinanzeigenAdapter
from tests.pages import load_page

KLEINANZEIGEN = "kleinanzeigen/search_rent_berlin_2026.html"
KLEINANZEIGEN_URL = "https://www.kleinanzeigen.de/s-wohnung-mieten/berlin/c203l3331"
KLEINANZEIGEN_SELECTORS = {
    "card": "article.aditem[data-adid]",
    "id": "@data-adid",
    "url": "@data-href",
    "title": "h2 a",
    "price": ".aditem-main--middle--price-shipping--price",
    "rooms": ".aditem-main--middle--tags",
    "area": ".aditem-main--middle--tags",
    "address": ".aditem-main--top--left",
    "photo": ".aditem-image img@src",
    "next_page": "a.pagination-next@href",
    "currency": "EUR",
    "period": "month",
}

WG_GESUCHT = "wg-gesucht/search_rent_berlin_2023-08.html"
WG_GESUCHT_URL = "https://www.wg-gesucht.de/wg-zimmer-und-wohnungen-in-Berlin.8.0+1+2.1.0.html"
WG_GESUCHT_SELECTORS = {
    "card": "div.wgg_card.offer_list_item[data-id]",
    "id": "@data-id",
    "url": "h3 a",  # no "@attr": a url reads the link's href
    "title": "h3 a",
    "price": ".middle .col-xs-3:not(.text-right)",
    "area": ".middle .col-xs-3.text-right",
    "rooms": ".card_body .col-xs-11 > span:first-child",
    "address": ".card_body .col-xs-11 > span:first-child",
    "photo": ".card_image a@style",  # the picture is the link's background-image
    "currency": "EUR",
}


def extract(selectors, relative, url):
    return CssSelectorAdapter(selectors).extract(load_page(relative, url=url))


def by_id(listings):
    return {listing.external_id: listing for listing in listings}


@pytest.fixture(scope="module")
def kleinanzeigen():
    return extract(KLEINANZEIGEN_SELECTORS, KLEINANZEIGEN, KLEINANZEIGEN_URL)


@pytest.fixture(scope="module")
def wg_gesucht():
    return extract(WG_GESUCHT_SELECTORS, WG_GESUCHT, WG_GESUCHT_URL)


def test_every_kleinanzeigen_card_becomes_one_listing(kleinanzeigen):
    raw_ids = re.findall(r'class="aditem" data-adid="(\d+)"', load_page(KLEINANZEIGEN).text)

    assert (len(raw_ids), len(set(raw_ids))) == (27, 26)  # one promoted card is repeated
    assert kleinanzeigen.cards == 27
    assert [x.external_id for x in kleinanzeigen.listings] == list(dict.fromkeys(raw_ids))
    assert (kleinanzeigen.duplicates, kleinanzeigen.skipped) == (1, 0)
    assert not kleinanzeigen.missing


@pytest.mark.parametrize(
    ("external_id", "title", "price", "rooms", "area", "address", "locations"),
    [
        (
            "3374833041",
            "Sofort bezugsfertig - tolle 2-Zi.-Wohnung in attraktivem Neubau in Mitte",
            "1730",
            2,
            "86.01",
            "10557 Mitte",
            ["Mitte"],
        ),
        (
            "3337375537",
            "Helle 2-Zimmer-Neubauwohnung im 1. OG in Heinersdorf mit Küche",
            "1390",  # reduced: the old price 1.490 € follows, struck out
            2,
            "58",
            "13089 Heinersdorf",
            ["Heinersdorf"],
        ),
        ("3377684717", None, "3150", 7, "165", None, ["Rudow"]),
        ("3389854573", None, "392", 1, "39.59", None, ["Neukölln"]),
    ],
)
def test_kleinanzeigen_fields_match_the_page(
    kleinanzeigen, external_id, title, price, rooms, area, address, locations
):
    text = load_page(KLEINANZEIGEN).text
    listing = by_id(kleinanzeigen.listings)[external_id]

    assert f'data-adid="{external_id}"' in text
    assert title is None or listing.title == title
    assert (listing.price, listing.currency, listing.period) == (Decimal(price), "EUR", "month")
    assert (listing.rooms, listing.area_m2) == (rooms, Decimal(area))
    assert address is None or listing.address == address
    assert listing.locations == locations
    assert listing.url.startswith("https://www.kleinanzeigen.de/s-anzeige/")
    assert f"/{external_id}-" in listing.url
    assert listing.url.removeprefix("https://www.kleinanzeigen.de") in text
    assert listing.photo_urls[0].startswith("https://img.kleinanzeigen.de/api/v1/prod-ads/")


def test_the_kleinanzeigen_next_page_is_absolute(kleinanzeigen):
    assert kleinanzeigen.next_page_url == (
        "https://www.kleinanzeigen.de/s-wohnung-mieten/berlin/seite:2/c203l3331"
    )


def test_the_selectors_agree_with_the_hand_written_adapter_on_prices(kleinanzeigen):
    written = KleinanzeigenAdapter().parse(load_page(KLEINANZEIGEN, url=KLEINANZEIGEN_URL))

    def prices(listings):
        return {x.external_id: (x.price, x.rooms, x.area_m2) for x in listings}

    assert prices(kleinanzeigen.listings) == prices(written.listings)


def test_every_wg_gesucht_offer_becomes_one_listing(wg_gesucht):
    raw_ids = re.findall(
        r'class="wgg_card offer_list_item[^"]*"\s+data-id="(\d+)"', load_page(WG_GESUCHT).text
    )

    assert len(raw_ids) == 25
    assert [x.external_id for x in wg_gesucht.listings] == raw_ids
    # Rooms in a flat share ("3er WG") have no room count; whole flats do.
    assert wg_gesucht.missing == {"rooms": 17}


@pytest.mark.parametrize(
    ("external_id", "price", "rooms", "area", "path", "title_start"),
    [
        (
            "10401873",
            "650",
            None,
            "20",
            "/wg-zimmer-in-Berlin-Charlottenburg.10401873.html",
            "Helles, gemütliches Zimmer (September-Mitte Oktober)",
        ),
        (
            "8974685",
            "350",
            1,
            "30",
            "/1-zimmer-wohnungen-in-Berlin-Charlottenburg.8974685.html",
            "Super Studenten-Wohnung zu vermieten!",
        ),
        (
            "10000510",
            "700",
            4,  # "4,5-Zimmer-Wohnung"
            "145",
            "/wohnungen-in-Berlin-Schoeneberg.10000510.html",
            "",
        ),
    ],
)
def test_wg_gesucht_fields_match_the_page(
    wg_gesucht, external_id, price, rooms, area, path, title_start
):
    text = load_page(WG_GESUCHT).text
    listing = by_id(wg_gesucht.listings)[external_id]

    assert f'href="{path}"' in text
    assert listing.url == "https://www.wg-gesucht.de" + path
    assert listing.title.startswith(title_start)
    assert (listing.price, listing.currency) == (Decimal(price), "EUR")
    assert (listing.rooms, listing.area_m2) == (rooms, Decimal(area))
    assert listing.photo_urls[0].startswith("https://img.wg-gesucht.de/media/up/")
    assert listing.photo_urls[0] in text


def test_the_wg_gesucht_address_is_the_cards_place_line(wg_gesucht):
    listing = by_id(wg_gesucht.listings)["10401873"]

    assert listing.address == "3er WG | Berlin Charlottenburg | Kaiser Friedrich Straße"
    assert "Berlin Charlottenburg" in listing.locations


def test_cards_without_a_url_are_skipped_and_counted():
    text = load_page(KLEINANZEIGEN).text
    cut = text.replace('data-href="/s-anzeige/sofort-bezugsfertig', 'data-x="', 1)
    page = Page(url=KLEINANZEIGEN_URL, text=cut)

    extraction = CssSelectorAdapter(KLEINANZEIGEN_SELECTORS).extract(page)

    assert extraction.skipped == 1
    assert "3374833041" in by_id(extraction.listings)  # its promoted twin still has a URL
    assert len(extraction.listings) == 26


def test_a_card_without_its_id_is_skipped_not_given_another_id():
    selectors = {**KLEINANZEIGEN_SELECTORS, "card": "article.aditem"}
    cut = load_page(KLEINANZEIGEN).text.replace('data-adid="3337375537"', "", 1)
    page = Page(url=KLEINANZEIGEN_URL, text=cut)

    extraction = CssSelectorAdapter(selectors).extract(page)

    assert extraction.skipped == 1
    assert "3337375537" not in by_id(extraction.listings)
    assert len(extraction.listings) == 25


def test_a_page_where_no_card_matches_is_an_error():
    page = load_page(WG_GESUCHT, url=WG_GESUCHT_URL)

    with pytest.raises(AdapterError, match=r"no listings on the page \(0 cards matched"):
        CssSelectorAdapter(KLEINANZEIGEN_SELECTORS).parse(page)


def test_cards_that_all_lack_a_url_are_an_error():
    selectors = {**KLEINANZEIGEN_SELECTORS, "url": "@data-nowhere"}
    page = load_page(KLEINANZEIGEN, url=KLEINANZEIGEN_URL)

    with pytest.raises(AdapterError, match="27 cards matched, 27 without an id or URL"):
        CssSelectorAdapter(selectors).parse(page)


@pytest.mark.parametrize(
    ("selectors", "problem"),
    [
        ({"url": "a@href"}, "card: required"),
        ({"card": "article"}, "url: required"),
        ({"card": "div[", "url": "a"}, "card: bad CSS selector 'div['"),
        ({"card": "div", "url": "a", "price": "p:nth-child(", "titel": "h2"}, "price: bad CSS"),
        ({"card": "div", "url": "a", "titel": "h2"}, "unknown keys titel"),
        ({"card": "div@data-id", "url": "a"}, "card: must be a CSS selector"),
        ({"card": "div", "url": "a", "rooms": 3}, "rooms: must be a string"),
        ({"card": "div", "url": "a", "currency": "euro"}, "currency: 'euro'"),
        ({"card": "div", "url": "a", "period": "fortnight"}, "period: 'fortnight'"),
        (["div"], "must be a JSON object"),
    ],
)
def test_bad_selectors_say_what_is_wrong(selectors, problem):
    adapter = CssSelectorAdapter(selectors)

    with pytest.raises(InvalidSelectors, match=re.escape(problem)):
        adapter.parse(load_page(KLEINANZEIGEN))


def test_every_problem_is_listed_at_once():
    adapter = CssSelectorAdapter({"price": "p:nth-child(", "titel": "h2"})

    assert len(adapter.problems) == 4  # card, url, unknown key, bad CSS


def test_an_at_sign_inside_a_selector_is_part_of_it():
    adapter = CssSelectorAdapter({"card": "article", "url": 'a[href*="@"]@href'})

    assert adapter.problems == []
    assert adapter.specs["url"].attribute == "href"


def test_a_source_gets_an_adapter_built_with_its_selectors():
    adapter = adapter_for_source("css", KLEINANZEIGEN_SELECTORS)
    other = adapter_for_source("kleinanzeigen", {"card": "ignored"})

    assert isinstance(adapter, CssSelectorAdapter)
    assert adapter.selectors == KLEINANZEIGEN_SELECTORS
    assert len(adapter.parse(load_page(KLEINANZEIGEN)).listings) == 26
    assert isinstance(other, KleinanzeigenAdapter)


def test_an_unconfigured_css_source_is_an_error_not_a_crash():
    with pytest.raises(InvalidSelectors, match="card: required"):
        adapter_for_source("css", {}).parse(load_page(KLEINANZEIGEN))
