"""The parser's unit of work: claim a due source, fetch, parse, store, judge the run."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from listings import component
from listings.component import ParserComponent, same_site_or_none
from listings.fetching import Fetcher, make_http_client
from listings.models import FetchRun, Listing, Source
from subscriptions.models import Delivery
from telegram_bot.client import make_bot
from tests import factories as make
from tests.pages import FIXTURES_DIR

pytestmark = pytest.mark.django_db

PAGE = "kleinanzeigen/search_rent_berlin_2026.html"


@pytest.fixture
def berlin():
    return make.city(name="Berlin", currency="EUR", districts=("Neukölln", "Mitte"))


def parse_one(with_bot=False):
    """One unit of the parser's work, with its real HTTP stack (and a Bot for staff alerts)."""

    async def run():
        async with make_http_client() as client:
            parser = ParserComponent()
            parser.fetcher, parser.bot = Fetcher(client), None
            if not with_bot:
                return await parser.parse_one_due_source()
            async with make_bot() as parser.bot:
                return await parser.parse_one_due_source()

    return async_to_sync(run)()


def test_a_due_source_is_fetched_parsed_and_stored(fake_site, berlin, settings):
    settings.PARSER_MAX_PAGES = 1
    make.source(berlin, adapter="kleinanzeigen", url=fake_site.url(PAGE))
    renter = make.subscriber()
    make.search(renter, berlin, districts=[make.district(berlin, "Neukölln")], price_max=1000)

    assert parse_one()

    run = FetchRun.objects.get()
    assert (run.state, run.pages, run.found, run.new) == ("ok", 1, 26, 26)
    delivered = Listing.objects.filter(deliveries__subscriber=renter)
    assert {listing.external_id for listing in delivered} == {
        "3256427478",
        "3256452186",
        "3389854573",
        "3335060699",
    }
    assert not parse_one(), "the source is not due again before its interval"


def test_the_furnishing_a_page_states_is_stored_and_matched(fake_site, berlin, settings):
    settings.PARSER_MAX_PAGES = 1
    make.source(berlin, adapter="kleinanzeigen", url=fake_site.url(PAGE))
    renter = make.subscriber()
    make.search(renter, berlin, furnishing="unfurnished")

    parse_one()

    # Ten ads say "möbliert" or "furnished"; the other sixteen say nothing either way.
    assert Listing.objects.filter(furnishing="furnished").count() == 10
    delivered = Listing.objects.filter(deliveries__subscriber=renter)
    assert delivered.count() == 16
    assert not delivered.filter(furnishing="furnished").exists()


def test_a_failing_later_page_keeps_the_first_pages_listings(fake_site, berlin, settings):
    settings.PARSER_MAX_PAGES = 3
    make.source(berlin, adapter="kleinanzeigen", url=fake_site.url(PAGE))

    parse_one()

    # The saved page's "next" link leads to a page 2 this site does not have.
    run = FetchRun.objects.get()
    assert (run.state, run.pages, run.new) == ("ok", 2, 26)
    assert "page 2: HTTP 404" in run.error


@pytest.mark.parametrize(
    ("status", "body", "state"),
    [
        (200, "<html><body>Please solve this captcha</body></html>", Source.State.BLOCKED),
        (200, "<html><body>No cards here</body></html>", Source.State.BROKEN),
        (503, "down", Source.State.DEGRADED),
    ],
)
def test_a_failed_run_marks_the_source_and_stores_nothing(fake_site, berlin, status, body, state):
    fake_site.route("/search", status=status, body=body, headers={"Content-Type": "text/html"})
    source = make.source(berlin, adapter="kleinanzeigen", url=fake_site.url("/search"))
    make.search(make.subscriber(), berlin)

    parse_one()

    source.refresh_from_db()
    assert source.state == state
    assert source.consecutive_failures == 1
    assert source.last_error
    assert not Listing.objects.exists()
    assert not Delivery.objects.exists()


def test_pagination_never_leaves_the_watched_site():
    search = "http://127.0.0.1:8000/search"

    assert same_site_or_none("http://127.0.0.1:8000/search?page=2", search)
    assert same_site_or_none("https://www.pararius.nl/huurwoningen/delft/page-2", search) is None
    assert same_site_or_none(None, search) is None


