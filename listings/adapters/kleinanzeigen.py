"""kleinanzeigen.de: result cards `article.aditem[data-adid]`; the page carries no structured
listing data beyond each card's photo, so the card markup is what there is."""

import logging
import re
from urllib.parse import urljoin

from bs4 import BeautifulSoup, NavigableString

from listings.adapters.base import Adapter, AdapterError, ParsedListing, ParseResult
from listings.prices import parse_area, parse_price, parse_rooms

logger = logging.getLogger(__name__)

POSTCODE = re.compile(r"^\d{5}\s+")


class KleinanzeigenAdapter(Adapter):
    name = "kleinanzeigen"

    def parse(self, page):
        soup = BeautifulSoup(page.text, "lxml")
        cards = soup.select("article.aditem[data-adid]")
        listings, seen = [], set()
        for card in cards:
            # Promoted ("TOP") ads appear again among the ordinary results.
            if card["data-adid"] in seen:
                continue
            seen.add(card["data-adid"])
            try:
                listings.append(self.parse_card(card, page.url))
            except (KeyError, AttributeError, ValueError) as error:
                logger.warning("kleinanzeigen: skipped card %s: %r", card.get("data-adid"), error)

        if not listings:
            raise AdapterError("kleinanzeigen: no result cards on the page; has the site changed?")
        next_link = soup.select_one("a.pagination-next[href]")
        next_url = urljoin(page.url, next_link["href"]) if next_link else None
        return ParseResult(listings, next_page_url=next_url)

    def parse_card(self, card, page_url):
        link = card.select_one("h2 a[href]") or card.select_one("a[href]")
        price_text = own_text(card.select_one(".aditem-main--middle--price-shipping--price"))
        tags = " ".join(text_of(card.select_one(".aditem-main--middle--tags")).split())
        place = text_of(card.select_one(".aditem-main--top--left"))
        district = POSTCODE.sub("", place)
        price = parse_price(price_text, default_currency="EUR", default_period="month")
        image = card.select_one("img[src]")
        return ParsedListing(
            external_id=card["data-adid"],
            url=urljoin(page_url, card.get("data-href") or link["href"]),
            title=text_of(link),
            price=price.amount,
            currency=price.currency,
            period=price.period,
            price_text=price_text,
            rooms=parse_rooms(tags),
            area_m2=parse_area(tags),
            address=place,
            locations=[district] if district else [],
            description=text_of(card.select_one(".aditem-main--middle--description")),
            photo_urls=[image["src"]] if image else [],
            raw={"adid": card["data-adid"], "price": price_text, "tags": tags, "place": place},
        )


def text_of(element):
    return element.get_text(" ", strip=True) if element else ""


def own_text(element):
    """The element's own text, without its children's (the struck-out old price)."""
    if element is None:
        return ""
    parts = [str(s) for s in element.children if isinstance(s, NavigableString)]
    return " ".join(" ".join(parts).split())
