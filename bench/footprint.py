"""What `runall` costs to keep running: its start-up time and its resident memory, idle, busy
and over many parser cycles.

Run: `.venv/bin/python bench/footprint.py [--cycles 400] [--starts 3] [--processes 1]`

`manage.py runall` runs as a subprocess (tests/e2e.py's `Runall`), as an operator starts it,
against the fake Bot API (tests/fakes/telegram.py) and the local site serving the saved pages in
../shared/fixtures (tests/fakes/site.py), on a fresh SQLite file in a temporary folder (or the
empty database `--database-url` names). One source per saved page, with the page's adapter,
city and deal. The project's defaults hold except: no pause between two requests to one host
(every page is on 127.0.0.1) and one page per source run (the saved pages link to their real
sites' next pages).

- start-up: seconds from starting the process to its first getUpdates call, over `--starts`
  starts (the last one is the run measured below);
- idle after start: `--idle` seconds after the first poll, every source still switched off;
- after parsing: every source switched on and run once (no searches exist yet to match);
- after sending: 2,000 pending deliveries (4 real parsed listings for each of 500 chats, each
  with an active trial and a search of that listing's city) written into the outbox while
  runall runs, and drained at Telegram's default limits (30 a second, one a second per chat);
- leak check: every source due again after each run and served without an ETag, so each
  cycle (one FetchRun) fetches, parses and stores a whole page; memory sampled after every
  round over the pages (`--sample-every`, so `--cycles` is rounded up to whole rounds), and
  the least-squares slope from cycle `--warm-up` on judged against `--tolerance`;
- idle after work: `--idle` seconds after the leak check, every source switched off again.

Memory is VmRSS from /proc/<pid>/status for the runall process ("main") and summed with its
descendants ("total": the parsing pool's worker processes and multiprocessing's resource
tracker when PARSER_PROCESSES > 0), and PSS from /proc/<pid>/smaps_rollup for the total, which
counts pages shared between the processes once. The pool starts on the first page parsed, so
idle after start is runall alone. Linux only; everything stays on 127.0.0.1.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from parse_cost import FIXTURE_PAGES, FIXTURES_DIR

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Neither touches the database nor reads a setting when imported.
from tests.fakes.site import FakeSite  # noqa: E402
from tests.fakes.telegram import FakeTelegram  # noqa: E402

GOAL_FIRST_POLL_SECONDS = 3.0
GOAL_IDLE_MB = 150.0
CHATS = 500
LISTINGS_PER_CHAT = 4
SETTLE_SECONDS = 2.0  # after a phase, before its sample: let the last unit of work finish
FIRST_CHAT_ID = 100_000

# Each saved page's city and deal (the adapter comes from parse_cost.FIXTURE_PAGES).
PAGE_PLACES = {
    "bayut/search-state_sale_dubai_2026-02.html": ("Dubai", "sale"),
    "bayut/search-api-hits_rent_dubai_2022-09.json": ("Dubai", "rent"),
    "kleinanzeigen/search_rent_berlin_2026.html": ("Berlin", "rent"),
    "wg-gesucht/search_rent_berlin_2023-08.html": ("Berlin", "rent"),
    "immobilienscout24/search-state_rent_2020-10.json": ("Berlin", "rent"),
    "krisha/search_rent_almaty-medeu_2022-11.html": ("Almaty", "rent"),
    "pararius/search_rent_delft_2026-07.html": ("Delft", "rent"),
    "otodom/search_sale_warszawa_2021-11.html": ("Warszawa", "sale"),
    "halooglasi/search-api_rent_beograd_2025-06.json": ("Beograd", "rent"),
}

# Settings this bench leaves at the project's defaults, whatever the calling shell exports.
DEFAULTED = (
    "PARSER_IDLE_SECONDS",
    "WORKER_TICK_SECONDS",
    "DELIVERY_SENDERS",
    "HEARTBEAT_SECONDS",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "CONN_MAX_AGE",
    "FETCH_PROXY",
)


@dataclass
class Sample:
    """Memory of runall and its descendants at one moment, in MB."""

    main_rss: float
    total_rss: float
    total_pss: float
    peak_main: float  # VmHWM: the main process's highest RSS so far
    processes: list  # (name, RSS, PSS) of runall and of each descendant


def main():
    args = parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="rentwatch_bench_") as folder,
        FakeTelegram() as fake,
        FakeSite(FIXTURES_DIR) as site,
    ):
        database_url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        configure(database_url)
        add_sources(site)
        env = runall_env(fake, database_url, args.processes, args.pool_idle)
        results = measure(args, env, fake, site, Path(folder))
    print_report(results, args, database_url)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=400, help="parser cycles in the leak check")
    parser.add_argument(
        "--sample-every",
        type=int,
        default=len(FIXTURE_PAGES),
        help="cycles between samples (default: one round over every page)",
    )
    parser.add_argument("--warm-up", type=int, default=200, help="cycles left out of the slope")
    parser.add_argument(
        "--tolerance", type=float, default=1.0, help="most MB per 100 cycles read as no growth"
    )
    parser.add_argument("--starts", type=int, default=3, help="starts timed to the first poll")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds idle before sampling")
    parser.add_argument(
        "--processes", type=int, default=1, help="PARSER_PROCESSES (the project's default: 1)"
    )
    parser.add_argument(
        "--pool-idle",
        type=int,
        default=5,
        help="PARSER_POOL_IDLE_SECONDS: short, so that the idle samples see the pool retired",
    )
    parser.add_argument(
        "--database-url",
        help="an empty database to use instead of a temporary SQLite file (it is migrated)",
    )
    parser.add_argument(
        "--timeout", type=float, default=300, help="seconds any one phase may take at most"
    )
    return parser.parse_args()


# -- setting up -----------------------------------------------------------------------------


def configure(database_url):
    """Django in this process, on runall's database: to seed it and to watch its progress."""
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def add_sources(site):
    """One switched-off source per saved page, on the local site."""
    from listings.models import City, Source

    if Source.objects.exists():
        raise SystemExit("the database already holds sources: give the bench an empty one")
    for relative, adapter in FIXTURE_PAGES:
        city, deal = PAGE_PLACES[relative]
        Source.objects.create(
            name=relative.split("/")[0] + " " + deal,
            adapter=adapter,
            city=City.objects.get(name=city),
            deal=deal,
            search_url=site.url(relative),
            is_enabled=False,
        )


