"""Understanding a price range a renter types: "3000-6000", "до 80 000", "from 1k to 2k", "8k"."""

import re
from dataclasses import dataclass
from decimal import Decimal

from listings.prices import parse_amount

# Above this a price is a typo, not a flat.
ABSURD_PRICE = Decimal("1000000000")
MAX_INPUT_LENGTH = 100

NUMBER = re.compile(r"-?\d[\d\s.,'\u00a0\u202f]*(?:\s*[kк]\b|\s*тыс)?", re.I)
SUFFIX = re.compile(r"\s*(?:[kк]\b|тыс)\s*$", re.I)
# Where one typed number may end and the next begin: a space, or a comma and a space.
GAP = re.compile(r",?[\s\u00a0\u202f]+")
# A space may group thousands ("80 000"): a first group of one to three digits, then groups of
# exactly three, the last perhaps with decimals.
FIRST_GROUP = re.compile(r"\d{1,3}")
NEXT_GROUP = re.compile(r"\d{3}")
LAST_GROUP = re.compile(r"\d{3}(?:[.,]\d{1,2})?")
RANGE_DASH = re.compile(r"(\d\s*(?:[kк]|тыс)?)\s*[-–—]\s*(\d)", re.I)
UPPER_WORDS = re.compile(r"\b(до|up\s*to|to|max|under|below|bis|maximal|не\s*дороже)\b|<|≤", re.I)
LOWER_WORDS = re.compile(r"\b(от|from|min|over|above|ab|mindestens)\b|>|≥|\d\s*[kк]?\s*\+", re.I)


@dataclass
class PriceRange:
    low: Decimal | None
    high: Decimal | None


class PriceInputError(ValueError):
    """Why the typed text is not a usable price range; the message is shown to the renter."""


def parse_price_range(text):
    """A PriceRange from typed text, or PriceInputError with a short reason."""
    text = (text or "").strip()
    if not text or len(text) > MAX_INPUT_LENGTH:
        raise PriceInputError("not a price")

    # "3000-6000" is a range, not 3000 and minus 6000.
    text = RANGE_DASH.sub(r"\1 to \2", text)
    amounts = [
        number_value(token)
        for match in NUMBER.finditer(text)
        for token in numbers_in(match.group())
    ]
    if not amounts or None in amounts or len(amounts) > 2:
        raise PriceInputError("not a price")
    if any(amount < 0 for amount in amounts):
        raise PriceInputError("negative")
    if any(amount > ABSURD_PRICE for amount in amounts):
        raise PriceInputError("absurd")

    # "0" or "0-0" would match nothing: a search that silently never fires.
    if max(amounts) == 0:
        raise PriceInputError("not a price")

    if len(amounts) == 2:
        low, high = amounts
        if low > high:
            raise PriceInputError("min above max")
        return PriceRange(low, high)
    if LOWER_WORDS.search(text) and not UPPER_WORDS.search(text):
        return PriceRange(amounts[0], None)
    return PriceRange(None, amounts[0])


def numbers_in(token):
    """The numbers in a run of digits and spaces: "80 000" is one, "3000 6000" two.

    A space groups thousands where it can ("1 500 000"), unless that makes a number no flat
    costs: then the run is read as two numbers ("80 000 120 000").
    """
    suffix = SUFFIX.search(token)
    body = token[: suffix.start()] if suffix else token
    pieces = [piece for piece in GAP.split(body.strip()) if piece]
    if len(pieces) < 2:
        return [token.strip()]
    if grouped(pieces) and below_absurd(" ".join(pieces) + (suffix[0] if suffix else "")):
        return [token.strip()]

    for cut in range(1, len(pieces)):
        left, right = pieces[:cut], pieces[cut:]
        # A number never starts with a zero: "000" continues the one before it.
        if grouped(left) and grouped(right) and not right[0].startswith("0"):
            return [" ".join(left), " ".join(right) + (suffix[0] if suffix else "")]
    return [*pieces[:-1], pieces[-1] + (suffix[0] if suffix else "")]


def grouped(pieces):
    """Whether space-separated pieces read as one number with its thousands grouped."""
    if len(pieces) == 1:
        return True
    first, *middle, last = pieces
    return (
        FIRST_GROUP.fullmatch(first) is not None
        and all(NEXT_GROUP.fullmatch(piece) for piece in middle)
        and LAST_GROUP.fullmatch(last) is not None
    )


def below_absurd(token):
    value = number_value(token)
    return value is not None and value <= ABSURD_PRICE


def number_value(token):
    """85 000 → 85000; 8k → 8000; a leading minus stays negative."""
    multiplier = 1000 if re.search(r"[kк]|тыс", token, re.I) else 1
    token = re.sub(r"[kк]|тыс", "", token, flags=re.I).strip()
    negative = token.startswith("-")
    amount = parse_amount(token.lstrip("-"))
    if amount is None:
        return None
    amount *= multiplier
    return -amount if negative else amount
