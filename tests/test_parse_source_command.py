"""`manage.py parse_source`: the table and summary of what a page yields, and one-line errors."""

import subprocess
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests import factories as make
from tests.e2e import MANAGE, command_env, fresh_database_url, manage
from tests.pages import fixture_path

KLEINANZEIGEN = "kleinanzeigen/search_rent_berlin_2026.html"
KLEINANZEIGEN_URL = "https://www.kleinanzeigen.de/s-wohnung-mieten/berlin/c203l3331"
BAYUT_RENT = "bayut/search-api-hits_rent_dubai_2022-09.json"
BAYUT_SALE = "bayut/search-state_sale_dubai_2026-02.html"
WG_GESUCHT = "wg-gesucht/search_rent_berlin_2023-08.html"
CAPTCHA = "<html><body><h1>Please verify you are human</h1><div class='g-recaptcha'></div>"

pytestmark = pytest.mark.django_db


def parse_source(*args):
    out = StringIO()
    call_command("parse_source", *args, stdout=out)
    return out.getvalue().splitlines()


def row(lines, external_id):
    """The table row of one listing, as its columns' words."""
    matching = [line for line in lines if line.startswith(f"{external_id} ")]
    assert len(matching) == 1, "\n".join(lines)
    return matching[0]


def test_it_tabulates_a_saved_kleinanzeigen_page():
    lines = parse_source(
        "kleinanzeigen", "--file", fixture_path(KLEINANZEIGEN), "--url", KLEINANZEIGEN_URL
    )

    assert lines[0].split() == ["id", "price", "rooms", "m²", "district", "title", "url"]
    assert len(lines) == 1 + 26 + 1
    assert lines[-1] == (
        "found 26; missing price 0, missing url 0, missing rooms 0, missing area 0; "
        "next page https://www.kleinanzeigen.de/s-wohnung-mieten/berlin/seite:2/c203l3331"
    )
    mitte = row(lines, "3374833041")
    assert "1,730 EUR/month" in mitte
    assert " 86.01 " in mitte and " Mitte " in mitte
    assert mitte.endswith(
        "  https://www.kleinanzeigen.de/s-anzeige/sofort-bezugsfertig-tolle-2-zi-wohnung-in-"
        "attraktivem-neubau-in-mitte/3374833041-203-9672"
    )


def test_every_row_fits_the_table_width_before_its_url():
    lines = parse_source(
        "kleinanzeigen", "--file", fixture_path(KLEINANZEIGEN), "--url", KLEINANZEIGEN_URL
    )

    before_urls = [line.rsplit("  https://", 1)[0] for line in lines[1:-1]]
    assert max(len(text) for text in before_urls) <= 99
    assert any(text.endswith("…") for text in before_urls)  # long titles are cut


def test_it_tabulates_saved_bayut_rentals_and_sales():
    rentals = parse_source("bayut", "--file", fixture_path(BAYUT_RENT))
    sales = parse_source("bayut", "--file", fixture_path(BAYUT_SALE))

    assert rentals[-1] == (
        "found 12; missing price 0, missing url 0, missing rooms 0, missing area 0; next page none"
    )
    rental = row(rentals, "4711777")
    assert "19,950 AED/month" in rental and " 79.25 " in rental
    assert rental.endswith("  https://www.bayut.com/property/details-4711777.html")

    assert sales[-1].startswith("found 24; missing price 0,")
    sale = row(sales, "14335976").split()
    # A sale has one price, with no period after the currency.
    assert sale[1:5] == ["2,520,000", "AED", "4", "205.04"]


def test_the_summary_counts_what_listings_lack():
    lines = parse_source("wggesucht", "--file", fixture_path(WG_GESUCHT))

    assert lines[-1] == (
        "found 25; missing price 0, missing url 0, missing rooms 17, missing area 0; "
        "next page none"
    )
    assert row(lines, "10401873").split()[1:5] == ["650", "EUR/month", "-", "20"]