def test_a_next_page_link_back_to_the_same_page_is_not_followed(fake_site, berlin, settings):
    settings.PARSER_MAX_PAGES = 5
    page_two = "s-wohnung-mieten/berlin/seite:2/c203l3331"  # where the page's "next" points
    fake_site.route(
        page_two,
        body=(FIXTURES_DIR / PAGE).read_bytes(),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    make.source(berlin, adapter="kleinanzeigen", url=fake_site.url(page_two))

    parse_one()

    run = FetchRun.objects.get()
    assert (run.state, run.pages, run.new) == ("ok", 1, 26)
    assert fake_site.hits(page_two) == 1


def test_an_unchanged_page_is_not_downloaded_again(fake_site, berlin):
    source = make.source(berlin, adapter="kleinanzeigen", url=fake_site.url(PAGE))
    parse_one()
    Source.objects.filter(pk=source.pk).update(next_run_at=timezone.now())

    parse_one()

    conditional = fake_site.requests[-1][2]
    assert conditional.get("If-None-Match")
    second = FetchRun.objects.order_by("-pk").first()
    assert (second.state, second.found, second.new) == ("ok", 0, 0)
    assert Listing.objects.filter(removed_at__isnull=True).count() == 26


def test_retry_after_holds_the_source_back_as_long_as_the_site_asked(fake_site, berlin):
    fake_site.route("/search", status=429, body="slow down", headers={"Retry-After": "120"})
    source = make.source(berlin, adapter="kleinanzeigen", url=fake_site.url("/search"))

    parse_one()

    source.refresh_from_db()
    assert source.state == Source.State.BLOCKED
    assert source.next_run_at >= timezone.now() + timedelta(seconds=110)
    assert fake_site.hits("/search") == 1, "a refusal is not retried at once"


def test_a_server_error_is_retried_within_the_run(fake_site, berlin):
    fake_site.route(PAGE, status=503, body="busy", times=2)
    make.source(berlin, adapter="kleinanzeigen", url=fake_site.url(PAGE))

    parse_one()

    assert fake_site.hits(PAGE) == 3
    assert FetchRun.objects.get().state == FetchRun.State.OK


def test_only_an_ok_run_marks_long_unseen_listings_removed(fake_site, berlin, settings):
    settings.PARSER_MAX_PAGES = 1
    source = make.source(berlin, adapter="kleinanzeigen", url=fake_site.url(PAGE))
    old = make.listing(source, price=500, external_id="sold-long-ago")
    Listing.objects.filter(pk=old.pk).update(
        last_seen_at=timezone.now() - timedelta(hours=settings.LISTING_REMOVED_AFTER_HOURS + 1)
    )
    fake_site.route(PAGE, status=200, body="<html>No cards</html>", times=1)

    parse_one()  # broken: proves nothing about the flat
    assert Listing.objects.get(pk=old.pk).removed_at is None

    Source.objects.filter(pk=source.pk).update(next_run_at=timezone.now())
    parse_one()  # ok, and the flat is not on the page
    assert Listing.objects.get(pk=old.pk).removed_at is not None


def test_a_reposted_flat_is_recognised_and_not_announced_again(fake_site, berlin, settings):
    settings.PARSER_MAX_PAGES = 1
    source = make.source(berlin, adapter="kleinanzeigen", url=fake_site.url(PAGE))
    parse_one()
    renter = make.subscriber()
    make.search(renter, berlin)
    original = Listing.objects.get(external_id="3256427478")
    original.external_id = "3256427478-old"  # as if the agent had deleted and reposted it
    original.save()
    Source.objects.filter(pk=source.pk).update(
        next_run_at=timezone.now(), etag="", last_modified=""
    )

    parse_one()

    repost = Listing.objects.get(external_id="3256427478")
    assert repost.repost_of == original
    assert not Delivery.objects.filter(listing=repost).exists()


def test_staff_hear_once_when_a_source_keeps_failing_and_once_when_it_recovers(
    fake_site, berlin, settings, telegram_settings, fake_telegram
):
    settings.TELEGRAM_STAFF_IDS = [900]
    settings.SOURCE_ALERT_AFTER_FAILURES = 3
    source = make.source(berlin, adapter="kleinanzeigen", url=fake_site.url(PAGE))
    fake_site.route(PAGE, status=403, body="no", times=4)

    for _ in range(5):
        Source.objects.filter(pk=source.pk).update(next_run_at=timezone.now())
        parse_one(with_bot=True)

    alerts = [m["text"] for m in fake_telegram.messages(900)]
    assert len(alerts) == 2
    assert "failed 3 runs in a row" in alerts[0] and source.name in alerts[0]
    assert "works again" in alerts[1]


def test_a_run_that_cannot_be_stored_gives_its_source_back(fake_site, berlin, monkeypatch):
    source = make.source(berlin, adapter="kleinanzeigen", url=fake_site.url(PAGE))

    def database_gone(*args):
        raise RuntimeError("the database went away while storing")

    monkeypatch.setattr(component, "record_run", database_gone)
    with pytest.raises(RuntimeError):
        parse_one()

    source.refresh_from_db()
    assert source.claimed_at is None, "the next run may take it at once"
