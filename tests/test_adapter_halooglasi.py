"""Halo Oglasi, on its whole saved search-API answer (Belgrade rentals)."""

import json
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from listings.adapters.base import AdapterError, Page, get_adapter
from tests.pages import fixture_path, load_page

PAGE = "halooglasi/search-api_rent_beograd_2025-06.json"
PAGE_URL = (
    "https://www.halooglasi.com/Quiddita.Widgets.Ad/AdCategoryBasicSearchWidgetAux/GetSidebarData"
)


def raw_answer():
    return json.loads(fixture_path(PAGE).read_text(encoding="utf-8"))


def parse(answer=None):
    page = load_page(PAGE, url=PAGE_URL)
    if answer is not None:
        page = Page(url=PAGE_URL, text=json.dumps(answer), content_type="application/json")
    return get_adapter("halooglasi").parse(page)


def by_id(listings):
    return {listing.external_id: listing for listing in listings}


def test_every_ad_becomes_one_listing_and_the_repeated_one_counts_once():
    raw_ids = [str(ad["Id"]) for ad in raw_answer()["Ads"]]

    listings = parse().listings

    assert (len(raw_ids), len(set(raw_ids))) == (77, 76)  # 5425645424952 is listed twice
    assert len(listings) == len(by_id(listings)) == 76
    assert set(by_id(listings)) == set(raw_ids)


@pytest.mark.parametrize(
    ("external_id", "price", "rooms", "area", "locations", "published"),
    [
        (
            "5425645602904",
            "500",
            2,
            "52",
            ["Kopernikova", "Hadžipopovac", "Opština Palilula", "Beograd"],
            (2025, 6, 2),
        ),
        (
            "5425645413420",
            "600",
            1,  # "1.5" rooms
            "60",
            ["Sarajevska", "Centar", "Opština Savski venac", "Beograd"],
            (2025, 6, 5),
        ),
        (
            "5425644288408",
            "600",
            2,
            "50",
            ["Kalemegdan", "Opština Stari grad", "Beograd"],  # no street on this card
            (2025, 6, 2),
        ),
        (
            "5425643356462",
            "90",  # as the site shows it, for 300 m²
            4,
            "300",
            ["Budimska 10A", "Centar", "Opština Stari grad", "Beograd"],
            (2025, 5, 23),
        ),
    ],
)
def test_ad_fields(external_id, price, rooms, area, locations, published):
    listing = by_id(parse().listings)[external_id]

    assert listing.price == Decimal(price)
    assert (listing.currency, listing.period, listing.deal) == ("EUR", "month", "rent")
    assert listing.rooms == rooms
    assert listing.area_m2 == Decimal(area)
    assert listing.locations == locations
    assert listing.address == ", ".join(locations)
    assert listing.url.startswith("https://www.halooglasi.com/nekretnine/izdavanje-stanova/")
    assert f"/{external_id}" in listing.url
    assert listing.photo_urls[0].startswith("https://img.halooglasi.com/")
    assert listing.published_at == datetime(*published, tzinfo=ZoneInfo("Europe/Belgrade"))


def test_a_single_page_answer_has_no_next_page():
    assert parse().next_page_url is None


def test_an_answer_without_ads_is_broken():
    answer = raw_answer()
    answer["Ads"] = []

    with pytest.raises(AdapterError, match="no ads"):
        parse(answer)


def test_an_answer_of_another_shape_is_broken():
    with pytest.raises(AdapterError, match="no Ads"):
        parse({"Message": "An error has occurred."})


def test_an_unreadable_price_is_none_and_a_broken_ad_is_skipped():
    answer = raw_answer()
    first = answer["Ads"][0]
    first["ListHTML"] = first["ListHTML"].replace(
        "data-value=&quot;500&quot;&gt;&lt;i&gt;500&amp;nbsp;€",
        "data-value=&quot;&quot;&gt;&lt;i&gt;Dogovor",
    )
    del answer["Ads"][1]["RelativeUrl"]

    listings = by_id(parse(answer).listings)

    assert listings["5425645602904"].price is None
    assert listings["5425645602904"].price_text == "Dogovor"
    assert "5425644765222" not in listings
    assert len(listings) == 75


def test_a_site_without_a_furnishing_field_is_read_from_the_words_of_the_ad():
    listings = by_id(parse().listings)

    assert listings["5425645399078"].furnishing == "furnished"  # "Namešten stan u blizini …"
    assert listings["5425645598639"].furnishing == ""  # says nothing about furniture
    assert sum(listing.furnishing == "partly" for listing in listings.values()) == 4
