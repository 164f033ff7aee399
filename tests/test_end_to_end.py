"""End to end: `manage.py runall` as an operator runs it, a renter in Telegram, a real page.

The renter builds a search by pressing buttons; the parser then fetches Bayut's saved rental
page from the local site; the renter receives exactly the listings that match, once each.
"""

import pytest

from listings.adapters.base import get_adapter
from tests.e2e import Runall, command_env, manage
from tests.pages import load_page

pytestmark = pytest.mark.e2e

PAGE = "bayut/search-api-hits_rent_dubai_2022-09.json"
CHAT = 7001


def expected_urls(district_names, rooms):
    """What a person reading the saved page would pick out by hand: the independent answer."""
    listings = get_adapter("bayut").parse(load_page(PAGE)).listings
    return {
        listing.url
        for listing in listings
        if listing.rooms in rooms and set(listing.locations) & set(district_names)
    }


def test_a_renter_receives_exactly_the_matching_listings_once(
    request, tmp_path, fresh_database, fake_telegram, fake_site
):
    env = command_env(
        DATABASE_URL=fresh_database,
        TELEGRAM_BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_BASE_URL=fake_telegram.base_url,
        TELEGRAM_POLL_TIMEOUT=1,
        PARSER_IDLE_SECONDS=0.3,
        WORKER_TICK_SECONDS=1,
        FETCH_HOST_DELAY_SECONDS=0,
        LOG_LEVEL="DEBUG",
    )
    manage(env, "migrate", "--verbosity", "0")
    source = ["Bayut Dubai", "--adapter", "bayut", "--city", "Dubai", "--url", fake_site.url(PAGE)]
    manage(env, "add_source", *source, "--disabled")
    runall = Runall(env, tmp_path / "runall.log")
    request.addfinalizer(lambda: print("runall's log:\n" + runall.output()))
    try:
        build_search(fake_telegram)
        manage(env, "add_source", *source)  # now switched on: the parser takes it at once

        wanted = expected_urls({"Downtown Dubai", "Dubai Marina"}, rooms={1, 2})
        assert len(wanted) >= 2, "the page should hold several matching listings"
        fake_telegram.wait_for(
            lambda: len(listing_messages(fake_telegram)) >= len(wanted),
            timeout=30,
            message=f"{len(wanted)} listings reach the renter",
        )
        exit_code, took = runall.terminate()
    finally:
        runall.stop()

    received = [
        url for message in listing_messages(fake_telegram) for url in message_urls(message)
    ]
    assert sorted(received) == sorted(wanted), "each matching listing once, nothing else"
    assert exit_code == 0
    assert took < 10
    log = runall.output()
    assert "source=Bayut Dubai state=ok" in log
    assert fake_telegram.token not in log


def build_search(fake_telegram):
    """Play the renter: /start, then a search for 1-2 rooms in two districts of Dubai."""
    fake_telegram.send_message(CHAT, "/start")
    fake_telegram.wait_for_message(CHAT, "trial", timeout=30)
    for button in ["New search", "Dubai", "Rent"]:
        fake_telegram.press(CHAT, button)
    for district in ["Downtown Dubai", "Dubai Marina"]:
        press_district(fake_telegram, district)
    for button in ["Done", "Any price", "1", "2", "Done", "Save"]:
        fake_telegram.press(CHAT, button)
    fake_telegram.wait_for_message(CHAT, "Saved")


def press_district(fake_telegram, name):
    """Page through the district list until `name` shows, then press it."""
    fake_telegram.wait_for_message(CHAT, "Which districts")
    for _ in range(10):
        shown = [text for text, _ in fake_telegram.last_message(CHAT)["buttons"]]
        if name in shown:
            fake_telegram.press(CHAT, name)
            fake_telegram.wait_for(
                lambda: f"✅ {name}" in dict(fake_telegram.last_message(CHAT)["buttons"]),
                message=f"{name} is ticked",
            )
            return
        page = next(text for text in shown if "/" in text and text[0].isdigit())
        fake_telegram.press(CHAT, "▶")
        fake_telegram.wait_for(
            lambda page=page: page not in dict(fake_telegram.last_message(CHAT)["buttons"]),
            message="the next page of districts",
        )
    raise AssertionError(f"district {name} is not offered")


def listing_messages(fake_telegram):
    """The bot's messages that carry a listing: those with a button opening one."""
    return [m for m in fake_telegram.messages(CHAT) if message_urls(m)]


def message_urls(message):
    return [url for _, url in message["buttons"] if url and "bayut.com/property" in url]
