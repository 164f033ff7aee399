"""A listing already sent that gets cheaper is announced again, once per drop, if wanted."""

from decimal import Decimal

import pytest

from listings.adapters.base import ParsedListing
from listings.storing import RunOutcome, record_run
from subscriptions.models import Delivery
from tests import factories as make

pytestmark = pytest.mark.django_db


def run_with_price(source, price):
    flat = ParsedListing(
        external_id="flat-1",
        url="https://listings.example/flat-1",
        title="Flat",
        price=Decimal(price),
        currency="AED",
        period="month",
    )
    return record_run(source.pk, RunOutcome("ok", [flat], 1), 0.1)


def told(renter):
    Delivery.objects.filter(subscriber=renter).update(state=Delivery.State.SENT)


def drops(renter):
    return Delivery.objects.filter(subscriber=renter, kind=Delivery.Kind.PRICE_DROP)


def test_each_drop_is_announced_once_to_those_already_told(city, source):
    renter, latecomer = make.subscriber(), make.subscriber()
    make.search(renter, city)
    run_with_price(source, 9000)
    told(renter)
    make.search(latecomer, city)

    run_with_price(source, 8500)
    run_with_price(source, 8500)
    run_with_price(source, 8000)

    assert [d.price_change.new_price for d in drops(renter).order_by("pk")] == [8500, 8000]
    assert not drops(latecomer).exists(), "never told of the flat, so not of its price"


def test_a_rise_is_not_announced(city, source):
    renter = make.subscriber()
    make.search(renter, city)
    run_with_price(source, 9000)
    told(renter)

    run_with_price(source, 9500)

    assert not drops(renter).exists()


def test_a_renter_who_switched_drops_off_hears_nothing(city, source):
    renter = make.subscriber()
    make.search(renter, city, notify_price_drops=False)
    run_with_price(source, 9000)
    told(renter)

    run_with_price(source, 8000)

    assert not drops(renter).exists()
