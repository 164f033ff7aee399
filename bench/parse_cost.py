"""What parsing a page costs: per listing, and against the floor of merely reading its markup.

Run: `.venv/bin/python bench/parse_cost.py [--runs 15]`

For every saved page in ../shared/fixtures, the adapter's `parse` and a bare
`lxml.html.fromstring` of the same text are timed alternately, `--runs` times each, and their
medians compared: the ratio says how much work the adapter adds to building the tree once.
JSON pages also get a `json.loads` floor, the fairer one for them. The machines are shared and
noisy, so only the ratios measured side by side in one run mean anything.
"""

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES_DIR = Path(os.environ.get("RENTWATCH_FIXTURES", ROOT.parent / "shared" / "fixtures"))

# Each saved page and the adapter that reads its site.
FIXTURE_PAGES = [
    ("bayut/search-state_sale_dubai_2026-02.html", "bayut"),
    ("bayut/search-api-hits_rent_dubai_2022-09.json", "bayut"),
    ("kleinanzeigen/search_rent_berlin_2026.html", "kleinanzeigen"),
    ("wg-gesucht/search_rent_berlin_2023-08.html", "wggesucht"),
    ("immobilienscout24/search-state_rent_2020-10.json", "immoscout24"),
    ("krisha/search_rent_almaty-medeu_2022-11.html", "krisha"),
    ("pararius/search_rent_delft_2026-07.html", "pararius"),
    ("otodom/search_sale_warszawa_2021-11.html", "otodom"),
    ("halooglasi/search-api_rent_beograd_2025-06.json", "halooglasi"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each, per page")
    args = parser.parse_args()

    setup_django()
    rows = [measure(*fixture, args.runs) for fixture in fixture_pages()]
    print_table(rows, args.runs)


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def fixture_pages():
    """(relative path, adapter name, Page) for every saved page."""
    from listings.adapters.base import Page

    for relative, adapter_name in FIXTURE_PAGES:
        path = FIXTURES_DIR / relative
        content_type = "application/json" if path.suffix == ".json" else "text/html"
        text = path.read_bytes().decode("utf-8")
        yield relative, adapter_name, Page(f"http://127.0.0.1/{relative}", text, content_type)


def measure(relative, adapter_name, page, runs):
    """Median seconds of the adapter's parse and of each floor, timed in alternation."""
    import lxml.html

    from listings.adapters.base import get_adapter

    adapter = get_adapter(adapter_name)
    contenders = {
        "parse": lambda: adapter.parse(page),
        "lxml": lambda: lxml.html.fromstring(page.text),
    }
    if page.content_type == "application/json":
        contenders["json"] = lambda: json.loads(page.text)

    listings = len(adapter.parse(page).listings)  # also warms caches and imports
    timings = {name: [] for name in contenders}
    for run in range(runs):
        # Alternate the order, so that neither always runs on a warmer cache.
        names = list(contenders) if run % 2 == 0 else list(reversed(contenders))
        for name in names:
            timings[name].append(timed(contenders[name]))

    medians = {name: statistics.median(values) for name, values in timings.items()}
    return {"page": relative, "adapter": adapter_name, "listings": listings, **medians}


def timed(work):
    gc.collect()  # a collection triggered by the previous contender is not this one's cost
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def print_table(rows, runs):
    print(f"Parse cost per saved page: medians of {runs} runs, timed side by side\n")
    header = f"{'page':50} {'adapter':13} {'found':>5} {'parse ms':>9} {'ms/listing':>10}"
    header += f" {'lxml ms':>8} {'×lxml':>6} {'json ms':>8} {'×json':>6}"
    print(header)
    print("-" * len(header))
    for row in rows:
        print(format_row(row))

    total_parse = sum(row["parse"] for row in rows)
    total_lxml = sum(row["lxml"] for row in rows)
    total_listings = sum(row["listings"] for row in rows)
    print("-" * len(header))
    print(
        f"{'all pages':50} {'':13} {total_listings:5d} {total_parse * 1000:9.1f} "
        f"{total_parse * 1000 / total_listings:10.2f} {total_lxml * 1000:8.1f} "
        f"{total_parse / total_lxml:6.1f}"
    )


def format_row(row):
    parse_ms, lxml_ms = row["parse"] * 1000, row["lxml"] * 1000
    text = (
        f"{row['page'][:50]:50} {row['adapter']:13} {row['listings']:5d} {parse_ms:9.1f} "
        f"{parse_ms / max(row['listings'], 1):10.2f} {lxml_ms:8.1f} {parse_ms / lxml_ms:6.1f}"
    )
    if "json" in row:
        json_ms = row["json"] * 1000
        text += f" {json_ms:8.1f} {parse_ms / json_ms:6.1f}"
    return text


if __name__ == "__main__":
    main()
