"""The message a renter receives for a listing, as text and as a photo caption.

Every piece of listing text is escaped: it comes from other people's websites, and only our
own tags may be markup. Lengths are counted as Telegram counts them: the visible text after
the markup is parsed, in UTF-16 code units.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal
from html import escape, unescape

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_TITLE_LENGTH = 200
TAG = re.compile(r"<[^>]+>")

PERIOD_SUFFIXES = {
    "day": gettext_noop("/ day"),
    "week": gettext_noop("/ week"),
    "month": gettext_noop("/ month"),
    "year": gettext_noop("/ year"),
}


@dataclass
class ListingMessage:
    text: str  # HTML, at most 4096 visible characters
    caption: str  # HTML, at most 1024 visible characters
    keyboard: InlineKeyboardMarkup | None
    photos: list = field(default_factory=list)


def listing_message(listing, search_name="", price_change=None):
    """The message for one listing: a new one, or one whose price just dropped."""
    head = headline(listing, price_change)
    tail = []
    if search_name:
        tail.append(_("🔎 Your search: {name}").format(name=f"<i>{escape(search_name)}</i>"))
    link_text = _("Open the listing")
    tail.append(f'<a href="{escape(listing.url, quote=True)}">{link_text}</a>')

    button = InlineKeyboardButton(
        _("Open on {site}").format(site=listing.source.name), url=listing.url
    )
    return ListingMessage(
        text=fit(head, listing.description, tail, MAX_TEXT_LENGTH),
        caption=fit(head, listing.description, tail, MAX_CAPTION_LENGTH),
        keyboard=InlineKeyboardMarkup([[button]]),
        photos=listing.photo_urls[: settings.LISTING_MAX_PHOTOS],
    )


def headline(listing, price_change):
    """The fixed lines: title, price (or its drop), rooms and area, place."""
    lines = []
    if price_change:
        old = format_amount(price_change.old_price) if price_change.old_price else "?"
        lines.append(
            _("📉 <b>Price dropped</b>: {old} → {new} {currency}").format(
                old=old,
                new=format_amount(price_change.new_price),
                currency=escape(listing.currency),
            )
        )
    lines.append(f"🏠 <b>{escape(shorten(listing.title, MAX_TITLE_LENGTH))}</b>")
    lines.append(f"💰 {escape(price_line(listing))}")
    details = facts_line(listing)
    if details:
        lines.append(f"🛏 {escape(details)}")
    place = listing.district.name if listing.district else listing.address
    if place:
        lines.append(f"📍 {escape(place)}")
    return lines


def fit(head, description, tail, limit):
    """Join the parts, cutting the description at a word so the whole stays within `limit`."""
    fixed = "\n".join([*head, *tail])
    room = limit - visible_length(fixed) - 2  # the blank line before the description
    description = " ".join((description or "").split())
    if room < 20 or not description:
        return "\n".join([*head, *tail]) if visible_length(fixed) <= limit else cut(fixed, limit)
    return "\n".join([*head, "", escape(shorten(description, room)), *tail])


def visible_length(html):
    """How long Telegram finds this HTML: text without tags, entities decoded, in UTF-16."""
    return utf16_length(unescape(TAG.sub("", html)))


def cut(html, limit):
    """Last resort for an over-long headline: plain text, shortened."""
    return escape(shorten(unescape(TAG.sub("", html)), limit))


def price_line(listing):
    if listing.price is None:
        return listing.price_text or _("Price on request")
    amount = format_amount(listing.price)
    suffix = PERIOD_SUFFIXES.get(listing.period, "")
    suffix = _(suffix) if suffix else ""
    return " ".join(part for part in (amount, listing.currency, suffix) if part)


def facts_line(listing):
    facts = []
    if listing.rooms == 0:
        facts.append(_("studio"))
    elif listing.rooms is not None:
        facts.append(_("{n} rooms").format(n=listing.rooms) if listing.rooms != 1 else _("1 room"))
    if listing.area_m2:
        facts.append(f"{format_amount(listing.area_m2)} m²")
    return " · ".join(facts)


def format_amount(value):
    """12500.00 → "12,500"; 55.50 → "55.5"."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return f"{value:,.0f}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def shorten(text, limit):
    """At most `limit` UTF-16 units, cut at a word and marked with an ellipsis."""
    text = " ".join(text.split())
    if utf16_length(text) <= limit:
        return text

    # The longest prefix that leaves room for the ellipsis, found by bisection.
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if utf16_length(text[:middle]) <= limit - 1:
            low = middle
        else:
            high = middle - 1
    head = text[:low]
    return (head.rsplit(" ", 1)[0] if " " in head else head) + "…"


def utf16_length(text):
    return len(text.encode("utf-16-le")) // 2
