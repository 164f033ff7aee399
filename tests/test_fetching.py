"""Fetching through the local site: every answer judged, none read as "no new listings"."""

import re

import httpx
import pytest
from asgiref.sync import async_to_sync

from listings.adapters.base import get_adapter
from listings.fetching import fetch_page, make_http_client
from listings.models import FetchRun
from tests.fakes.proxy import ForwardProxy
from tests.pages import load_page

PAGE = "kleinanzeigen/search_rent_berlin_2026.html"
KRISHA = "krisha/search_rent_almaty-medeu_2022-11.html"
CAPTCHA = "<html><body><h1>Please verify you are human</h1><div class='g-recaptcha'></div>"


def fetch(url, **client_options):
    async def run():
        async with make_http_client() as client:
            if client_options:
                client.timeout = httpx.Timeout(**client_options)
            return await fetch_page(client, url)

    return async_to_sync(run)()


def test_a_saved_page_is_fetched_whole_and_decoded(fake_site):
    result = fetch(fake_site.url(PAGE))

    assert result.state == FetchRun.State.OK
    assert result.page.content_type == "text/html"
    assert "Neukölln" in result.page.text


@pytest.mark.parametrize(
    ("status", "body", "headers", "state"),
    [
        (200, CAPTCHA, {"Content-Type": "text/html"}, FetchRun.State.BLOCKED),
        (403, "Forbidden", {}, FetchRun.State.BLOCKED),
        (429, "Slow down", {"Retry-After": "120"}, FetchRun.State.BLOCKED),
        (503, "Unavailable", {}, FetchRun.State.TEMPORARY),
        (404, "Not found", {}, FetchRun.State.BROKEN),
    ],
)
def test_each_kind_of_refusal_has_its_own_state(fake_site, status, body, headers, state):
    fake_site.route("/search", status=status, body=body, headers=headers)

    result = fetch(fake_site.url("/search"))

    assert result.state == state
    assert result.page is None


def test_a_slow_site_is_a_temporary_failure(fake_site):
    fake_site.route("/slow", body="late", delay=1.0)

    result = fetch(fake_site.url("/slow"), timeout=0.2)

    assert result.state == FetchRun.State.TEMPORARY
    assert "timeout" in result.error


def test_a_page_in_a_legacy_charset_is_decoded_by_its_meta_tag(fake_site):
    html = '<html><head><meta charset="windows-1251"></head><body>Квартира</body></html>'
    fake_site.route("/cp1251", body=html.encode("cp1251"), headers={"Content-Type": "text/html"})

    result = fetch(fake_site.url("/cp1251"))

    assert "Квартира" in result.page.text


@pytest.mark.parametrize("charset", ["cp1251", "koi8_r"])
def test_a_page_that_names_no_charset_is_decoded_by_what_its_bytes_are(fake_site, charset):
    saved = load_page(KRISHA)
    undeclared = re.sub(r"<meta[^>]*charset[^>]*>", "", saved.text, flags=re.IGNORECASE)
    body = undeclared.encode(charset, errors="replace")
    fake_site.route("/legacy", body=body, headers={"Content-Type": "text/html"})

    result = fetch(fake_site.url("/legacy"))

    titles = [record.title for record in get_adapter("krisha").parse(result.page).listings]
    # A character the legacy charset lacks (such as "²" in cp1251) was lost in the encoding.
    expected = [
        record.title.encode(charset, errors="replace").decode(charset)
        for record in get_adapter("krisha").parse(saved).listings
    ]
    assert titles == expected
    assert any("квартира" in title for title in titles)


def test_an_accepted_but_empty_answer_is_broken_not_empty(fake_site):
    fake_site.route("/search", status=202, body=b"")

    result = fetch(fake_site.url("/search"))

    assert result.state == FetchRun.State.BROKEN
    assert "HTTP 202" in result.error


def test_a_host_that_refuses_connections_is_a_temporary_failure():
    # Port 9 (discard) on loopback: nothing listens there on these machines.
    result = fetch("http://127.0.0.1:9/search")

    assert result.state == FetchRun.State.TEMPORARY
    assert "network error" in result.error or "timeout" in result.error


def test_pages_are_fetched_through_the_configured_proxy(fake_site, settings):
    with ForwardProxy() as proxy:
        settings.FETCH_PROXY = proxy.url
        settings.FETCH_USER_AGENT = "Rentwatch-test/1.0"

        result = fetch(fake_site.url(PAGE))

    assert result.state == FetchRun.State.OK and "Neukölln" in result.page.text
    assert proxy.relayed == [fake_site.url(PAGE)]
    _, _, headers = fake_site.requests[-1]
    assert headers["User-Agent"] == "Rentwatch-test/1.0"


def test_a_proxy_that_is_down_is_a_temporary_failure(fake_site, settings):
    settings.FETCH_PROXY = "http://127.0.0.1:9"

    result = fetch(fake_site.url(PAGE))

    assert result.state == FetchRun.State.TEMPORARY
    assert fake_site.requests == []
