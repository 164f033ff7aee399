"""The message a renter receives for a listing. Every piece of listing text is escaped:
it comes from other people's websites."""

from decimal import Decimal
from html import escape

from django.utils.translation import gettext as _
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

MAX_TEXT_LENGTH = 4096
MAX_TITLE_LENGTH = 300

PERIOD_SUFFIXES = {
    "day": "/ day",
    "week": "/ week",
    "month": "/ month",
    "year": "/ year",
}


def listing_message(listing, search_name=""):
    """The HTML text and the inline keyboard for one listing."""
    lines = [f"🏠 <b>{escape(shorten(listing.title, MAX_TITLE_LENGTH))}</b>"]
    lines.append(f"💰 {escape(price_line(listing))}")
    details = facts_line(listing)
    if details:
        lines.append(f"🛏 {escape(details)}")
    place = listing.district.name if listing.district else listing.address
    if place:
        lines.append(f"📍 {escape(place)}")
    if search_name:
        lines.append(_("🔎 Your search: {name}").format(name=f"<i>{escape(search_name)}</i>"))
    lines.append(f'<a href="{escape(listing.url, quote=True)}">{_("Open the listing")}</a>')

    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    _("Open on {site}").format(site=listing.source.name), url=listing.url
                )
            ]
        ]
    )
    return "\n".join(lines)[:MAX_TEXT_LENGTH], keyboard


def price_line(listing):
    if listing.price is None:
        return listing.price_text or _("Price on request")
    amount = format_amount(listing.price)
    suffix = _(PERIOD_SUFFIXES.get(listing.period, ""))
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
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"
