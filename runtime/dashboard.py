"""The staff dashboard in admin: components, failing sources, today's numbers, new listings."""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib import admin
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from listings.models import Listing, Source
from runtime.alerts import stale_before
from runtime.models import Heartbeat
from subscriptions.stats import todays_stats

CHART_DAYS = 30
# Geometry of the new-listings chart, in SVG user units.
DAY_WIDTH = 24
BAR_WIDTH = 18
PLOT_HEIGHT = 160
PLOT_LEFT = 40
PLOT_TOP = 10
# Colour-blind-safe hues, repeated when there are more sources than colours.
PALETTE = ["#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#999"]


@dataclass
class Bar:
    """One source's new listings on one day: a segment of that day's stacked column."""

    source: str
    day: object
    count: int
    x: float
    y: float
    height: float
    colour: str


def dashboard(request):
    """The admin page staff open to see at a glance whether Rentwatch is well."""
    now = timezone.now()
    context = {
        **admin.site.each_context(request),
        "title": _("Dashboard"),
        "heartbeats": heartbeat_rows(now),
        "sources": Source.objects.filter(is_enabled=True).exclude(state=Source.State.OK),
        "stats": todays_stats(),
        "chart": new_listings_chart(now),
    }
    return TemplateResponse(request, "admin/runtime/dashboard.html", context)


def heartbeat_rows(now):
    stale = stale_before(now)
    beats = list(Heartbeat.objects.all())
    for beat in beats:
        # Clocks of two hosts may disagree by a little: a beat from the future is zero old.
        beat.age_seconds = max(0, int((now - beat.beat_at).total_seconds()))
        beat.is_stale = beat.beat_at < stale
    return beats


def new_listings_per_source_and_day(first_day):
    """{(source name, local date): count} of listings first seen from `first_day` on."""
    # TruncDate cuts days in the current time zone (TIME_ZONE), on SQLite as on PostgreSQL.
    start = timezone.make_aware(datetime.combine(first_day, time.min))
    rows = (
        Listing.objects.filter(first_seen_at__gte=start)
        .annotate(day=TruncDate("first_seen_at"))
        .values("source__name", "day")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return {(row["source__name"], row["day"]): row["count"] for row in rows}


def new_listings_chart(now):
    """The last CHART_DAYS days as stacked columns, one colour per source."""
    today = timezone.localdate(now)
    days = [today - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]
    counts = new_listings_per_source_and_day(days[0])
    sources = sorted({source for source, _day in counts})
    colours = {source: PALETTE[n % len(PALETTE)] for n, source in enumerate(sources)}

    totals = {day: sum(c for (_s, d), c in counts.items() if d == day) for day in days}
    scale = PLOT_HEIGHT / max([1, *totals.values()])
    bars = []
    for n, day in enumerate(days):
        top = PLOT_TOP + PLOT_HEIGHT
        for source in sources:
            count = counts.get((source, day), 0)
            if not count:
                continue
            top -= count * scale
            x = PLOT_LEFT + n * DAY_WIDTH + (DAY_WIDTH - BAR_WIDTH) / 2
            bars.append(Bar(source, day, count, x, top, count * scale, colours[source]))

    return {
        "bars": bars,
        "legend": list(colours.items()),
        "peak": max(totals.values()),
        "labels": [
            (PLOT_LEFT + n * DAY_WIDTH + DAY_WIDTH / 2, day)
            for n, day in enumerate(days)
            if n % 5 == 0 or n == CHART_DAYS - 1
        ],
        "bar_width": BAR_WIDTH,
        "width": PLOT_LEFT + CHART_DAYS * DAY_WIDTH + 10,
        "height": PLOT_TOP + PLOT_HEIGHT + 30,
        "plot_left": PLOT_LEFT,
        "plot_top": PLOT_TOP,
        "plot_bottom": PLOT_TOP + PLOT_HEIGHT,
        "plot_right": PLOT_LEFT + CHART_DAYS * DAY_WIDTH,
    }
