"""otodom.pl (Poland): the Next.js state in `<script id="__NEXT_DATA__">`, whose
`searchAds.items[]` holds one structured record per result."""

import json
import logging
from decimal import Decimal, InvalidOperation
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from bs4 import BeautifulSoup

from listings.adapters.base import Adapter, AdapterError, ParsedListing, ParseResult

logger = logging.getLogger(__name__)

ROOM_WORDS = {
    word: number
    for number, word in enumerate(
        ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE", "TEN"]
    )
}
DEALS = {"SELL": "sale", "RENT": "rent"}


class OtodomAdapter(Adapter):
    name = "otodom"

    def parse(self, page):
        search_ads = find_search_ads(page.text)

        listings = []
        for item in search_ads.get("items") or []:
            try:
                listings.append(self.parse_item(item, page.url))
            except (KeyError, AttributeError, TypeError, ValueError) as error:
                logger.warning("otodom: skipped item %s: %r", item.get("id"), error)

        if not listings:
            raise AdapterError("otodom: searchAds holds no items")
        return ParseResult(listings, next_page_url=next_page_url(page.url, search_ads))

    def parse_item(self, item, page_url):
        deal = DEALS.get(item.get("transaction"), "")
        price = item.get("totalPrice") or {}
        place_names = [part.strip() for part in item["locationLabel"]["value"].split(",")]
        photos = [image.get("large") or image.get("medium") for image in item.get("images") or []]

        return ParsedListing(
            external_id=str(item["id"]),
            url=urljoin(page_url, "/pl/oferta/" + item["slug"]),
            title=item.get("title") or "",
            price=None if item.get("hidePrice") else amount_of(price),
            currency=price.get("currency") or "PLN",
            period="once" if deal == "sale" else "month",
            price_text=f"{price.get('value')} {price.get('currency')}" if price else "",
            deal=deal,
            rooms=ROOM_WORDS.get(item.get("roomsNumber")),
            area_m2=amount_of({"value": item.get("areaInSquareMeters")}),
            address=", ".join(place_names),
            # The label runs from the city down to the neighbourhood or street.
            locations=[name for name in reversed(place_names) if name],
            photo_urls=[photo for photo in photos if photo],
            raw={"id": item["id"], "price": price.get("value"), "rooms": item.get("roomsNumber")},
        )


def find_search_ads(text):
    script = BeautifulSoup(text, "lxml").find("script", id="__NEXT_DATA__")
    if script is None or not script.string:
        raise AdapterError("otodom: no __NEXT_DATA__ on the page; has the site changed?")
    try:
        data = json.loads(script.string)
        search_ads = data["props"]["pageProps"]["data"]["searchAds"]
    except (ValueError, KeyError, TypeError) as error:
        raise AdapterError(f"otodom: no searchAds in __NEXT_DATA__: {error!r}") from None
    if not isinstance(search_ads, dict):
        raise AdapterError("otodom: searchAds is empty")
    return search_ads


def next_page_url(page_url, search_ads):
    """The same search with `page=` one higher, while the pagination says there is more."""
    pagination = search_ads.get("pagination") or {}
    page, total = pagination.get("page"), pagination.get("totalPages")
    if not isinstance(page, int) or not isinstance(total, int) or page >= total:
        return None
    parts = urlsplit(page_url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "page"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("page", str(page + 1))])))


def amount_of(price):
    try:
        return Decimal(str(price["value"])) if price.get("value") is not None else None
    except InvalidOperation:
        return None