def runall_env(fake, database_url, processes, pool_idle):
    from tests.e2e import command_env

    for name in DEFAULTED:
        os.environ.pop(name, None)
    return command_env(
        DATABASE_URL=database_url,
        TELEGRAM_BOT_TOKEN=fake.token,
        TELEGRAM_API_BASE_URL=fake.base_url,
        # All nine "sites" are one host here; the politeness pause would serialise them.
        FETCH_HOST_DELAY_SECONDS=0,
        PARSER_MAX_PAGES=1,
        PARSER_PROCESSES=processes,
        PARSER_POOL_IDLE_SECONDS=pool_idle,
    )


# -- measuring ------------------------------------------------------------------------------


def measure(args, env, fake, site, folder):
    """Every figure of the report, from `args.starts` starts of runall."""
    results = {"starts": []}
    for number in range(1, args.starts):
        runall, seconds = start(env, folder / f"start{number}.log", fake)
        results["starts"].append(seconds)
        runall.terminate(timeout=30)

    runall, seconds = start(env, folder / "runall.log", fake)
    results["starts"].append(seconds)
    pid = runall.process.pid
    try:
        results["idle"] = sample_idle(pid, args.idle, "idle after start")
        results["parsed"] = parse_every_page(runall, args.timeout)
        results["sent"] = send_deliveries(runall, args.timeout)
        results["cycles"] = cycle_parser(runall, site, args)
        results["idle_after"] = sample_idle(pid, args.idle, "idle after the leak check")
        results["exit"] = runall.terminate(timeout=30)
    except Exception:
        print("runall's log, last lines:\n" + "\n".join(runall.output().splitlines()[-40:]))
        raise
    finally:
        runall.stop()
    return results


def start(env, log_path, fake):
    """Start runall; returns it and the seconds until its first getUpdates reached the fake."""
    from tests.e2e import Runall

    polls_before = len(fake.calls_to("getUpdates"))
    started = time.monotonic()
    runall = Runall(env, log_path)

    def first_poll():
        if runall.process.poll() is not None:
            raise RuntimeError(
                f"runall exited with {runall.process.returncode}:\n{runall.output()}"
            )
        polls = fake.calls_to("getUpdates")
        return polls[polls_before] if len(polls) > polls_before else None

    try:
        poll = fake.wait_for(first_poll, 60, "runall polls for updates")
    except BaseException:
        runall.stop()
        raise
    print(f"start-up: first getUpdates after {poll.at - started:.2f} s", flush=True)
    return runall, poll.at - started


