"""The local listing site serves the saved pages over real HTTP, and answers as a test tells it."""

import httpx
import pytest

from tests.fakes.site import FakeSite
from tests.pages import FIXTURES_DIR

PAGE = "kleinanzeigen/search_rent_berlin_2026.html"


@pytest.fixture
def site():
    with FakeSite(FIXTURES_DIR) as site:
        yield site


def test_it_serves_a_saved_page_as_saved(site):
    response = httpx.get(site.url(PAGE) + "?page=2")

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.content == (FIXTURES_DIR / PAGE).read_bytes()
    assert site.requests[-1][:2] == ("GET", "/" + PAGE + "?page=2")
    assert site.hits(PAGE) == 1


def test_json_pages_say_they_are_json(site):
    response = httpx.head(site.url("bayut/search-api-hits_rent_dubai_2022-09.json"))

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == b""


def test_a_route_answers_429_with_retry_after_for_the_next_request_only(site):
    site.route(PAGE, status=429, body="slow down", headers={"Retry-After": "7"}, times=1)

    with httpx.Client() as client:
        limited = client.get(site.url(PAGE))
        served = client.get(site.url(PAGE))

    assert (limited.status_code, limited.headers["retry-after"], limited.text) == (
        429,
        "7",
        "slow down",
    )
    assert served.status_code == 200
    assert site.hits(PAGE) == 2


def test_a_route_can_stand_for_a_page_that_is_not_a_file(site):
    site.route("/api/search?city=berlin", body='{"ads": []}')

    assert httpx.get(site.url("/api/search?city=berlin")).json() == {"ads": []}
    assert httpx.get(site.url("/api/search?city=delft")).status_code == 404


def test_a_conditional_get_of_an_unchanged_page_is_not_modified(site):
    first = httpx.get(site.url(PAGE))

    by_etag = httpx.get(site.url(PAGE), headers={"If-None-Match": first.headers["etag"]})
    by_date = httpx.get(
        site.url(PAGE), headers={"If-Modified-Since": first.headers["last-modified"]}
    )
    changed = httpx.get(site.url(PAGE), headers={"If-None-Match": '"something-else"'})

    assert (by_etag.status_code, by_etag.content) == (304, b"")
    assert by_etag.headers["etag"] == first.headers["etag"]
    assert by_date.status_code == 304
    assert changed.status_code == 200


def test_paths_outside_the_fixtures_are_not_found(site):
    assert httpx.get(site.url("missing.html")).status_code == 404
    assert httpx.get(site.base_url + "/..%2F..%2Fmain%2Fmanage.py").status_code == 404
