"""Small builders for the rows tests need, with defaults a reader can skip."""

import itertools
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from listings.models import City, District, Listing, Source
from subscriptions.models import SearchFilter, Subscriber, Subscription

_numbers = itertools.count(1)


def city(name="Testville", currency="AED", districts=("Old Town", "Harbour")):
    row, _ = City.objects.get_or_create(
        name=name, defaults={"country": "AE", "currency": currency}
    )
    for district_name in districts:
        District.objects.get_or_create(city=row, name=district_name)
    return row


def district(city_row, name):
    return District.objects.get(city=city_row, name=name)


def source(city_row, adapter="bayut", url="http://127.0.0.1:9/none", **fields):
    n = next(_numbers)
    return Source.objects.create(
        name=f"Source {n}", adapter=adapter, city=city_row, search_url=url, **fields
    )


def listing(source_row, *, price=None, period="month", rooms=None, district_row=None, **fields):
    n = next(_numbers)
    price = Decimal(price) if price is not None else None
    monthly = None
    if price is not None and period == "month":
        monthly = price
    elif price is not None and period == "year":
        monthly = price / 12
    defaults = {
        "source": source_row,
        "external_id": f"ext-{n}",
        "city": source_row.city,
        "url": f"https://listings.example/{n}",
        "title": f"Flat {n}",
        "price": price,
        "currency": source_row.city.currency,
        "period": period,
        "price_per_month": monthly,
        "rooms": rooms,
        "district": district_row,
    }
    return Listing.objects.create(**(defaults | fields))


def subscriber(*, active=True, blocked=False, chat_id=None):
    n = next(_numbers)
    row = Subscriber.objects.create(
        chat_id=chat_id or 10_000 + n,
        user_id=chat_id or 10_000 + n,
        username=f"renter{n}",
        blocked_at=timezone.now() if blocked else None,
    )
    now = timezone.now()
    Subscription.objects.create(
        subscriber=row,
        kind=Subscription.Kind.TRIAL,
        state=Subscription.State.ACTIVE if active else Subscription.State.EXPIRED,
        expires_at=now + timedelta(days=7) if active else now - timedelta(days=1),
    )
    return row


def search(subscriber_row, city_row, *, districts=(), rooms=(), **fields):
    mask = 0
    for room_bit in rooms:
        mask |= 1 << room_bit
    fields = {"is_draft": False} | fields
    row = SearchFilter.objects.create(
        subscriber=subscriber_row, city=city_row, rooms_mask=mask, **fields
    )
    row.districts.set(districts)
    return row
