"""krisha.kz, on its whole saved page of Almaty (Medeu district) rentals."""

import re
from decimal import Decimal

import pytest

from listings.adapters.base import AdapterError, Page, get_adapter
from tests.pages import load_page

PAGE = "krisha/search_rent_almaty-medeu_2022-11.html"
PAGE_URL = "https://krisha.kz/arenda/kvartiry/almaty-medeuskij/?das[who]=1"


def parse(text=None):
    page = load_page(PAGE, url=PAGE_URL)
    if text is not None:
        page = Page(url=PAGE_URL, text=text)
    return get_adapter("krisha").parse(page)


def by_id(listings):
    return {listing.external_id: listing for listing in listings}


def test_every_result_card_becomes_one_listing():
    card_ids = re.findall(r'<div\s+data-id="(\d+)"', load_page(PAGE).text)

    listings = parse().listings

    assert len(card_ids) == 20
    assert [listing.external_id for listing in listings] == card_ids
    assert len(by_id(listings)) == 20


@pytest.mark.parametrize(
    ("external_id", "price", "rooms", "area", "locations", "photo"),
    [
        (
            "680276423",
            "600000",
            2,
            "62",
            ["Медеуский р-н", "Алматы"],
            "3890a04f-9271-4725-b9da-ad2e02feca67/1-full.jpg",
        ),
        (
            "680281051",
            "800000",
            2,
            "83.9",
            ["Медеуский р-н", "Алматы"],
            "9777bf61-44fa-4785-a552-69b062c1acd5/1-full.jpg",
        ),
        (
            "676129395",
            "600000",
            1,
            "40",
            ["мкр Самал-3", "Медеуский р-н", "Алматы"],
            "6af8407c-5213-4b77-b4c2-59d9736da445/2-full.jpg",
        ),
        (
            "679953988",
            "260000",
            2,
            "73",
            ["мкр Думан-2", "Медеуский р-н", "Алматы"],
            None,
        ),
    ],
)
def test_card_fields(external_id, price, rooms, area, locations, photo):
    listing = by_id(parse().listings)[external_id]

    assert listing.price == Decimal(price)
    assert (listing.currency, listing.period, listing.deal) == ("KZT", "month", "rent")
    assert listing.rooms == rooms
    assert listing.area_m2 == Decimal(area)
    assert listing.locations == locations
    assert listing.address.startswith("Медеуский р-н, ")
    assert listing.url == f"https://krisha.kz/a/show/{external_id}"
    assert listing.photo_urls[0].startswith("https://photos-kr.kcdn.kz/")
    if photo:
        assert listing.photo_urls[0].endswith(photo)


def test_a_micro_district_is_named_without_its_house_number():
    listing = by_id(parse().listings)["677373211"]

    assert listing.locations == ["мкр Горный Гигант", "Медеуский р-н", "Алматы"]
    assert listing.address == "Медеуский р-н, мкр Горный Гигант 258/5-12"


def test_the_next_page_link_is_absolute():
    assert parse().next_page_url.startswith("https://krisha.kz/arenda/kvartiry/almaty-medeuskij/?")
    assert parse().next_page_url.endswith("&page=2")


def test_a_page_without_result_cards_is_broken():
    text = load_page(PAGE).text.replace('class="a-card ', 'class="something-else ')

    with pytest.raises(AdapterError, match="no result cards"):
        parse(text)


def test_an_unreadable_price_is_none_and_the_card_is_kept():
    text = load_page(PAGE).text.replace("260&nbsp;000&nbsp;", "договорная ", 1)

    listings = parse(text).listings

    assert by_id(listings)["679953988"].price is None
    assert len(listings) == 20
