"""What a renter may type as a price range, and what earns them a correction instead."""

from decimal import Decimal

import pytest

from telegram_bot.price_input import PriceInputError, parse_price_range


@pytest.mark.parametrize(
    ("typed", "low", "high"),
    [
        ("3000-6000", 3000, 6000),
        ("до 80000", None, 80000),
        ("до 80 000", None, 80000),
        ("from 1000 to 2000", 1000, 2000),
        ("8k", None, 8000),
        ("3k-6k", 3000, 6000),
        ("80 000 – 120 000", 80000, 120000),
        ("up to 9000", None, 9000),
        ("from 1500", 1500, None),
        ("5000+", 5000, None),
        ("8k+", 8000, None),
        ("50 тыс", None, 50000),
        ("1 500 000", None, 1500000),
        ("1 298,00", None, Decimal("1298.00")),
    ],
)
def test_a_typed_range_is_understood(typed, low, high):
    price = parse_price_range(typed)

    assert (price.low, price.high) == (
        None if low is None else Decimal(low),
        None if high is None else Decimal(high),
    )


@pytest.mark.parametrize(
    ("typed", "low", "high"),
    [
        ("3000 6000", 3000, 6000),
        ("3000, 6000", 3000, 6000),
        ("3 000 6 000", 3000, 6000),
        ("500 1000", 500, 1000),
        ("80 000 120 000", 80000, 120000),
        ("2 000 000 3 000 000", 2000000, 3000000),
        ("3k 6k", 3000, 6000),
    ],
)
def test_two_numbers_with_only_a_space_between_are_a_range(typed, low, high):
    price = parse_price_range(typed)

    assert (price.low, price.high) == (Decimal(low), Decimal(high))


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("cheap", "not a price"),
        ("", "not a price"),
        ("0", "not a price"),
        ("0-0", "not a price"),
        ("-500", "negative"),
        ("9000-3000", "min above max"),
        ("99999999999", "absurd"),
        ("3000 6000 9000", "not a price"),
        ("6000 3000", "min above max"),
    ],
)
def test_nonsense_is_refused_with_a_reason(typed, reason):
    with pytest.raises(PriceInputError, match=reason):
        parse_price_range(typed)
