"""The admin dashboard: staff see components, failing sources, today's numbers and a chart."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from listings.models import Source
from runtime.models import Heartbeat
from tests import factories as make

pytestmark = pytest.mark.django_db


def beat(component, seconds_ago, **fields):
    now = timezone.now()
    return Heartbeat.objects.create(
        component=component,
        beat_at=now - timedelta(seconds=seconds_ago),
        started_at=now - timedelta(hours=1),
        pid=4242,
        hostname="box-1",
        **fields,
    )


def named_source(city, name, **fields):
    source = make.source(city, **fields)
    source.name = name
    source.save(update_fields=["name"])
    return source


def seen(source, when, count=1):
    for _ in range(count):
        make.listing(source, first_seen_at=when)


def bars(page):
    return re.findall(r'<rect class="bar"[^>]*><title>([^<]*)</title>', page)


def dashboard_page(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    return response.content.decode()


def test_a_stranger_is_sent_to_the_admin_login(client):
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_logged_in_renter_without_staff_rights_is_sent_to_the_login_too(
    client, django_user_model
):
    client.force_login(django_user_model.objects.create_user("renter", password="x"))

    response = client.get(reverse("dashboard"))

    assert response.status_code == 302


def test_the_admin_index_links_to_the_dashboard(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()

    assert f'href="{reverse("dashboard")}"' in page


def test_staff_see_each_component_and_which_one_is_stale(admin_client, settings):
    settings.HEARTBEAT_STALE_SECONDS = 180
    beat("bot", seconds_ago=5)
    beat("parser", seconds_ago=900, restarts=3, last_error="OperationalError: gone away")

    page = dashboard_page(admin_client)

    rows = re.findall(r'<tr class="heartbeat">(.*?)</tr>', page, re.DOTALL)
    assert len(rows) == 2
    bot_row, parser_row = rows
    assert "bot" in bot_row and "box-1" in bot_row and "alive" in bot_row
    assert "parser" in parser_row and "stale" in parser_row
    assert "OperationalError: gone away" in parser_row and "<td>3</td>" in parser_row


def test_staff_see_a_broken_source_with_its_failures_and_error(admin_client, city):
    named_source(city, "Fine site")
    named_source(
        city,
        "Broken site",
        state=Source.State.BROKEN,
        consecutive_failures=4,
        last_error="no listings on a results page",
    )

    page = dashboard_page(admin_client)

    [row] = re.findall(r'<tr class="source">(.*?)</tr>', page, re.DOTALL)
    assert "Broken site" in row and "Broken" in row and "<td>4</td>" in row
    assert "no listings on a results page" in row
    assert "Fine site" not in row


def test_todays_numbers_are_shown(admin_client, source):
    make.subscriber()
    make.subscriber(blocked=True)
    seen(source, timezone.now(), count=3)

    page = dashboard_page(admin_client)

    assert re.search(r"Subscribers</th><td>2</td>", page)
    assert re.search(rf"New listings from {source.name}</th><td>3</td>", page)


def test_the_chart_has_a_bar_per_source_and_day_with_new_listings(admin_client, city):
    first, second = named_source(city, "Alpha"), named_source(city, "Beta")
    now = timezone.now()
    seen(first, now, count=2)
    seen(first, now - timedelta(days=1))
    seen(first, now - timedelta(days=6), count=4)
    seen(second, now - timedelta(days=1), count=5)
    seen(second, now - timedelta(days=40))  # older than the chart

    found = bars(dashboard_page(admin_client))

    assert len(found) == 4
    assert sum(int(title.rsplit(": ", 1)[1]) for title in found) == 12
    assert sum(1 for title in found if title.startswith("Beta")) == 1


def test_the_chart_cuts_days_at_midnight_in_the_configured_time_zone(
    admin_client, source, settings, time_machine
):
    settings.TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: far from UTC, the day differs
    time_machine.move_to(datetime(2026, 3, 10, 12, 0, tzinfo=ZoneInfo("UTC")))
    # 23:30 UTC on 8 March is 13:30 on 9 March in Kiritimati; 09:00 UTC is 23:00 on 8 March.
    seen(source, datetime(2026, 3, 8, 23, 30, tzinfo=ZoneInfo("UTC")))
    seen(source, datetime(2026, 3, 8, 9, 0, tzinfo=ZoneInfo("UTC")))

    found = bars(dashboard_page(admin_client))

    assert sorted(found) == [f"{source.name}, 8 Mar: 1", f"{source.name}, 9 Mar: 1"]


def test_a_source_name_with_markup_is_shown_as_text(admin_client, city):
    hostile = named_source(
        city, "<script>alert(1)</script>", state=Source.State.BROKEN, last_error="<b>x</b>"
    )
    seen(hostile, timezone.now())

    page = dashboard_page(admin_client)

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>x</b>" not in page
