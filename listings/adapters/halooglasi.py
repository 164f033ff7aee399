"""halooglasi.com (Serbia): the search API's JSON answer, `Ads[]`, each with its id, URL and
title as fields and the rest inside HTML-escaped card markup (`ListHTML`)."""

import html
import json
import logging
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from bs4 import BeautifulSoup

from listings.adapters.base import Adapter, AdapterError, ParsedListing, ParseResult
from listings.prices import parse_area, parse_price

logger = logging.getLogger(__name__)

SITE_TIME_ZONE = ZoneInfo("Europe/Belgrade")


class HaloOglasiAdapter(Adapter):
    name = "halooglasi"

    def parse(self, page):
        ads = find_ads(page.text)

        listings, seen = [], set()
        for ad in ads:
            # A promoted ad is listed a second time among the ordinary ones.
            if str(ad.get("Id")) in seen:
                continue
            seen.add(str(ad.get("Id")))
            try:
                listings.append(self.parse_ad(ad, page.url))
            except (KeyError, AttributeError, TypeError, ValueError) as error:
                logger.warning("halooglasi: skipped ad %s: %r", ad.get("Id"), error)

        if not listings:
            raise AdapterError("halooglasi: the search answer holds no ads")
        # The API pages by a POSTed page number, which a next-page URL cannot express.
        return ParseResult(listings)

    def parse_ad(self, ad, page_url):
        card = BeautifulSoup(html.unescape(ad["ListHTML"] or ""), "lxml")
        features = card_features(card)
        places = [text_of(li) for li in card.select(".subtitle-places li")]
        places = [place for place in places if place]
        price = read_price(card)
        image = card.select_one("figure img[src]")

        return ParsedListing(
            external_id=str(ad["Id"]),
            url=urljoin(page_url, ad["RelativeUrl"]),
            title=ad.get("Title") or text_of(card.select_one(".product-title")),
            price=price.amount,
            currency=price.currency,
            period=price.period,
            price_text=price.text,
            deal="rent",
            rooms=whole_rooms(features.get("Broj soba")),
            area_m2=parse_area(features.get("Kvadratura")),
            # The card lists the city first and the street last.
            address=", ".join(reversed(places)),
            locations=list(reversed(places)),
            description=text_of(card.select_one(".product-description")),
            photo_urls=[image["src"]] if image else [],
            published_at=publish_date(text_of(card.select_one(".publish-date"))),
            raw={"id": str(ad["Id"]), "price": price.text, "features": features, "places": places},
        )


def find_ads(text):
    try:
        data = json.loads(text)
    except ValueError as error:
        raise AdapterError(f"halooglasi: the search answer is not JSON: {error}") from None
    ads = data.get("Ads") if isinstance(data, dict) else None
    if not isinstance(ads, list):
        raise AdapterError("halooglasi: no Ads[] in the search answer; has the API changed?")
    return ads


def read_price(card):
    """The price from the card's `data-value` (a plain number), with the shown text as backup."""
    holder = card.select_one(".central-feature span")
    shown = text_of(holder)
    price = parse_price(shown, default_currency="EUR", default_period="month")
    try:
        amount = Decimal(holder["data-value"]) if holder and holder.get("data-value") else None
    except InvalidOperation:
        amount = None
    if amount is not None:
        price.amount = amount
    return price


def card_features(card):
    """{"Kvadratura": "52 m2", "Broj soba": "2.0", ...}: each value keyed by its legend."""
    features = {}
    for wrapper in card.select(".product-features .value-wrapper"):
        legend = wrapper.select_one(".legend")
        if legend is None:
            continue
        label = legend.extract().get_text(strip=True)
        features[label] = wrapper.get_text("", strip=True)
    return features


def whole_rooms(text):
    """Rooms from "2.5": half rooms count as the whole rooms they have, as elsewhere."""
    try:
        return int(Decimal(text)) if text else None
    except InvalidOperation:
        return None


def publish_date(text):
    """Midnight in Belgrade on "02.06.2025.", or None."""
    try:
        day = datetime.strptime(text.strip("."), "%d.%m.%Y")
    except ValueError:
        return None
    return day.replace(tzinfo=SITE_TIME_ZONE)


def text_of(element):
    return element.get_text(" ", strip=True) if element else ""
