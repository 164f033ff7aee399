"""Reading prices, rooms, areas and furnishing out of the text listing sites show.

An unreadable value is None with the raw text kept by the caller, never a wrong number.
"""

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

CURRENCY_MARKERS = [
    (re.compile(r"€|\beur\b|euro", re.I), "EUR"),
    (re.compile(r"\baed\b|dirham|درهم", re.I), "AED"),
    (re.compile(r"₸|〒|\bkzt\b|\bтг\b|тенге", re.I), "KZT"),
    (re.compile(r"zł|\bpln\b", re.I), "PLN"),
    (re.compile(r"\brsd\b|\bdin\b|динар", re.I), "RSD"),
    (re.compile(r"\$|\busd\b", re.I), "USD"),
    (re.compile(r"£|\bgbp\b", re.I), "GBP"),
    (re.compile(r"₽|\brub\b|руб", re.I), "RUB"),
]
PERIOD_MARKERS = [
    (re.compile(r"year|annual|/\s*yr|jahr|\bгод|rok", re.I), "year"),
    (re.compile(r"month|monat|\bmtl\b|maand|/\s*mo\b|мес|mies|mesec|mjesec", re.I), "month"),
    (re.compile(r"week|woche|недел", re.I), "week"),
    (re.compile(r"\bday\b|daily|night|\btag\b|сут|день|noć", re.I), "day"),
]
NO_PRICE = re.compile(
    r"договор|on request|auf anfrage|op aanvraag|zapytaj|call for price|^\s*vb\s*$", re.I
)
NUMBER = re.compile(r"\d[\d\s.,'\u00a0\u202f\u2009]*")
SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")

DAYS_PER_MONTH = Decimal("30")
WEEKS_PER_MONTH = Decimal("52") / Decimal("12")


@dataclass
class PriceInfo:
    amount: Decimal | None
    currency: str
    period: str
    text: str


def parse_price(text, default_currency="", default_period=""):
    """Amount, currency and period from a price as a site prints it."""
    text = (text or "").strip()
    currency = next((code for marker, code in CURRENCY_MARKERS if marker.search(text)), "")
    period = next((name for marker, name in PERIOD_MARKERS if marker.search(text)), "")
    currency, period = currency or default_currency, period or default_period
    if not text or NO_PRICE.search(text):
        return PriceInfo(None, currency, period, text)

    match = NUMBER.search(text)
    amount = parse_amount(match.group()) if match else None
    if amount is not None and re.search(r"\d\s*[kк]\b", text, re.I):
        amount *= 1000
    return PriceInfo(amount, currency, period, text)


def parse_amount(digits):
    """A number in any locale's notation: "85,000", "1.250", "1 298,00", "1,250.50"."""
    digits = SPACES.sub("", digits).strip(".,")
    if not digits:
        return None

    last_dot, last_comma = digits.rfind("."), digits.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        decimal_mark = "." if last_dot > last_comma else ","
    elif last_dot >= 0 or last_comma >= 0:
        mark = "." if last_dot >= 0 else ","
        # One mark followed by exactly three digits groups thousands; otherwise it is decimal.
        groups = digits.split(mark)
        thousands = all(len(g) == 3 for g in groups[1:]) and len(groups[0]) <= 3
        decimal_mark = "" if thousands else mark
        if not thousands and len(groups) > 2:
            return None
    else:
        decimal_mark = ""

    thousands_mark = {".": ",", ",": "."}.get(decimal_mark, "")
    cleaned = digits.replace(thousands_mark, "") if thousands_mark else digits
    if decimal_mark:
        cleaned = cleaned.replace(decimal_mark, ".")
    else:
        cleaned = cleaned.replace(".", "").replace(",", "")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def monthly_price(amount, period):
    """The monthly equivalent of a rent; None for a sale price or an unknown amount.

    A rent whose period the site does not state is taken as monthly, the norm in every market
    the shipped sources cover.
    """
    if amount is None or period == "once":
        return None
    if period == "year":
        return (amount / 12).quantize(Decimal("0.01"))
    if period == "week":
        return (amount * WEEKS_PER_MONTH).quantize(Decimal("0.01"))
    if period == "day":
        return amount * DAYS_PER_MONTH
    return amount


ROOM_WORDS = re.compile(r"studio|студи|kawalerk|garsonjer", re.I)
ROOM_NUMBER = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(?:-|‑)?\s*(?:zimmer|zi\b|комн|к\b|rooms?|kamer|pok|bed|br\b|soba|sobn)",
    re.I,
)


def parse_rooms(text):
    """Rooms from "2.5 Zimmer", "3-комнатная", "Studio" (0), "2 kamers"; None if absent."""
    text = text or ""
    if ROOM_WORDS.search(text):
        return 0
    match = ROOM_NUMBER.search(text)
    if not match:
        return None
    # Half rooms (German "2,5 Zimmer") count as the whole rooms they have.
    return int(Decimal(match.group(1).replace(",", ".")))


AREA = re.compile(r"(\d+(?:[.,]\d+)?)\s*(?:m²|m2|м²|qm|кв\.?\s*м|sq\.?\s*m)", re.I)


def parse_area(text):
    """Square metres from "79 m²", "55,5 m²", "45 кв.м"; None if absent."""
    match = AREA.search(text or "")
    if not match:
        return None
    return Decimal(match.group(1).replace(",", "."))


# Checked in this order: "unmöbliert" and "teilmöbliert" both contain "möbliert".
FURNISHING_WORDS = [
    (
        re.compile(
            r"semi[- ]?furnished|part(?:ly|ially)?[- ]furnished|teil(?:weise\s*)?möbliert"
            r"|gestoffeerd|częściowo umeblowan|частично меблир|polu\s*namešten|polunamesten",
            re.I,
        ),
        "partly",
    ),
    (
        re.compile(
            r"unfurnished|not furnished|unmöbliert|nicht möbliert|ohne möbel|\bkaal\b"
            r"|nieumeblowan|bez mebli|без мебели|не меблир|nenamešten|nenamesten",
            re.I,
        ),
        "unfurnished",
    ),
    (
        re.compile(
            r"furnished|möbliert|moebliert|gemeubileerd|umeblowan|меблир|с мебелью"
            r"|namešten|namesten",
            re.I,
        ),
        "furnished",
    ),
]


def parse_furnishing(text):
    """ "furnished", "partly" or "unfurnished" from the words a site uses; "" if it says none."""
    return next((kind for words, kind in FURNISHING_WORDS if words.search(text or "")), "")
