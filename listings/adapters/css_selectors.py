"""The no-code adapter: staff describe a site's result cards with CSS selectors kept in
`Source.selectors`, and any page of that site is read by them."""

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urljoin

import soupsieve
from bs4 import BeautifulSoup

from listings.adapters.base import Adapter, AdapterError, ParsedListing, ParseResult
from listings.adapters.jsonld import short_id
from listings.models import Period
from listings.prices import parse_amount, parse_area, parse_price, parse_rooms

logger = logging.getLogger(__name__)

FIELDS = ("id", "url", "title", "price", "rooms", "area", "address", "photo")
REQUIRED = ("card", "url")
KNOWN_KEYS = ("card", *FIELDS, "next_page", "currency", "period")
# A link's text is never its address: with no "@attr", these read the attribute named here.
DEFAULT_ATTRIBUTES = {"url": "href", "photo": "src", "next_page": "href"}

ATTRIBUTE_NAME = re.compile(r"^[A-Za-z_:][-\w:.]*$")
CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
BARE_NUMBER = re.compile(r"^\d+(?:[.,]\d+)?$")
# Sites often show a card's photo as a CSS background: style="background-image: url(...)".
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)")
PLACE_SEPARATORS = re.compile(r"\s*[,|·/]\s*")
POSTCODE = re.compile(r"^\d{4,6}(?:\s*[A-Z]{2})?\s+")


class InvalidSelectors(AdapterError):
    """The source's selectors cannot be used; `problems` says what is wrong with each."""

    def __init__(self, problems):
        self.problems = problems
        super().__init__("css: invalid selectors: " + "; ".join(problems))

    def __reduce__(self):
        # Rebuilt from its problems when it crosses from a parser process.
        return (type(self), (self.problems,))


@dataclass(frozen=True)
class Spec:
    """Where one field is in a card: an element (None is the card itself) and an attribute."""

    selector: soupsieve.SoupSieve | None
    attribute: str = ""  # "" reads the element's text

    def read(self, card):
        element = self.selector.select_one(card) if self.selector else card
        if element is None:
            return ""
        if not self.attribute:
            return " ".join(element.get_text(" ", strip=True).split())
        value = element.get(self.attribute, "")
        # Multi-valued attributes (class, rel) come back as lists.
        return " ".join(value).strip() if isinstance(value, list) else value.strip()


@dataclass
class Extraction:
    """What the selectors found on one page, with the gaps a preview should show."""

    listings: list[ParsedListing]
    cards: int = 0
    skipped: int = 0  # cards without an id or a URL
    duplicates: int = 0
    missing: Counter = field(default_factory=Counter)  # field → listings lacking it
    next_page_url: str | None = None


class CssSelectorAdapter(Adapter):
    name = "css"
    # adapter_for_source() builds this adapter with the source's selectors.
    takes_selectors = True

    def __init__(self, selectors=None):
        self.selectors = selectors if selectors is not None else {}
        self.specs, self.problems = compile_selectors(self.selectors)

    def parse(self, page):
        extraction = self.extract(page)
        if not extraction.listings:
            raise AdapterError(
                f"css: no listings on the page ({extraction.cards} cards matched, "
                f"{extraction.skipped} without an id or URL); have the site or selectors changed?"
            )
        logger.debug(
            "css: %d cards, %d listings, missing %s on %s",
            extraction.cards,
            len(extraction.listings),
            dict(extraction.missing),
            page.url,
        )
        return ParseResult(extraction.listings, next_page_url=extraction.next_page_url)

    def extract(self, page):
        """Every card the selectors find, read into listings; raises InvalidSelectors."""
        if self.problems:
            raise InvalidSelectors(self.problems)
        soup = BeautifulSoup(page.text, "lxml")
        cards = self.specs["card"].selector.select(soup)

        extraction = Extraction(listings=[], cards=len(cards))
        seen = set()
        for card in cards:
            listing = self.parse_card(card, page.url)
            if listing is None:
                extraction.skipped += 1
            elif listing.external_id in seen:
                # Promoted cards are often repeated among the ordinary results.
                extraction.duplicates += 1
            else:
                seen.add(listing.external_id)
                extraction.listings.append(listing)
                extraction.missing.update(missing_fields(listing))

        if extraction.skipped:
            logger.info(
                "css: skipped %d cards without id or URL on %s", extraction.skipped, page.url
            )
        extraction.next_page_url = self.next_page_url(soup, page.url)
        return extraction

    def parse_card(self, card, page_url):
        """One listing from a card, or None when the card has no URL or id."""
        values = {name: spec.read(card) for name, spec in self.specs.items() if name in FIELDS}
        url = values["url"]
        # Without an id selector the URL is the id; with one, a card lacking it is skipped.
        external_id = values["id"] if "id" in self.specs else url
        if not url or not external_id:
            return None

        price = parse_price(
            values.get("price", ""),
            default_currency=(self.selectors.get("currency") or "").upper(),
            default_period=self.selectors.get("period") or "",
        )
        photo = photo_url(values.get("photo", ""))
        return ParsedListing(
            external_id=short_id(external_id),
            url=urljoin(page_url, url),
            title=values.get("title", ""),
            price=price.amount,
            currency=price.currency,
            period=price.period,
            price_text=price.text,
            rooms=rooms_in(values.get("rooms", "")),
            area_m2=area_in(values.get("area", "")),
            address=values.get("address", ""),
            locations=places_in(values.get("address", "")),
            photo_urls=[urljoin(page_url, photo)] if photo else [],
            raw={name: value for name, value in values.items() if value},
        )

    def next_page_url(self, soup, page_url):
        spec = self.specs.get("next_page")
        href = spec.read(soup) if spec else ""
        return urljoin(page_url, href) if href else None