def sample_idle(pid, seconds, moment):
    """Memory once runall has had nothing to do for `seconds`."""
    time.sleep(seconds)
    sample = memory(pid)
    print(f"{moment}: {describe(sample)}", flush=True)
    return sample


def parse_every_page(runall, timeout):
    """Switch every source on, wait until each has run once; memory and what they yielded."""
    from django.db.models import Sum
    from django.utils import timezone

    from listings.models import FetchRun, Source

    started = time.monotonic()
    Source.objects.update(is_enabled=True, next_run_at=timezone.now())
    sources = Source.objects.count()
    wait_until(
        runall,
        lambda: FetchRun.objects.values("source").distinct().count() >= sources,
        timeout,
        "every source has run once",
    )
    took = time.monotonic() - started
    time.sleep(SETTLE_SECONDS)

    sample = memory(runall.process.pid)
    runs = FetchRun.objects.all()
    failed = [f"{run.source.name}: {run.state} {run.error}" for run in runs if run.state != "ok"]
    found = runs.aggregate(found=Sum("found"))["found"]
    print(f"after parsing: {describe(sample)}; {found} found in {took:.1f} s", flush=True)
    return {
        "sample": sample,
        "pages": sources,
        "found": found,
        "failed": failed,
        "took": took,
    }


def send_deliveries(runall, timeout):
    """Queue 2,000 deliveries for 500 chats, wait until none is left to send; memory."""
    from subscriptions.models import Delivery

    queued = queue_deliveries()
    started = time.monotonic()
    open_states = [Delivery.State.PENDING, Delivery.State.SENDING]
    wait_until(
        runall,
        lambda: not Delivery.objects.filter(state__in=open_states).exists(),
        timeout,
        f"{queued} deliveries are sent",
    )
    took = time.monotonic() - started
    time.sleep(SETTLE_SECONDS)

    sample = memory(runall.process.pid)
    sent = Delivery.objects.filter(state=Delivery.State.SENT).count()
    print(f"after sending: {describe(sample)}; {sent} of {queued} sent in {took:.1f} s")
    return {"sample": sample, "queued": queued, "sent": sent, "took": took}


