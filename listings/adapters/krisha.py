"""krisha.kz (Kazakhstan): result cards `div.a-card[data-id]`, whose title holds rooms, area and
floor; the page's embedded `var data` lists only the result ids, checked against the cards."""

import json
import logging
import re
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from listings.adapters.base import Adapter, AdapterError, ParsedListing, ParseResult
from listings.prices import parse_area, parse_price, parse_rooms

logger = logging.getLogger(__name__)

JSDATA_MARKER = "var data = "
HOUSE_NUMBER = re.compile(r"\s+\d\S*$")
DAILY = re.compile(r"посуточно|по часам", re.I)


class KrishaAdapter(Adapter):
    name = "krisha"

    def parse(self, page):
        soup = BeautifulSoup(page.text, "lxml")
        cards = soup.select("div.a-card[data-id]")
        result_ids = embedded_result_ids(soup)
        # Without the id list every card counts; with it, cards outside it are ads or "similar".
        if result_ids is not None:
            cards = [card for card in cards if card["data-id"] in result_ids]

        listings = []
        for card in cards:
            try:
                listings.append(self.parse_card(card, page.url))
            except (KeyError, AttributeError, ValueError) as error:
                logger.warning("krisha: skipped card %s: %r", card.get("data-id"), error)

        if not listings:
            raise AdapterError("krisha: no result cards on the page; has the site changed?")
        next_link = soup.select_one("a.paginator__btn--next[href]")
        next_url = urljoin(page.url, next_link["href"]) if next_link else None
        return ParseResult(listings, next_page_url=next_url)

    def parse_card(self, card, page_url):
        link = card.select_one("a.a-card__title[href]")
        title = text_of(link)
        price_text = text_of(card.select_one(".a-card__price"))
        period = "day" if DAILY.search(title) else "month"
        price = parse_price(price_text, default_currency="KZT", default_period=period)
        places = read_places(card)

        return ParsedListing(
            external_id=card["data-id"],
            url=urljoin(page_url, link["href"]),
            title=title,
            price=price.amount,
            currency=price.currency,
            period=price.period,
            price_text=price_text,
            deal="rent",
            rooms=parse_rooms(title),
            # The title writes square metres with a Cyrillic "м".
            area_m2=parse_area(title.replace("м²", "m²")),
            address=text_of(card.select_one(".a-card__subtitle")),
            locations=places,
            description=text_of(card.select_one(".a-card__text-preview")),
            photo_urls=card_photos(card),
            raw={"id": card["data-id"], "title": title, "price": price_text},
        )


def embedded_result_ids(soup):
    """The ids in the page's `var data = {"search": {"ids": [...]}}`, or None if absent."""
    script = soup.find("script", id="jsdata")
    text = script.string if script and script.string else ""
    start = text.find(JSDATA_MARKER)
    if start < 0:
        return None
    try:
        data, _ = json.JSONDecoder().raw_decode(text, start + len(JSDATA_MARKER))
        return {str(result_id) for result_id in data["search"]["ids"]}
    except (ValueError, KeyError, TypeError) as error:
        logger.warning("krisha: unreadable embedded search data: %r", error)
        return None


def read_places(card):
    """Micro-district, district and city, most specific first.

    The subtitle reads "Медеуский р-н, мкр Самал-3, <street>"; the city is in the card's stats.
    """
    subtitle = text_of(card.select_one(".a-card__subtitle"))
    parts = [part.strip() for part in subtitle.split(",")]
    districts = [part for part in parts if part.endswith("р-н")]
    # "мкр Думан-2 4" names the micro-district and then a house in it.
    micro_districts = [HOUSE_NUMBER.sub("", part) for part in parts if part.startswith("мкр")]
    city = text_of(card.select_one(".card-stats__item"))
    return micro_districts + districts + ([city] if city else [])


def card_photos(card):
    picture = card.select_one("picture[data-full-src]")
    if picture:
        return [picture["data-full-src"]]
    image = card.select_one("img[src]")
    return [image["src"]] if image else []


def text_of(element):
    return element.get_text(" ", strip=True) if element else ""
