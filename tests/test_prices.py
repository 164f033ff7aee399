"""Reading prices, rooms, areas and furnishing from the text sites print: one table per reader."""

from decimal import Decimal

import pytest

from listings.prices import (
    monthly_price,
    parse_area,
    parse_furnishing,
    parse_price,
    parse_rooms,
)


@pytest.mark.parametrize(
    ("text", "amount", "currency", "period"),
    [
        ("AED 85,000 yearly", "85000", "AED", "year"),
        ("85\u00a0000 AED/year", "85000", "AED", "year"),
        ("1 298,00 €", "1298.00", "EUR", ""),
        ("1\u202f298,00 €", "1298.00", "EUR", ""),
        ("€ 1.250 /maand", "1250", "EUR", "month"),
        ("1.250 € VB", "1250", "EUR", ""),
        ("1.250,50 €", "1250.50", "EUR", ""),
        ("1,250.50 USD", "1250.50", "USD", ""),
        ("85 000 ₸/мес.", "85000", "KZT", "month"),
        ("3.500.000 zł", "3500000", "PLN", ""),
        ("1'250 CHF pro Monat", "1250", "", "month"),
        ("650 EUR weekly", "650", "EUR", "week"),
        ("8k", "8000", "", ""),
        ("по договорённости", None, "", ""),
        ("Price on request", None, "", ""),
        ("Preis auf Anfrage", None, "", ""),
        ("VB", None, "", ""),
        ("", None, "", ""),
        ("1.2.3,4,5", None, "", ""),
    ],
)
def test_price_text(text, amount, currency, period):
    price = parse_price(text)

    assert price.amount == (Decimal(amount) if amount else None)
    assert (price.currency, price.period, price.text) == (currency, period, text)


def test_defaults_fill_what_the_text_does_not_say():
    price = parse_price("1.390 €", default_currency="AED", default_period="month")

    assert (price.currency, price.period) == ("EUR", "month")


@pytest.mark.parametrize(
    ("amount", "period", "monthly"),
    [
        ("1200", "month", "1200"),
        ("120000", "year", "10000.00"),
        ("100", "day", "3000"),
        ("300", "week", "1300.00"),
        ("900", "", "900"),
        ("2500000", "once", None),
        (None, "month", None),
    ],
)
def test_monthly_equivalent(amount, period, monthly):
    result = monthly_price(Decimal(amount) if amount else None, period)

    assert result == (Decimal(monthly) if monthly else None)


@pytest.mark.parametrize(
    ("text", "rooms"),
    [
        ("Studio", 0),
        ("2.5 Zimmer", 2),
        ("2,5 Zi.", 2),
        ("3-комнатная квартира", 3),
        ("1-к квартира", 1),
        ("2 kamers", 2),
        ("86,01 m² · 2 Zi. · Online-Besichtigung", 2),
        ("Balcony, sea view", None),
    ],
)
def test_rooms(text, rooms):
    assert parse_rooms(text) == rooms


@pytest.mark.parametrize(
    ("text", "area"),
    [("79 m²", "79"), ("55,5 m²", "55.5"), ("45 кв.м", "45"), ("60 qm", "60"), ("big", None)],
)
def test_area(text, area):
    assert parse_area(text) == (Decimal(area) if area else None)


@pytest.mark.parametrize(
    ("text", "furnishing"),
    [
        ("furnished", "furnished"),
        ("Fully Furnished | Family-Oriented", "furnished"),
        ("unfurnished", "unfurnished"),
        ("Semi-Furnished 2BR", "partly"),
        ("Möblierte Wohnung - Typ: Komfort", "furnished"),
        ("Unmöblierte 2-Zimmer-Wohnung", "unfurnished"),
        ("teilmöbliert, mit Einbauküche", "partly"),
        ("Gemeubileerd", "furnished"),
        ("Gestoffeerd", "partly"),
        ("Gestoffeerd of gemeubileerd", "partly"),  # either: fits both wishes
        ("Kaal", "unfurnished"),
        ("Mieszkanie umeblowane", "furnished"),
        ("mieszkanie nieumeblowane", "unfurnished"),
        ("полностью меблирована", "furnished"),
        ("квартира без мебели", "unfurnished"),
        ("Namešten dvosoban stan", "furnished"),
        ("Izdajem polunamešten stan", "partly"),
        ("Balcony, sea view", ""),
        ("", ""),
    ],
)
def test_furnishing(text, furnishing):
    assert parse_furnishing(text) == furnishing