def compile_selectors(selectors):
    """Compiled specs by key, and the list of problems (empty when the selectors are usable)."""
    if not isinstance(selectors, dict):
        return {}, ["selectors must be a JSON object mapping field names to CSS selectors"]

    problems = [f"{key}: required" for key in REQUIRED if not selectors.get(key)]
    unknown = sorted(set(selectors) - set(KNOWN_KEYS))
    if unknown:
        problems.append(f"unknown keys {', '.join(unknown)}; known: {', '.join(KNOWN_KEYS)}")
    problems += option_problems(selectors)

    specs = {}
    for key in ("card", *FIELDS, "next_page"):
        if selectors.get(key):
            try:
                specs[key] = parse_spec(key, selectors[key])
            except ValueError as error:
                problems.append(f"{key}: {error}")
    return specs, problems


def parse_spec(key, spec):
    """A Spec from "selector" (text), "selector@attr" or "@attr" (the card's own attribute)."""
    if not isinstance(spec, str):
        raise ValueError('must be a string: "selector", "selector@attribute" or "@attribute"')

    selector, attribute = spec.strip(), ""
    head, at, tail = selector.rpartition("@")
    # "@" inside a selector (a[href*="@"]) is not followed by a bare attribute name.
    if at and ATTRIBUTE_NAME.match(tail.strip()):
        selector, attribute = head.strip(), tail.strip()
    if key == "card" and (attribute or not selector):
        raise ValueError("must be a CSS selector of one result card, without @attribute")

    try:
        compiled = soupsieve.compile(selector) if selector else None
    except soupsieve.SelectorSyntaxError as error:
        reason = str(error).splitlines()[0]
        raise ValueError(f"bad CSS selector {selector!r}: {reason}") from None
    return Spec(compiled, attribute or DEFAULT_ATTRIBUTES.get(key, ""))


def option_problems(selectors):
    problems = []
    currency = selectors.get("currency", "")
    if currency and not (isinstance(currency, str) and CURRENCY_CODE.match(currency.upper())):
        problems.append(f"currency: {currency!r} is not a three-letter code like EUR")
    period = selectors.get("period", "")
    if period and period not in Period.values:
        problems.append(f"period: {period!r} is not one of {', '.join(Period.values)}")
    return problems


def missing_fields(listing):
    """The fields this listing came out without; an unconfigured field is missing everywhere."""
    values = {
        "title": listing.title,
        "price": listing.price is not None,
        "rooms": listing.rooms is not None,
        "area": listing.area_m2 is not None,
        "address": listing.address,
        "photo": listing.photo_urls,
    }
    return [name for name, value in values.items() if not value]


def rooms_in(text):
    """Rooms from "2 Zi.", "3-Zimmer-Wohnung", "Studio" or a bare "3" in its own element."""
    rooms = parse_rooms(text)
    if rooms is None and BARE_NUMBER.match(text):
        rooms = int(Decimal(text.replace(",", ".")))
    return rooms


def area_in(text):
    area = parse_area(text)
    if area is None and BARE_NUMBER.match(text):
        area = parse_amount(text)
    return area


def photo_url(value):
    """A photo's URL, also out of an inline style's background-image."""
    match = CSS_URL.search(value)
    return match.group(1).strip() if match else value


def places_in(address):
    """The address's parts without postcodes ("10557 Mitte" → "Mitte"), to match districts."""
    parts = (POSTCODE.sub("", part) for part in PLACE_SEPARATORS.split(address))
    return list(dict.fromkeys(part for part in parts if part))
