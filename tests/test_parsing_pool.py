"""Pages parsed in worker processes give what the adapter gives in this one."""

import asyncio
import os
import pickle

import pytest

from listings import parsing_pool
from listings.adapters.base import AdapterError, Page, get_adapter
from listings.parsing_pool import parse_page
from tests.pages import load_page

PAGES = [
    ("bayut", "bayut/search-state_sale_dubai_2026-02.html"),
    ("bayut", "bayut/search-api-hits_rent_dubai_2022-09.json"),
    ("kleinanzeigen", "kleinanzeigen/search_rent_berlin_2026.html"),
    ("wggesucht", "wg-gesucht/search_rent_berlin_2023-08.html"),
    ("immoscout24", "immobilienscout24/search-state_rent_2020-10.json"),
    ("krisha", "krisha/search_rent_almaty-medeu_2022-11.html"),
    ("pararius", "pararius/search_rent_delft_2026-07.html"),
    ("otodom", "otodom/search_sale_warszawa_2021-11.html"),
    ("halooglasi", "halooglasi/search-api_rent_beograd_2025-06.json"),
]
EMPTY_PAGE = Page(url="http://127.0.0.1/empty", text="<html><body>Nothing here</body></html>")


@pytest.fixture(scope="module")
def pool():
    """One real pool for the module: starting its process costs a second or two."""
    yield parsing_pool.get_pool(1)
    parsing_pool.shutdown_pool()


@pytest.fixture(autouse=True)
def one_process(settings):
    """A real worker process here, whatever the rest of the suite prefers."""
    settings.PARSER_PROCESSES = 1


def parse(adapter_name, page, selectors=None):
    return asyncio.run(parse_page(adapter_name, page, selectors))


def test_a_page_parses_in_a_worker_to_the_same_listings_as_here(pool):
    page = load_page("kleinanzeigen/search_rent_berlin_2026.html")

    result = parse("kleinanzeigen", page)

    here = get_adapter("kleinanzeigen").parse(page)
    assert len(result.listings) == 26
    assert result == here


def test_the_work_happens_in_another_process(pool):
    assert parsing_pool.get_pool().submit(os.getpid).result(timeout=60) != os.getpid()


def test_an_adapter_error_arrives_as_an_adapter_error(pool):
    with pytest.raises(AdapterError, match="kleinanzeigen: no result cards on the page"):
        parse("kleinanzeigen", EMPTY_PAGE)


def test_an_error_that_pickles_badly_arrives_with_its_message(pool):
    # InvalidSelectors is built from a list of problems, not from its message.
    with pytest.raises(AdapterError) as raised:
        parse("css", EMPTY_PAGE, selectors={"title": "h2"})

    assert str(raised.value) == "css: invalid selectors: card: required; url: required"


def test_selectors_reach_the_adapter_in_the_worker(pool):
    page = load_page("kleinanzeigen/search_rent_berlin_2026.html")
    selectors = {"card": "article.aditem[data-adid]", "id": "@data-adid", "url": "h2 a"}

    result = parse("css", page, selectors)

    assert len(result.listings) == 26
    assert all(listing.url.startswith("http://127.0.0.1/") for listing in result.listings)


def test_a_pool_whose_worker_died_is_replaced(pool):
    dead = parsing_pool.get_pool()
    dead.submit(os._exit, 1)

    result = parse("bayut", load_page("bayut/search-api-hits_rent_dubai_2022-09.json"))

    assert len(result.listings) == 12
    assert parsing_pool.get_pool() is not dead


def test_an_idle_pool_gives_its_processes_back_and_the_next_page_starts_one():
    asyncio.run(parse_page("krisha", load_page(PAGES[5][1])))
    workers = parsing_pool.get_pool(1)._processes

    assert parsing_pool.retire_idle_pool(idle_seconds=3600) is False
    assert parsing_pool.retire_idle_pool(idle_seconds=0) is True

    assert all(not process.is_alive() for process in workers.values())
    result = asyncio.run(parse_page("krisha", load_page(PAGES[5][1])))
    assert result.listings and parsing_pool._pool is not None
    parsing_pool.shutdown_pool()


def test_without_processes_it_parses_in_a_thread(settings, monkeypatch):
    settings.PARSER_PROCESSES = 0
    monkeypatch.setattr(parsing_pool, "get_pool", lambda *args: pytest.fail("no pool wanted"))
    page = load_page("bayut/search-api-hits_rent_dubai_2022-09.json")

    result = parse("bayut", page)

    assert result == get_adapter("bayut").parse(page)
    with pytest.raises(AdapterError, match="kleinanzeigen: no result cards"):
        parse("kleinanzeigen", EMPTY_PAGE)


@pytest.mark.parametrize(("adapter_name", "relative"), PAGES)
def test_every_fixture_page_result_survives_pickling(adapter_name, relative):
    result = get_adapter(adapter_name).parse(load_page(relative))

    assert pickle.loads(pickle.dumps(result)) == result
