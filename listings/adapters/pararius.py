"""pararius.nl: the page's JSON-LD `ItemList` gives each result's URL, price and photo; its
`listing-search-item` card adds what JSON-LD lacks (rooms, area, postcode and neighbourhood)."""

import json
import logging
import re
from decimal import Decimal, InvalidOperation
from urllib.parse import urljoin, urlsplit

from bs4 import BeautifulSoup

from listings.adapters.base import Adapter, AdapterError, ParsedListing, ParseResult
from listings.prices import parse_area, parse_furnishing, parse_price, parse_rooms

logger = logging.getLogger(__name__)

# "2611 KS Delft (Centrum-Oost)": postcode, city and, in brackets, the neighbourhood.
SUB_TITLE = re.compile(r"^(?:\d{4}\s*[A-Z]{2}\s+)?(?P<city>[^(]+?)\s*(?:\((?P<area>[^)]+)\))?$")


class ParariusAdapter(Adapter):
    name = "pararius"

    def parse(self, page):
        soup = BeautifulSoup(page.text, "lxml")
        items = {url_path(item["url"]): item for item in json_ld_items(soup)}
        cards = {url_path(card_link(card)["href"]): card for card in result_cards(soup)}
        # JSON-LD sets the order; a card without a JSON-LD twin still counts.
        paths = list(items) + [path for path in cards if path not in items]

        listings = []
        for path in paths:
            try:
                listings.append(self.parse_result(items.get(path, {}), cards.get(path), page.url))
            except (KeyError, AttributeError, TypeError, ValueError) as error:
                logger.warning("pararius: skipped result %s: %r", path, error)

        if not listings:
            raise AdapterError("pararius: no results in JSON-LD or cards; has the site changed?")
        next_link = soup.select_one("a.pagination__link--next[href]")
        next_url = urljoin(page.url, next_link["href"]) if next_link else None
        return ParseResult(listings, next_page_url=next_url)

    def parse_result(self, item, card, page_url):
        link = card_link(card) if card else None
        url = urljoin(page_url, link["href"]) if link else item["url"]
        price_text = text_of(card.select_one(".listing-search-item__price-main")) if card else ""
        price = parse_price(price_text, default_currency="EUR", default_period="month")
        offer = item.get("offers") or {}
        features = " · ".join(text_of(li) for li in card_features(card))
        title = text_of(link) or item.get("name", "")
        sub_title = text_of(card.select_one(".listing-search-item__sub-title")) if card else ""

        return ParsedListing(
            external_id=listing_id(url),
            url=url,
            title=title,
            price=offer_amount(offer) or price.amount,
            currency=offer.get("priceCurrency") or price.currency,
            period=price.period,
            price_text=price_text or str(offer.get("price", "")),
            deal="rent",
            rooms=parse_rooms(features),
            area_m2=parse_area(features),
            furnishing=parse_furnishing(features),
            address=", ".join(part for part in (street_of(title), sub_title) if part),
            locations=places_of(sub_title),
            photo_urls=[item["image"]] if item.get("image") else card_photos(card),
            raw={"url": url, "price": offer.get("price"), "features": features},
        )


def json_ld_items(soup):
    """The `item`s of every JSON-LD ItemList on the page (the results, in order)."""
    items = []
    for script in soup.select('script[type="application/ld+json"]'):
        try:
            data = json.loads(script.string or "")
        except ValueError as error:
            logger.warning("pararius: unreadable JSON-LD: %r", error)
            continue
        nodes = data.get("@graph", [data]) if isinstance(data, dict) else data
        for node in nodes:
            item_list = node.get("mainEntity") or node
            if item_list.get("@type") == "ItemList":
                items += [element["item"] for element in item_list.get("itemListElement", [])]
    return [item for item in items if isinstance(item, dict) and item.get("url")]


def result_cards(soup):
    return [card for card in soup.select("section.listing-search-item") if card_link(card)]


def card_link(card):
    return card.select_one("a.listing-search-item__link--title[href]")


def url_path(url):
    return urlsplit(url).path.rstrip("/")


def listing_id(url):
    """The short id in "/appartement-te-huur/delft/2e760d4e/vlamingstraat"."""
    segments = url_path(url).split("/")
    if len(segments) < 5:
        raise ValueError(f"no listing id in {url!r}")
    return segments[3]


def offer_amount(offer):
    try:
        return Decimal(str(offer["price"])) if offer.get("price") else None
    except InvalidOperation:
        return None


def street_of(title):
    """ "Appartement Vlamingstraat 33" → "Vlamingstraat 33": the first word is the kind."""
    kind, _, street = title.partition(" ")
    return street


def places_of(sub_title):
    match = SUB_TITLE.match(sub_title)
    if not match:
        return []
    return [place for place in (match.group("area"), match.group("city")) if place]


def card_features(card):
    return card.select(".illustrated-features__item") if card else []


def card_photos(card):
    image = card.select_one("img[src]") if card else None
    return [image["src"]] if image else []


def text_of(element):
    return element.get_text(" ", strip=True) if element else ""