def test_limit_shows_fewer_rows_but_counts_them_all():
    lines = parse_source("kleinanzeigen", "--file", fixture_path(KLEINANZEIGEN), "--limit", "3")

    assert len(lines) == 1 + 3 + 2
    assert lines[-2] == "(showing 3 of 26)"
    assert lines[-1].startswith("found 26;")


def test_it_fetches_a_url_and_reports_the_fetch(fake_site):
    lines = parse_source("kleinanzeigen", "--url", fake_site.url(KLEINANZEIGEN))

    characters = len(fixture_path(KLEINANZEIGEN).read_bytes().decode("utf-8"))
    assert lines[0] == (
        f"fetch ok: HTTP 200, {characters:,} characters from {fake_site.url(KLEINANZEIGEN)}"
    )
    assert lines[-1].startswith("found 26; missing price 0, missing url 0,")
    assert lines[-1].endswith(
        f"next page {fake_site.base_url}/s-wohnung-mieten/berlin/seite:2/c203l3331"
    )
    assert fake_site.hits(KLEINANZEIGEN) == 1


def test_a_source_named_or_numbered_is_fetched_from_its_search_url(fake_site):
    source = make.source(make.city(), adapter="kleinanzeigen", url=fake_site.url(KLEINANZEIGEN))

    by_name = parse_source(source.name.upper())
    by_id = parse_source(str(source.pk))

    assert by_name[0].startswith("fetch ok: HTTP 200,")
    assert by_name[-1] == by_id[-1]
    assert by_id[-1].startswith("found 26;")
    assert fake_site.hits(KLEINANZEIGEN) == 2


def test_a_saved_page_for_a_source_resolves_links_against_its_search_url():
    source = make.source(make.city(), adapter="kleinanzeigen", url=KLEINANZEIGEN_URL)

    lines = parse_source(source.name, "--file", fixture_path(KLEINANZEIGEN))

    assert row(lines, "3374833041").split()[-1].startswith("https://www.kleinanzeigen.de/")


def test_a_captcha_page_is_reported_blocked(fake_site):
    fake_site.route("/search", body=CAPTCHA)

    with pytest.raises(CommandError) as raised:
        parse_source("kleinanzeigen", "--url", fake_site.url("/search"))

    assert str(raised.value) == (
        f"fetch blocked: the site answered with a captcha page ({fake_site.url('/search')})"
    )


@pytest.mark.parametrize(
    ("status", "reported"),
    [(403, "fetch blocked: HTTP 403"), (503, "fetch temporary: HTTP 503"), (404, "fetch broken")],
)
def test_a_failed_fetch_names_its_state(fake_site, status, reported):
    source = make.source(make.city(), adapter="kleinanzeigen", url=fake_site.url("/search"))
    fake_site.route("/search", status=status, body="no")

    with pytest.raises(CommandError, match=reported):
        parse_source(source.name)


def test_a_page_the_adapter_cannot_read_is_one_line():
    with pytest.raises(CommandError) as raised:
        parse_source("kleinanzeigen", "--file", fixture_path(BAYUT_RENT))

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("cannot read file://")
    assert message.endswith("kleinanzeigen: no result cards on the page; has the site changed?")


def test_an_unknown_name_lists_the_adapters():
    with pytest.raises(CommandError, match=r"no source named or numbered 'nope'; .* bayut, css,"):
        parse_source("nope")


def test_an_adapter_alone_needs_a_page():
    with pytest.raises(CommandError, match="give --file or --url"):
        parse_source("bayut")


def test_a_blocked_fetch_prints_no_traceback(tmp_path, fake_site):
    database_url, drop = fresh_database_url(tmp_path)
    env = command_env(DATABASE_URL=database_url)
    fake_site.route("/search", body=CAPTCHA)
    try:
        manage(env, "migrate", "-v", "0")
        result = subprocess.run(
            [*MANAGE, "parse_source", "bayut", "--url", fake_site.url("/search")],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        drop()

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"CommandError: fetch blocked: the site answered with a captcha page "
        f"({fake_site.url('/search')})"
    ]
