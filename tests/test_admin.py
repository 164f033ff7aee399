"""Django admin: every model has a working list and form for staff; strangers must log in."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from listings.models import FetchRun, Source
from subscriptions.models import Broadcast, BroadcastMessage, Delivery
from tests import factories as make

pytestmark = pytest.mark.django_db

OUR_APPS = {"listings", "subscriptions", "runtime"}
# Derived rows nobody edits: written from the search they belong to.
INTERNAL_MODELS = {"subscriptions.SearchSlot"}


def our_models():
    return [
        model
        for model in apps.get_models()
        if model._meta.app_label in OUR_APPS and model._meta.label not in INTERNAL_MODELS
    ]


@pytest.fixture
def some_rows():
    city = make.city()
    source = make.source(city)
    renter = make.subscriber()
    make.search(renter, city, districts=[make.district(city, "Harbour")])
    make.listing(source, price=9000, title="<script>alert(1)</script> flat")


def test_every_model_is_registered():
    assert all(admin.site.is_registered(model) for model in our_models())


@pytest.mark.parametrize("model", our_models(), ids=lambda m: m._meta.label)
def test_every_list_and_add_page_renders_for_staff(admin_client, some_rows, model):
    meta = model._meta
    changelist = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")

    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(changelist, {"q": "flat"}).status_code == 200


def test_listing_text_from_sites_is_escaped_in_admin(admin_client, some_rows):
    page = admin_client.get(reverse("admin:listings_listing_changelist")).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt; flat" in page
    assert "<script>alert(1)</script>" not in page


def test_run_now_makes_a_source_due(admin_client, some_rows):
    source = Source.objects.get()
    Source.objects.update(next_run_at=timezone.now() + timedelta(hours=1))
    changelist = reverse("admin:listings_source_changelist")

    admin_client.post(changelist, {"action": "run_now", "_selected_action": [source.pk]})

    source.refresh_from_db()
    assert source.next_run_at <= timezone.now()


def test_admin_asks_strangers_to_log_in(client):
    response = client.get(reverse("admin:listings_listing_changelist"))

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def act(admin_client, model, action, rows):
    changelist = reverse(f"admin:subscriptions_{model}_changelist")
    return admin_client.post(
        changelist, {"action": action, "_selected_action": [row.pk for row in rows]}
    )


def test_staff_extend_access_from_the_current_end(admin_client):
    renter = make.subscriber()
    trial = renter.subscriptions.get()
    end = trial.expires_at

    act(admin_client, "subscriber", "extend_30_days", [renter])

    trial.refresh_from_db()
    assert trial.expires_at == end + timedelta(days=30)


def test_staff_extend_an_expired_subscriber_from_now(admin_client):
    lapsed = make.subscriber(active=False)

    act(admin_client, "subscription", "extend_7_days", list(lapsed.subscriptions.all()))

    current = lapsed.subscriptions.get(state="active")
    assert current.expires_at - timezone.now() > timedelta(days=6, hours=23)


def test_staff_end_access_now(admin_client):
    renter = make.subscriber()

    act(admin_client, "subscriber", "expire_now", [renter])

    assert renter.subscriptions.get().expires_at <= timezone.now()


def test_subscriptions_filter_by_expiry_window(admin_client):
    soon, later = make.subscriber(), make.subscriber()
    later.subscriptions.update(expires_at=timezone.now() + timedelta(days=20))

    page = admin_client.get(
        reverse("admin:subscriptions_subscription_changelist"), {"expires": "7"}
    ).content.decode()

    assert soon.username in page and later.username not in page


def test_staff_send_failed_deliveries_again(admin_client):
    renter = make.subscriber()
    source = make.source(make.city())
    failed = Delivery.objects.create(
        subscriber=renter,
        listing=make.listing(source, price=1),
        state=Delivery.State.FAILED,
        attempts=8,
        last_error="Bad Gateway",
    )
    sent = Delivery.objects.create(
        subscriber=renter, listing=make.listing(source, price=2), state=Delivery.State.SENT
    )

    act(admin_client, "delivery", "send_again", [failed, sent])

    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.state, failed.attempts) == (Delivery.State.PENDING, 0)
    assert sent.state == Delivery.State.SENT, "a sent one is never sent twice"


def test_staff_send_chosen_subscribers_a_message(admin_client):
    rita, oleg, gone = make.subscriber(), make.subscriber(), make.subscriber(blocked=True)
    changelist = reverse("admin:subscriptions_subscriber_changelist")
    chosen = {"action": "send_message", "_selected_action": [rita.pk, gone.pk]}

    form = admin_client.post(changelist, chosen)
    assert "Send a message" in form.content.decode()
    admin_client.post(changelist, chosen | {"send": "Send", "text": "Back <soon> & better"})

    copies = BroadcastMessage.objects.all()
    assert [copy.subscriber_id for copy in copies] == [rita.pk]
    assert copies[0].broadcast.text == "Back <soon> & better"
    assert not BroadcastMessage.objects.filter(subscriber=oleg).exists()


def test_staff_broadcast_from_admin_to_an_audience_and_watch_it_go(admin_client):
    dubai, berlin = make.city(name="Dubai"), make.city(name="Berlin", currency="EUR")
    trial_in_dubai, trial_in_berlin = make.subscriber(), make.subscriber()
    make.search(trial_in_dubai, dubai)
    make.search(trial_in_berlin, berlin)
    lapsed_in_dubai = make.subscriber(active=False)
    make.search(lapsed_in_dubai, dubai)

    admin_client.post(
        reverse("admin:subscriptions_broadcast_add"),
        {"text": "Dubai Marina now watched", "audience": "trial", "city": dubai.pk},
    )

    broadcast = Broadcast.objects.get()
    assert [copy.subscriber_id for copy in broadcast.messages.all()] == [trial_in_dubai.pk]
    broadcast.messages.update(state=BroadcastMessage.State.SENT)
    page = admin_client.get(reverse("admin:subscriptions_broadcast_changelist")).content
    assert b'<td class="field-sent">1</td>' in page
    assert b'<td class="field-remaining">0</td>' in page


def test_listings_show_a_thumbnail_and_the_price_with_its_period(admin_client):
    source = make.source(make.city())
    make.listing(
        source,
        price=85_000,
        period="year",
        photo_urls=['https://photos.invalid/1.jpg?a=1&b="2"', "https://photos.invalid/2.jpg"],
    )
    make.listing(source, price=None, photo_urls=["javascript:alert(1)"])

    page = admin_client.get(reverse("admin:listings_listing_changelist")).content.decode()

    assert '<img src="https://photos.invalid/1.jpg?a=1&amp;b=&quot;2&quot;"' in page
    assert "javascript:" not in page
    assert "85,000 AED / year" in page


def test_sources_show_what_their_last_run_found_and_their_error(admin_client):
    source = make.source(make.city(), state="broken", last_error="no cards on <the> page")
    FetchRun.objects.create(source=source, state="ok", found=26, new=4)

    page = admin_client.get(reverse("admin:listings_source_changelist")).content.decode()

    assert '<td class="field-last_run">26 / 4</td>' in page
    assert "no cards on &lt;the&gt; page" in page
