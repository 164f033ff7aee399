"""The parser's unit of work: claim a due source, fetch, parse, store, judge the run."""

import pytest
from asgiref.sync import async_to_sync

from listings.component import ParserComponent, same_site_or_none
from listings.fetching import make_http_client
from listings.models import FetchRun, Listing, Source
from subscriptions.models import Delivery
from tests import factories as make

pytestmark = pytest.mark.django_db

PAGE = "kleinanzeigen/search_rent_berlin_2026.html"


@pytest.fixture
def berlin():
    return make.city(name="Berlin", currency="EUR", districts=("Neukölln", "Mitte"))


def parse_one():
    async def run():
        async with make_http_client() as client:
            return await ParserComponent().parse_one_due_source(client)

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


def test_the_page_cap_stops_a_site_whose_next_link_leads_back(fake_site, berlin, settings):
    settings.PARSER_MAX_PAGES = 3
    make.source(berlin, adapter="kleinanzeigen", url=fake_site.url(PAGE))

    parse_one()

    # The saved page's "next" link points at the real site's page 2, which this site lacks.
    run = FetchRun.objects.get()
    assert run.pages == 2
    assert run.state == FetchRun.State.BROKEN
    assert not Listing.objects.exists(), "a run that went wrong stores nothing"


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
