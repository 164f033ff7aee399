"""Any site that describes its listings in schema.org JSON-LD: the `application/ld+json` blocks
are read the same way on every site, so no knowledge of the site's markup is needed."""

import hashlib
import json
import logging
import re
from decimal import Decimal
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from listings.adapters.base import Adapter, AdapterError, ParsedListing, ParseResult
from listings.prices import parse_amount, parse_price, parse_rooms

logger = logging.getLogger(__name__)

LISTING_TYPES = {
    "Offer",
    "Product",
    "Apartment",
    "House",
    "SingleFamilyResidence",
    "Accommodation",
    "Residence",
    "RealEstateListing",
}
# Where listings hide inside other nodes: the graph, a page's main entity, an ItemList's elements.
CONTAINER_KEYS = ("@graph", "mainEntity", "about", "itemListElement", "item")
# What a listing page or an offer is about: the flat itself, holding rooms, size and address.
SUBJECT_KEYS = ("mainEntity", "about", "itemOffered")

# UN/CEFACT codes that schema.org uses in unitCode, and ISO 8601 durations of one unit.
PERIOD_CODES = {"MON": "month", "ANN": "year", "WEE": "week", "DAY": "day"}
ISO_DURATION = re.compile(r"^P1?([DWMY])$", re.I)
ISO_PERIODS = {"D": "day", "W": "week", "M": "month", "Y": "year"}
SQUARE_FOOT_CODES = {"FTK", "SQFT", "SQ FT", "FT2", "FT²"}
SQUARE_METRES_PER_FOOT = Decimal("0.09290304")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")

MAX_EXTERNAL_ID = 100  # Listing.external_id's length
MAX_ROOMS = 99  # more is a misread, not a flat


class JsonLdAdapter(Adapter):
    name = "jsonld"

    def parse(self, page):
        soup = BeautifulSoup(page.text, "lxml")
        items = list(listing_nodes(json_ld_blocks(soup)))

        listings, skipped = {}, 0
        for item in items:
            listing = self.parse_item(item, page.url)
            if listing is None:
                skipped += 1
                continue
            # The same flat may be described twice (in an ItemList and as the page's subject).
            listings.setdefault(listing.external_id, listing)

        if skipped:
            logger.info("jsonld: skipped %d items without a URL on %s", skipped, page.url)
        if not listings:
            raise AdapterError(
                f"jsonld: no listings in the page's JSON-LD ({len(items)} listing-typed items, "
                f"{skipped} without a URL); does the page carry schema.org data?"
            )
        return ParseResult(list(listings.values()), next_page_url=next_link(soup, page.url))

    def parse_item(self, item, page_url):
        """One listing from a listing-typed node, or None when it has no URL to send."""
        subject = subject_of(item)
        url = item.get("url") or subject.get("url") or web_id(item)
        if not isinstance(url, str) or not url.strip():
            return None

        url = urljoin(page_url, url.strip())
        offer = offer_of(item, subject)
        amount, currency, period = price_of(offer)
        deal = deal_of(item, subject, offer)
        address = field(item, subject, "address")

        return ParsedListing(
            external_id=short_id(item.get("@id") or url),
            url=url,
            title=text(field(item, subject, "name") or field(item, subject, "headline")),
            price=amount,
            currency=currency,
            period="once" if deal == "sale" else period,
            price_text=text(offer.get("price") or offer.get("lowPrice")),
            deal=deal,
            rooms=rooms_of(field(item, subject, "numberOfRooms")),
            bathrooms=rooms_of(field(item, subject, "numberOfBathroomsTotal")),
            area_m2=area_of(field(item, subject, "floorSize")),
            address=address_text(address),
            locations=places_of(address),
            description=text(field(item, subject, "description")),
            photo_urls=photos_of(field(item, subject, "image"), page_url),
            raw={"@id": item.get("@id"), "url": url, "types": sorted(types_of(item))},
        )


def json_ld_blocks(soup):
    """The parsed content of every JSON-LD script; an unreadable one is logged and left out."""
    blocks = []
    for script in soup.select('script[type="application/ld+json"]'):
        try:
            # strict=False: sites leave raw newlines inside strings, which browsers accept.
            blocks.append(json.loads(script.string or "", strict=False))
        except ValueError as error:
            logger.warning("jsonld: unreadable JSON-LD block: %r", error)
    return blocks


def listing_nodes(node):
    """Every node typed as a listing, found through graphs, lists, ItemLists and main entities.

    A listing node is not searched further: the Offer inside a Product is its price, not a
    second listing.
    """
    if isinstance(node, list):
        for child in node:
            yield from listing_nodes(child)
        return
    if not isinstance(node, dict):
        return

    if types_of(node) & LISTING_TYPES:
        yield node
        return
    for key in CONTAINER_KEYS:
        yield from listing_nodes(node.get(key))


def types_of(node):
    """The node's @type as a set of bare names ("schema:House" and full IRIs included)."""
    declared = node.get("@type") if isinstance(node, dict) else None
    names = declared if isinstance(declared, list) else [declared]
    return {name.rsplit("/", 1)[-1].rsplit(":", 1)[-1] for name in names if isinstance(name, str)}


def subject_of(item):
    """The flat a listing page or an offer describes, or {} when the item is the flat itself."""
    for key in SUBJECT_KEYS:
        if isinstance(item.get(key), dict):
            return item[key]
    return {}


