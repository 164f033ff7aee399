"""immobilienscout24.de: the search state the page embeds as `IS24.resultList` (or that state
saved as JSON), whose `resultlistEntry[]` holds one structured record per result."""

import json
import logging
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import urljoin

from listings.adapters.base import Adapter, AdapterError, ParsedListing, ParseResult

logger = logging.getLogger(__name__)

LISTING_URL = "https://www.immobilienscout24.de/expose/{external_id}"
RESULT_LIST_KEY = "resultlist.resultlist"
# In the HTML page the state is a JavaScript object whose `resultListModel` value is JSON.
MODEL_MARKER = re.compile(r"resultListModel\"?\s*:\s*")
PERIODS = {
    "DAY": "day",
    "WEEK": "week",
    "MONTH": "month",
    "YEAR": "year",
    "ONE_TIME_CHARGE": "once",
}
QUARTER = re.compile(r"^(?P<local>[^(]+?)\s*(?:\((?P<borough>[^)]+)\))?$")


class ImmoScout24Adapter(Adapter):
    name = "immoscout24"

    def parse(self, page):
        result_list = find_result_list(page.text)
        entries = []
        for group in result_list.get("resultlistEntries") or []:
            entries += as_list(group.get("resultlistEntry"))

        listings = []
        for entry in entries:
            try:
                listings.append(self.parse_entry(entry))
            except (KeyError, TypeError, ValueError) as error:
                logger.warning("immoscout24: skipped entry %s: %r", entry.get("@id"), error)

        if not listings:
            raise AdapterError("immoscout24: the result list holds no entries")
        next_path = (result_list.get("paging") or {}).get("next")
        return ParseResult(
            listings, next_page_url=urljoin(page.url, next_path) if next_path else None
        )

    def parse_entry(self, entry):
        estate = entry["resultlist.realEstate"]
        external_id = str(estate["@id"])
        price = estate.get("price") or {}
        address = estate.get("address") or {}

        return ParsedListing(
            external_id=external_id,
            url=LISTING_URL.format(external_id=external_id),
            title=estate.get("title") or "",
            price=decimal_or_none(price.get("value")),
            currency=price.get("currency") or "EUR",
            period=PERIODS.get(price.get("priceIntervalType"), ""),
            price_text=shown_price(entry),
            deal="sale" if price.get("marketingType") == "PURCHASE" else "rent",
            # Half rooms ("2,5 Zimmer") count as the whole rooms they have.
            rooms=int(Decimal(str(estate["numberOfRooms"])))
            if estate.get("numberOfRooms")
            else None,
            area_m2=decimal_or_none(estate.get("livingSpace")),
            address=(address.get("description") or {}).get("text", ""),
            locations=places_of(address),
            photo_urls=photos_of(estate),
            published_at=parse_datetime(entry.get("@publishDate")),
            raw={"id": external_id, "type": estate.get("@xsi.type"), "price": price},
        )


def find_result_list(text):
    """The `resultlist.resultlist` object, from the saved JSON state or from the HTML page."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        state = json.loads(stripped)
        model = (state.get("resultList") or {}).get("resultListModel") or {}
    else:
        marker = MODEL_MARKER.search(text)
        if not marker:
            raise AdapterError(
                "immoscout24: no resultListModel on the page; has the site changed?"
            )
        model, _ = json.JSONDecoder().raw_decode(text, marker.end())

    result_list = (model.get("searchResponseModel") or {}).get(RESULT_LIST_KEY)
    if not isinstance(result_list, dict):
        raise AdapterError("immoscout24: no result list in the search state")
    return result_list


def shown_price(entry):
    """The price as the result list prints it ("415,80 €"), kept as the raw price text."""
    for group in as_list(entry.get("attributes")):
        for attribute in as_list(group.get("attribute")):
            if attribute.get("label") in ("Kaltmiete", "Kaufpreis", "Warmmiete"):
                return str(attribute.get("value", ""))
    return ""


def places_of(address):
    """Locality, quarter and borough, then the city: "Friedrichsfelde (Lichtenberg)", "Berlin".

    The description's locality ("…, Rummelsburg, Berlin") is often finer than the quarter.
    """
    description = (address.get("description") or {}).get("text", "")
    parts = [part.strip() for part in description.split(",")]
    locality = parts[-2].replace("(Ortsteil)", "").strip() if len(parts) >= 2 else ""
    quarter = QUARTER.match(address.get("quarter") or "")
    quarter_names = [quarter.group("local"), quarter.group("borough")] if quarter else []

    places = []
    for place in [locality, *quarter_names, address.get("city")]:
        if place and place not in places:
            places.append(place)
    return places


def photos_of(estate):
    """Full-size picture URLs: the title picture first, then the gallery."""
    pictures = [estate.get("titlePicture") or {}]
    pictures += as_list((estate.get("galleryAttachments") or {}).get("attachment"))
    urls = []
    for picture in pictures:
        # The list links to a resized thumbnail; the part before "/ORIG/" is the original.
        url = (picture.get("@xlink.href") or "").split("/ORIG/")[0]
        if url.startswith("https://") and url not in urls:
            urls.append(url)
    return urls


def as_list(value):
    """The site gives a one-element list as a bare object."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def decimal_or_none(value):
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def parse_datetime(text):
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
