"""`manage.py parse_source`: what an adapter reads from one page, as a table and a summary, for
checking a source or an adapter against its live site or a saved page."""

import asyncio
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from listings.adapters.base import AdapterError, Page, adapter_for_source, get_adapter
from listings.fetching import decode_page, fetch_page, make_http_client
from listings.models import FetchRun, Period, Source

# Every column but the URL fits this width; the URL comes last, whole, so it can be opened.
TABLE_WIDTH = 99
COLUMN_CAPS = {"id": 14, "price": 20, "rooms": 6, "m²": 8, "district": 18}
MIN_TITLE_WIDTH = 12


class Command(BaseCommand):
    help = (
        "Show what a page yields: a table of the listings an adapter reads from it and a "
        "summary of what they lack. Fetches the source's search page unless --file or --url "
        "says otherwise."
    )
    # It needs no bot token and writes nothing: the checks' warnings would only be noise.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("target", help="A source's name or id, or an adapter's name")
        parser.add_argument(
            "--file", type=Path, help="Parse this saved page instead of fetching one"
        )
        parser.add_argument(
            "--url",
            help="Fetch and parse this page; with --file, the address the page was saved from "
            "(relative links are resolved against it)",
        )
        parser.add_argument("--limit", type=int, help="Show at most this many rows")

    def handle(self, *args, target, file, url, limit, **options):
        adapter, source = find_adapter(target)
        if file is not None:
            page = read_page_file(file, url or (source.search_url if source else ""))
        else:
            page = self.fetch(url or search_url_of(source))

        try:
            result = adapter.parse(page)
        except AdapterError as error:
            raise CommandError(f"cannot read {page.url}: {one_line(error)}") from None

        listings = result.listings
        shown = listings if limit is None else listings[: max(limit, 0)]
        self.stdout.write(render_table(shown))
        if len(shown) < len(listings):
            self.stdout.write(f"(showing {len(shown)} of {len(listings)})")
        self.stdout.write(summary_line(listings, result.next_page_url))

    def fetch(self, url):
        """The fetched page; a CommandError naming the state when the site did not give one."""
        fetched = asyncio.run(fetch_once(url))
        if fetched.state != FetchRun.State.OK:
            raise CommandError(f"fetch {fetched.state}: {one_line(fetched.error)} ({url})")

        length = len(fetched.page.text)
        self.stdout.write(
            f"fetch ok: HTTP {fetched.status}, {length:,} characters from {fetched.page.url}"
        )
        return fetched.page


def find_adapter(target):
    """The adapter and source `target` names: a source by id or name first, else an adapter."""
    source = find_source(target)
    if source is not None:
        try:
            return adapter_for_source(source.adapter, source.selectors), source
        except KeyError as error:
            raise CommandError(f"source {source.name!r}: {error.args[0]}") from None

    try:
        return get_adapter(target), None
    except KeyError as error:
        raise CommandError(f"no source named or numbered {target!r}; {error.args[0]}") from None


def find_source(target):
    if target.isdigit():
        return Source.objects.filter(pk=int(target)).first()
    return (
        Source.objects.filter(name=target).first()
        or Source.objects.filter(name__iexact=target).first()
    )


def search_url_of(source):
    if source is None:
        raise CommandError("an adapter alone has no page to fetch: give --file or --url")
    return source.search_url


async def fetch_once(url):
    async with make_http_client() as client:
        return await fetch_page(client, url)


def read_page_file(path, url):
    """A saved page as the fetcher would hand it over, decoded as the fetcher decodes it."""
    try:
        content = path.read_bytes()
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror}") from None

    text = decode_page(content)

    content_type = "application/json" if path.suffix == ".json" else "text/html"
    return Page(url=url or path.resolve().as_uri(), text=text, content_type=content_type)


def render_table(listings):
    """A fixed-width table: one row per listing, the title cut so the row fits."""
    rows = [row_of(listing) for listing in listings]
    widths = {
        name: min(cap, max([len(name), *(len(row[name]) for row in rows)]))
        for name, cap in COLUMN_CAPS.items()
    }
    fixed = sum(widths.values()) + 2 * len(widths)
    widths["title"] = max(MIN_TITLE_WIDTH, TABLE_WIDTH - fixed - 2)

    header = {name: name for name in widths}
    lines = [format_row(header, widths) + "  url"]
    lines += [format_row(row, widths) + "  " + row["url"] for row in rows]
    return "\n".join(lines)


def row_of(listing):
    return {
        "id": listing.external_id,
        "price": price_of(listing),
        "rooms": rooms_of(listing.rooms),
        "m²": number(listing.area_m2) if listing.area_m2 is not None else "-",
        "district": ", ".join(listing.locations) or listing.address or "-",
        "title": " ".join(listing.title.split()),
        "url": listing.url or "-",
    }


def format_row(row, widths):
    cells = []
    for name, width in widths.items():
        text = cut(row[name], width)
        # Numbers read best right-aligned under each other.
        cells.append(text.rjust(width) if name in ("price", "rooms", "m²") else text.ljust(width))
    return "  ".join(cells)


def price_of(listing):
    if listing.price is None:
        return "-"
    text = f"{number(listing.price)} {listing.currency}".strip()
    if listing.period and listing.period != Period.ONCE:
        text += f"/{listing.period}"
    return text


def rooms_of(rooms):
    if rooms is None:
        return "-"
    return "studio" if rooms == 0 else str(rooms)


def number(amount):
    """1,730 for a whole amount, 86.01 otherwise."""
    if amount == amount.to_integral_value():
        return f"{amount:,.0f}"
    return f"{amount:,.2f}"


def cut(text, width):
    return text if len(text) <= width else text[: width - 1] + "…"


def summary_line(listings, next_page_url):
    def missing(has):
        return sum(1 for listing in listings if not has(listing))

    return (
        f"found {len(listings)}; "
        f"missing price {missing(lambda p: p.price is not None)}, "
        f"missing url {missing(lambda p: p.url)}, "
        f"missing rooms {missing(lambda p: p.rooms is not None)}, "
        f"missing area {missing(lambda p: p.area_m2 is not None)}; "
        f"next page {next_page_url or 'none'}"
    )


def one_line(error):
    return " ".join(str(error).split())