def field(item, subject, key):
    """The item's own value, else its subject's; 0 (a studio's rooms) counts as a value."""
    value = item.get(key)
    return value if value not in (None, "", [], {}) else subject.get(key)


def web_id(item):
    """The @id when it is a web address, which many sites use as the listing's URL."""
    node_id = item.get("@id")
    return node_id if isinstance(node_id, str) and node_id.startswith("http") else None


def short_id(value):
    """An external id that fits the database; a long @id is hashed, stable across runs."""
    value = str(value).strip()
    if len(value) <= MAX_EXTERNAL_ID:
        return value
    return "sha1:" + hashlib.sha1(value.encode()).hexdigest()


def offer_of(item, subject):
    """The node holding the price: the item if it is an Offer, else its first offer.

    Some sites put price and currency straight on the flat, without an Offer; that node is
    then the offer.
    """
    if "Offer" in types_of(item):
        return item
    for node in (item, subject):
        offers = node.get("offers")
        offers = offers[0] if isinstance(offers, list) and offers else offers
        if isinstance(offers, dict):
            return offers
    return next((node for node in (item, subject) if "price" in node), {})


def price_of(offer):
    """Amount, currency and period of an offer, reading its price specification too."""
    specification = offer.get("priceSpecification")
    if isinstance(specification, list):
        specification = next((s for s in specification if isinstance(s, dict)), None)
    specification = specification if isinstance(specification, dict) else {}

    value = first_present(offer, specification, "price", "lowPrice")
    currency = first_present(offer, specification, "priceCurrency")
    period = period_of(specification) or period_of(offer)
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return Decimal(str(value)), text(currency).upper(), period

    # A price given as text may carry its own currency sign or period ("€ 1.250 per month").
    price = parse_price(text(value), default_currency=text(currency).upper())
    return price.amount, price.currency, period or price.period


def first_present(offer, specification, *keys):
    for node in (offer, specification):
        for key in keys:
            if node.get(key) not in (None, ""):
                return node[key]
    return None


def period_of(node):
    """A rent's period from unitCode, unitText, billingDuration or referenceQuantity."""
    reference = node.get("referenceQuantity")
    reference = reference if isinstance(reference, dict) else {}
    for code in (node.get("unitCode"), reference.get("unitCode")):
        if isinstance(code, str) and code.upper() in PERIOD_CODES:
            return PERIOD_CODES[code.upper()]

    duration = node.get("billingDuration")
    if isinstance(duration, str) and ISO_DURATION.match(duration.strip()):
        return ISO_PERIODS[ISO_DURATION.match(duration.strip()).group(1).upper()]
    unit_text = node.get("unitText") or reference.get("unitText")
    return parse_price(text(unit_text)).period if unit_text else ""


def deal_of(item, subject, offer):
    """ "rent" or "sale" when the data says so (an action type or a business function)."""
    types = types_of(item) | types_of(subject) | types_of(offer)
    function = text(offer.get("businessFunction")).lower()
    if "RentAction" in types or "leaseout" in function:
        return "rent"
    if types & {"BuyAction", "SellAction"} or function.endswith("#sell"):
        return "sale"
    return ""


def number_in(value):
    """A Decimal from a number, a numeric text or a QuantitativeValue; None if there is none."""
    if isinstance(value, dict):
        value = value.get("value")
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    match = NUMBER.search(str(value))
    return parse_amount(match.group()) if match else None


def rooms_of(value):
    number = number_in(value)
    if number is None and isinstance(value, str):
        return parse_rooms(value)
    if number is None or not 0 <= number <= MAX_ROOMS:
        return None
    # Half rooms ("2.5") count as the whole rooms they have, as parse_rooms does.
    return int(number)


def area_of(floor_size):
    """Square metres from floorSize, converting square feet (unitCode FTK or "sqft")."""
    number = number_in(floor_size)
    if number is None or number <= 0:
        return None

    unit = ""
    if isinstance(floor_size, dict):
        unit = text(floor_size.get("unitCode") or floor_size.get("unitText")).upper()
    if unit in SQUARE_FOOT_CODES:
        number *= SQUARE_METRES_PER_FOOT
    return number.quantize(Decimal("0.01"))


def address_text(address):
    if isinstance(address, str):
        return " ".join(address.split())
    parts = [address.get("streetAddress")] if isinstance(address, dict) else []
    return ", ".join(text(part) for part in parts + places_of(address) if text(part))


def places_of(address):
    """Locality then region: the place names a district can be matched against."""
    if not isinstance(address, dict):
        return []
    places = [text(address.get(key)) for key in ("addressLocality", "addressRegion")]
    return list(dict.fromkeys(place for place in places if place))


def photos_of(image, page_url):
    """Absolute photo URLs from a URL, an ImageObject or a list of either."""
    images = image if isinstance(image, list) else [image]
    urls = []
    for one in images:
        if isinstance(one, dict):
            one = one.get("url") or one.get("contentUrl")
        if isinstance(one, str) and one.strip():
            urls.append(urljoin(page_url, one.strip()))
    return list(dict.fromkeys(urls))


def next_link(soup, page_url):
    link = soup.select_one("link[rel~=next][href], a[rel~=next][href]")
    return urljoin(page_url, link["href"]) if link else None


def text(value):
    """A JSON value as one line of text ("" for None, objects and lists)."""
    if value is None or isinstance(value, dict | list):
        return ""
    return " ".join(str(value).split())
