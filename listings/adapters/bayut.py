"""bayut.com (UAE): listings come as Algolia hits, embedded in the page's `window.state` or as
the search index's own JSON answer; both carry the same hit records."""

import json
import logging
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from listings.adapters.base import Adapter, AdapterError, ParsedListing, ParseResult
from listings.prices import parse_furnishing

logger = logging.getLogger(__name__)

LISTING_URL = "https://www.bayut.com/property/details-{external_id}.html"
STATE_MARKER = "window.state = "
RENT_PERIODS = {"daily": "day", "weekly": "week", "monthly": "month", "yearly": "year"}


class BayutAdapter(Adapter):
    name = "bayut"

    def parse(self, page):
        hits = self.find_hits(page.text)
        listings = []
        for hit in hits:
            try:
                listings.append(self.parse_hit(hit))
            except (KeyError, TypeError, ValueError) as error:
                logger.warning("bayut: skipped a malformed hit %s: %r", hit.get("id"), error)
        if not listings:
            raise AdapterError("bayut: the page holds no listing hits")
        return ParseResult(listings)

    def find_hits(self, text):
        """The hit records, from a JSON answer or from the HTML page's embedded state."""
        stripped = text.lstrip()
        if stripped.startswith("{"):
            data = json.loads(stripped)
        else:
            start = text.find(STATE_MARKER)
            if start < 0:
                raise AdapterError("bayut: no window.state on the page; has the site changed?")
            data, _ = json.JSONDecoder().raw_decode(text, start + len(STATE_MARKER))
            data = data.get("algolia", {}).get("content") or {}
        hits = data.get("hits")
        if not isinstance(hits, list):
            raise AdapterError("bayut: no hits[] in the listing data")
        return hits

    def parse_hit(self, hit):
        external_id = str(hit["externalID"])
        is_rent = hit.get("purpose") == "for-rent"
        places = [p["name"] for p in hit.get("location") or [] if p.get("level", 0) >= 1]
        price = hit.get("price")
        cover = (hit.get("coverPhoto") or {}).get("url")
        return ParsedListing(
            external_id=external_id,
            url=LISTING_URL.format(external_id=external_id),
            title=hit.get("title") or "",
            price=None if hit.get("hidePrice") else decimal_or_none(price),
            currency="AED",
            period=RENT_PERIODS.get(hit.get("rentFrequency"), "month") if is_rent else "once",
            price_text=f"{price} AED" if price else "",
            deal="rent" if is_rent else "sale",
            rooms=hit.get("rooms"),
            bathrooms=hit.get("baths"),
            furnishing=parse_furnishing(hit.get("furnishingStatus") or ""),
            area_m2=Decimal(str(hit["area"])).quantize(Decimal("0.01"))
            if hit.get("area")
            else None,
            address=", ".join(reversed(places)),
            locations=list(reversed(places)),
            photo_urls=[cover] if cover else [],
            published_at=datetime.fromtimestamp(hit["createdAt"], tz=UTC)
            if hit.get("createdAt")
            else None,
            raw={
                k: hit.get(k)
                for k in (
                    "id",
                    "externalID",
                    "purpose",
                    "price",
                    "rentFrequency",
                    "rooms",
                    "baths",
                    "area",
                    "furnishingStatus",
                )
            },
        )


def decimal_or_none(value):
    """A positive number as Decimal; None for a missing or unreadable one."""
    try:
        amount = Decimal(str(value))
        return amount if amount > 0 else None
    except (InvalidOperation, ValueError):  # "abc", and NaN refusing to be compared
        return None
