"""wg-gesucht.de: result cards `div.wgg_card.offer_list_item[data-id]`; the page's only
structured data is map markers with coordinates, so the card markup is what there is."""

import logging
import re
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from listings.adapters.base import Adapter, AdapterError, ParsedListing, ParseResult
from listings.prices import parse_area, parse_price, parse_rooms

logger = logging.getLogger(__name__)

BACKGROUND_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")


class WgGesuchtAdapter(Adapter):
    name = "wggesucht"

    def parse(self, page):
        soup = BeautifulSoup(page.text, "lxml")
        cards = soup.select("div.wgg_card.offer_list_item[data-id]")

        listings = []
        for card in cards:
            try:
                listings.append(self.parse_card(card, page.url))
            except (KeyError, AttributeError, ValueError) as error:
                logger.warning("wggesucht: skipped card %s: %r", card.get("data-id"), error)

        if not listings:
            raise AdapterError("wggesucht: no offer cards on the page; has the site changed?")
        # The page draws its pagination with JavaScript, so there is no next link to follow.
        return ParseResult(listings)

    def parse_card(self, card, page_url):
        link = card.select_one("h3 a[href]")
        kind, city, district, street = read_place_line(card)
        price_text = text_of(card.select_one(".middle .col-xs-3:not(.text-right)"))
        area_text = text_of(card.select_one(".middle .col-xs-3.text-right"))
        price = parse_price(price_text, default_currency="EUR", default_period="month")

        return ParsedListing(
            external_id=card["data-id"],
            url=urljoin(page_url, link["href"]),
            title=text_of(link),
            price=price.amount,
            currency=price.currency,
            period=price.period,
            price_text=price_text,
            deal="rent",
            # A room in a flat share ("3er WG") has no flat size to match on, so it stays None.
            rooms=parse_rooms(kind),
            area_m2=parse_area(area_text),
            address=", ".join(part for part in (street, district, city) if part),
            locations=[part for part in (district, city) if part],
            photo_urls=card_photo(card),
            raw={"id": card["data-id"], "kind": kind, "price": price_text, "area": area_text},
        )


def read_place_line(card):
    """Kind, city, district and street from "3er WG | Berlin Charlottenburg | Straße"."""
    line = card.select_one(".card_body .col-xs-11 > span")
    parts = [part.strip() for part in line.get_text().split("|")]
    kind = " ".join(parts[0].split())
    # City and district sit on separate source lines; the street is the last part, if any.
    place_lines = [text.strip() for text in parts[1].splitlines() if text.strip()]
    city = place_lines[0] if place_lines else ""
    district = " ".join(place_lines[1:])
    street = " ".join(parts[2].split()) if len(parts) > 2 else ""
    return kind, city, district, street


def card_photo(card):
    """The card's picture, which the site sets as a CSS background of the image link."""
    image_link = card.select_one(".card_image a[style]")
    match = BACKGROUND_URL.search(image_link["style"]) if image_link else None
    return [match.group(1)] if match else []


def text_of(element):
    return element.get_text(" ", strip=True) if element else ""