def queue_deliveries():
    """4 pending deliveries for each of 500 new chats, each chat's from one source; the count.

    Written here rather than left to matching, for two reasons. A search that takes anything
    in a city matches all of its 12 to 76 listings, so 2,000 deliveries would fall on a few
    dozen chats and take minutes at one message a second per chat, where a real outbox
    spreads them over many. And the rows written once parsing is done keep the figures after
    parsing and after sending apart.
    """
    from django.db import transaction
    from django.utils import timezone

    from listings.models import Listing, Source
    from subscriptions.models import Delivery

    sources = list(Source.objects.order_by("id"))
    listings = {s.pk: list(Listing.objects.filter(source=s).order_by("id")) for s in sources}
    now = timezone.now()
    with transaction.atomic():
        deliveries = []
        for n, search in enumerate(create_chats(sources, now)):
            own = listings[sources[n % len(sources)].pk]
            first = (n // len(sources)) * LISTINGS_PER_CHAT
            deliveries += [
                Delivery(
                    subscriber_id=search.subscriber_id,
                    listing=own[(first + k) % len(own)],
                    search_filter=search,
                    next_attempt_at=now,
                    created_at=now,
                )
                for k in range(LISTINGS_PER_CHAT)
            ]
        Delivery.objects.bulk_create(deliveries)
    return len(deliveries)


def create_chats(sources, now):
    """500 subscribers with a week's trial, each with a search of one source's city and deal."""
    from datetime import timedelta

    from subscriptions.models import SearchFilter, Subscriber, Subscription

    chats = Subscriber.objects.bulk_create(
        Subscriber(chat_id=FIRST_CHAT_ID + n, user_id=FIRST_CHAT_ID + n) for n in range(CHATS)
    )
    Subscription.objects.bulk_create(
        Subscription(subscriber=c, kind="trial", expires_at=now + timedelta(days=7)) for c in chats
    )
    return SearchFilter.objects.bulk_create(
        SearchFilter(
            subscriber=chat,
            city=sources[n % len(sources)].city,
            deal=sources[n % len(sources)].deal,
            name=f"Bench {n}",
            is_draft=False,
        )
        for n, chat in enumerate(chats)
    )


def cycle_parser(runall, site, args):
    """Run the parser `args.cycles` times over the saved pages; memory every few cycles."""
    from django.utils import timezone

    from listings.models import FetchRun, Source

    # Served without ETag or Last-Modified, every fetch is a full page to parse and store.
    for relative, _ in FIXTURE_PAGES:
        site.route(relative, body=(FIXTURES_DIR / relative).read_bytes())
    done_before = FetchRun.objects.count()
    samples = [(0, memory(runall.process.pid))]
    started = time.monotonic()
    Source.objects.update(poll_interval_seconds=0, next_run_at=timezone.now())

    # Whole rounds over the pages, so that every sample follows the same page's parse.
    next_mark = args.sample_every
    while next_mark < args.cycles + args.sample_every:
        wait_until(
            runall,
            lambda: FetchRun.objects.count() - done_before >= next_mark,  # noqa: B023
            args.timeout,
            f"{next_mark} parser cycles",
            every=0.05,
        )
        samples.append((FetchRun.objects.count() - done_before, memory(runall.process.pid)))
        print(f"  cycle {samples[-1][0]}: {describe(samples[-1][1])}", flush=True)
        next_mark += args.sample_every
    took = time.monotonic() - started
    Source.objects.update(is_enabled=False)

    failed = FetchRun.objects.exclude(state="ok").count()
    print(f"leak check: {samples[-1][0]} cycles in {took:.1f} s, {failed} not ok", flush=True)
    return {"samples": samples, "took": took, "failed": failed}


def wait_until(runall, condition, timeout, what, every=0.2):
    """Poll the database until condition() holds; fail if runall exits or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if runall.process.poll() is not None:
            raise RuntimeError(f"runall exited with {runall.process.returncode} before {what}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout:.0f} s: {what}")
        time.sleep(every)


# -- reading /proc --------------------------------------------------------------------------


def memory(pid):
    """RSS of runall alone and with its descendants, their PSS and runall's peak, in MB."""
    main_status = status_fields(pid)  # read once: main and total must be one moment's figures
    processes = [("runall", main_status["VmRSS"] / 1024, smaps_rollup_pss(pid) / 1024)]
    for process in descendants(pid):
        # A process may end between listing and reading it (a pool worker being replaced).
        rss = status_fields(process).get("VmRSS", 0) / 1024
        processes.append((process_name(process), rss, smaps_rollup_pss(process) / 1024))
    return Sample(
        main_rss=processes[0][1],
        total_rss=sum(rss for _, rss, _ in processes),
        total_pss=sum(pss for _, _, pss in processes),
        peak_main=main_status["VmHWM"] / 1024,
        processes=processes,
    )


def descendants(pid):
    """Pids of every process below pid, children before grandchildren."""
    children = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The name between the parentheses may hold spaces and parentheses of its own.
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))

    found, queue = [], [pid]
    while queue:
        below = sorted(children.get(queue.pop(0), []))
        found += below
        queue += below
    return found


def status_fields(pid):
    """The kB figures of /proc/<pid>/status; empty if the process has gone."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    fields = {}
    for line in lines:
        name, _, value = line.partition(":")
        if value.strip().endswith(" kB"):
            fields[name] = int(value.split()[0])
    return fields


def smaps_rollup_pss(pid):
    try:
        lines = Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in lines if line.startswith("Pss:")), 0)


def process_name(pid):
    """What a descendant runs, in a word: a parser worker, the resource tracker."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    if "resource_tracker" in command:
        return "resource tracker"
    if "multiprocessing" in command:
        return "parser worker"
    return command.split(" ")[0].rsplit("/", 1)[-1]


def describe(sample):
    return (
        f"main {sample.main_rss:.1f} MB, total {sample.total_rss:.1f} MB RSS "
        f"({sample.total_pss:.1f} MB PSS) in {len(sample.processes)} process(es)"
    )


# -- reporting ------------------------------------------------------------------------------


