"""Upgrading a database that already holds searches keeps them matching: the migration that
gave slots their present shape writes the slots of every search."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from subscriptions.matching import match_new_listings
from subscriptions.models import Delivery
from tests import factories as make

BEFORE = ("subscriptions", "0011_broadcast_audience")


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target or executor.loader.graph.leaf_nodes())
    return executor.loader.project_state(target).apps if target else None


def make_old_search(old_apps, city_id, **fields):
    subscriber_model = old_apps.get_model("subscriptions", "Subscriber")
    subscription_model = old_apps.get_model("subscriptions", "Subscription")
    search_model = old_apps.get_model("subscriptions", "SearchFilter")

    renter = subscriber_model.objects.create(chat_id=fields.pop("chat_id"), user_id=1)
    subscription_model.objects.create(
        subscriber=renter,
        kind="trial",
        state="active",
        expires_at=timezone.now() + timezone.timedelta(days=7),
    )
    return search_model.objects.create(
        subscriber=renter, city_id=city_id, is_draft=False, **fields
    )


@pytest.mark.django_db(transaction=True)
def test_searches_saved_before_the_upgrade_keep_matching_after_it():
    city = make.city()
    source = make.source(city)
    old_apps = migrate([BEFORE])
    try:
        wanted = make_old_search(
            old_apps, city.pk, chat_id=501, price_max=Decimal(9_000), furnishing="furnished"
        )
        make_old_search(old_apps, city.pk, chat_id=502, is_paused=True)
        make_old_search(old_apps, city.pk, chat_id=503, furnishing="unfurnished")
    finally:
        migrate(None)
    listing = make.listing(source, price=8_000, furnishing="furnished")

    match_new_listings([listing.pk])

    delivered = Delivery.objects.values_list("subscriber__chat_id", "search_filter_id")
    assert list(delivered) == [(501, wanted.pk)]