def slope_per_100(points):
    """Least-squares slope of (cycle, MB) points, in MB per 100 cycles."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    x_mean, y_mean = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - x_mean) ** 2 for x in xs)
    return 100 * sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True)) / spread


def print_report(results, args, database_url):
    engine = "SQLite" if database_url.startswith("sqlite") else "PostgreSQL"
    parsed, sent, cycles = results["parsed"], results["sent"], results["cycles"]
    print(
        f"\n== runall footprint: {engine}, PARSER_PROCESSES={args.processes}, "
        f"{parsed['pages']} saved pages, {sent['queued']:,} deliveries, {args.cycles} cycles =="
    )
    starts = results["starts"]
    print(
        f"start-up to first getUpdates: median {statistics.median(starts):.2f} s of "
        f"{len(starts)} start(s) ({', '.join(f'{s:.2f}' for s in starts)})\n"
    )

    samples = cycles["samples"]
    # A run shorter than the warm-up is fitted whole rather than not at all.
    warm = [(cycle, s) for cycle, s in samples if cycle >= args.warm_up] or samples
    print_samples(
        [
            (f"idle, {args.idle:g} s after the first poll", results["idle"]),
            (
                f"after parsing {parsed['pages']} pages ({parsed['found']} listings)",
                parsed["sample"],
            ),
            (f"after sending {sent['sent']:,} deliveries", sent["sample"]),
            (f"leak check, cycle {samples[0][0]}", samples[0][1]),
            (f"leak check, cycle {warm[0][0]} (warm)", warm[0][1]),
            (f"leak check, cycle {samples[-1][0]}", samples[-1][1]),
            (f"idle, {args.idle:g} s after the leak check", results["idle_after"]),
        ]
    )
    slopes = {
        "main": slope_per_100([(c, s.main_rss) for c, s in warm]),
        "total": slope_per_100([(c, s.total_rss) for c, s in warm]),
    }
    print(
        f"RSS slope from cycle {warm[0][0]} to {warm[-1][0]} ({len(warm)} samples): "
        f"main {slopes['main']:+.2f}, total {slopes['total']:+.2f} MB per 100 cycles"
    )
    code, took = results["exit"]
    print(
        f"took: parsing {parsed['took']:.1f} s, sending {sent['took']:.1f} s "
        f"({sent['sent'] / sent['took']:.1f} msg/s), {samples[-1][0]} cycles "
        f"{cycles['took']:.1f} s; runs not ok: {len(parsed['failed'])} first, "
        f"{cycles['failed']} in all; SIGTERM: exit {code} in {took:.1f} s"
    )
    for failure in parsed["failed"]:
        print(f"  {failure}")
    print_goals(statistics.median(starts), results, slopes, args)


def print_samples(rows):
    print(f"{'moment (MB)':<40} {'main RSS':>9} {'total RSS':>10} {'total PSS':>10} {'procs':>6}")
    for label, sample in rows:
        print(
            f"{label:<40} {sample.main_rss:>9.1f} {sample.total_rss:>10.1f} "
            f"{sample.total_pss:>10.1f} {len(sample.processes):>6}"
        )
    last = rows[-1][1]
    each = ", ".join(f"{name} {rss:.1f}" for name, rss, _ in last.processes)
    print(f"RSS at the end: {each}; runall's peak (VmHWM) {last.peak_main:.1f}")


def print_goals(first_poll, results, slopes, args):
    goals = [
        ("first poll, median s", first_poll, GOAL_FIRST_POLL_SECONDS),
        ("idle after start, total RSS MB", results["idle"].total_rss, GOAL_IDLE_MB),
        ("idle after work, total RSS MB", results["idle_after"].total_rss, GOAL_IDLE_MB),
        ("idle after work, total PSS MB", results["idle_after"].total_pss, GOAL_IDLE_MB),
        ("growth of main RSS, MB/100 cyc", max(slopes["main"], 0.0), args.tolerance),
        ("growth of total RSS, MB/100 cyc", max(slopes["total"], 0.0), args.tolerance),
    ]
    print(f"\n{'goal':<31} {'figure':>7} {'goal':>8} {'ratio':>6}  verdict")
    for name, figure, goal in goals:
        verdict = "met" if figure <= goal else "NOT met"
        print(
            f"{name:<31} {figure:>7.2f} {'<= ' + f'{goal:g}':>8} {figure / goal:>6.2f}  {verdict}"
        )
    print(
        f"no growth: a least-squares slope of at most {args.tolerance:g} MB per 100 cycles from "
        f"cycle {args.warm_up} on: {args.tolerance * 12.96:.0f} MB a day with 9 sources polled "
        f"every 10 minutes"
    )


if __name__ == "__main__":
    main()
