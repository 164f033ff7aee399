"""The world a fault scenario runs in: the fake Bot API behind a gate, a local site whose pages
grow, a fresh database with renters and their searches, and `runall` as a subprocess."""

import collections
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import psycopg

from tests.e2e import MANAGE, command_env, manage
from tests.fakes.site import FakeSite
from tests.faults.bot_api import FaultyTelegram, Gate
from tests.pages import FIXTURES_DIR, PROJECT_DIR, fixture_path

# Real saved search answers whose records can be shown a few at a time: a page that grows.
GROWING_PAGES = {
    "Dubai": ("bayut", "bayut/search-api-hits_rent_dubai_2022-09.json", "hits"),
    "Beograd": ("halooglasi", "halooglasi/search-api_rent_beograd_2025-06.json", "Ads"),
}
FIRST_CHAT = {"Dubai": 10_001, "Beograd": 20_001}
CAPTCHA_PAGE = (
    "<!doctype html><html><head><title>Attention Required</title></head><body>"
    "<h1>Please verify you are human</h1><div class='g-recaptcha'></div>"
    "<p>We have detected unusual traffic from your network.</p></body></html>"
)
# What every scenario's runall is given: production settings, except that the local site needs
# no politeness delay and a scenario should not wait five seconds to notice a grown page.
RUNALL_SETTINGS = {
    "TELEGRAM_POLL_TIMEOUT": 2,
    "PARSER_IDLE_SECONDS": 0.5,
    "FETCH_HOST_DELAY_SECONDS": 0,
    "FETCH_BACKOFF_SECONDS": 0.2,
    "LOG_LEVEL": "INFO",
}
SOURCE_POLL_SECONDS = 2

SEED = """
import json
from datetime import timedelta
from django.utils import timezone
from listings.models import City, Source
from subscriptions.models import SearchFilter, Subscriber, Subscription

plan = json.loads(PLAN)
now = timezone.now()
for source in plan["sources"]:
    Source.objects.create(name=source["name"], adapter=source["adapter"],
                          city=City.objects.get(name=source["city"]), search_url=source["url"],
                          poll_interval_seconds=source["poll"])
for city, chats in plan["renters"].items():
    for chat in chats:
        renter = Subscriber.objects.create(chat_id=chat, first_name="Renter", language="en")
        Subscription.objects.create(subscriber=renter, kind="trial",
                                    expires_at=now + timedelta(days=30))
        SearchFilter.objects.create(subscriber=renter, name=f"Flats in {city}",
                                    city=City.objects.get(name=city), is_draft=False)
for chat, seconds in plan["expiring"]:
    renter = Subscriber.objects.create(chat_id=chat, first_name="Leaving", language="en")
    Subscription.objects.create(subscriber=renter, kind="trial",
                                expires_at=now + timedelta(seconds=seconds))
"""

OUTBOX = """
    SELECT s.chat_id, l.url, d.state, d.attempts, d.last_error
    FROM {delivery} d
    JOIN {subscriber} s ON s.id = d.subscriber_id
    JOIN {listing} l ON l.id = d.listing_id
    WHERE d.state LIKE %s
"""


class GrowingPage:
    """A real saved search answer served with only its first `count` records."""

    def __init__(self, site, city):
        self.site, self.city = site, city
        self.adapter, self.fixture, self.records_key = GROWING_PAGES[city]
        self.data = json.loads(fixture_path(self.fixture).read_text(encoding="utf-8"))
        self.count = 0

    @property
    def url(self):
        return self.site.url(self.fixture)

    @property
    def size(self):
        return len(self.data[self.records_key])

    def show(self, count):
        """From now on the site's page holds the first `count` records."""
        self.count = min(count, self.size)
        self.site.route(self.fixture, body=self.body())

    def show_captcha(self):
        """From now on the site answers with an anti-bot page instead, status 200."""
        headers = {"Content-Type": "text/html; charset=utf-8"}
        self.site.route(self.fixture, body=CAPTCHA_PAGE, headers=headers)

    def body(self):
        shown = self.data[self.records_key][: self.count]
        return json.dumps({**self.data, self.records_key: shown})

    def listing_urls(self):
        """The listings a reader finds on the page as now shown: the ones to be announced."""
        from listings.adapters.base import Page, get_adapter

        page = Page(url=self.url, text=self.body(), content_type="application/json")
        return {listing.url for listing in get_adapter(self.adapter).parse(page).listings}


class Runall:
    """`manage.py runall` in a session of its own, so its parser processes can be found."""

    def __init__(self, env, log_path, command="runall"):
        self.log_path = log_path
        self.started_at = time.monotonic()
        with open(log_path, "w") as log:
            self.process = subprocess.Popen(
                [*MANAGE, command],
                env=env,
                cwd=PROJECT_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def running(self):
        return self.process.poll() is None

    def output(self):
        return self.log_path.read_text(errors="replace")

    def reason(self):
        """The last line it printed: why it stopped, when it stopped by itself."""
        lines = [line for line in self.output().splitlines() if line.strip()]
        return lines[-1][:300] if lines else f"exit code {self.process.returncode}"

    def kill(self):
        """SIGKILL the process itself, as the OOM killer or `kill -9` does."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self, timeout=15.0):
        """SIGTERM and wait; returns (exit code, seconds it took), or (None, timeout)."""
        started = time.monotonic()
        if not self.running:
            return self.process.returncode, 0.0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout), time.monotonic() - started
        except subprocess.TimeoutExpired:
            return None, timeout

    def clean_up(self):
        """Kill whatever is left of the session: the process, and parser processes it left."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.running:
            self.process.wait()


class Ledger:
    """The alerts each renter has, read from their chats: (chat, listing URL) → when each copy
    appeared."""

    def __init__(self, telegram, chats):
        self.telegram, self.chats = telegram, list(chats)

    def copies(self):
        seen = collections.defaultdict(list)
        for chat in self.chats:
            for message, appeared_at in self.telegram.bot_messages(chat):
                for url in linked_urls(message):
                    seen[(chat, url)].append(appeared_at)
        return seen

    def delivered(self, expected):
        copies = self.copies()
        return sum(1 for key in expected if copies.get(key))


def linked_urls(message):
    """The listing a message announces: the link its text or caption carries."""
    entities = message.get("entities") or message.get("caption_entities") or []
    return [entity["url"] for entity in entities if entity.get("type") == "text_link"]


class Stage:
    """Everything one scenario needs, started on entry and stopped on exit."""

    def __init__(self, name, workdir, database, **settings):
        self.name = name
        self.workdir = Path(workdir)
        self._database = database
        self._settings = settings
        self.processes = []
        self.renters = {}
        self.pages = {}
        self.notes = []
        self.problems = []
        self._drop = lambda: None

    def __enter__(self):
        self.telegram = FaultyTelegram().start()
        self.gate = Gate(self.telegram._server.server_address[1]).open()
        self.site = FakeSite(FIXTURES_DIR).start()
        self.database_url, self._drop = self._database(f"faults_{self.name.replace('-', '_')}")
        self.env = command_env(
            DATABASE_URL=self.database_url,
            TELEGRAM_BOT_TOKEN=self.telegram.token,
            TELEGRAM_API_BASE_URL=f"http://127.0.0.1:{self.gate.port}/bot",
            **(RUNALL_SETTINGS | self._settings),
        )
        return self

    def __exit__(self, *exc_info):
        for process in self.processes:
            process.clean_up()
        self.gate.close()
        self.telegram.stop()
        self.site.stop()
        self._drop()

    # -- setting the scene

    def seed(self, renters, shown, expiring=(), also_watch=(), poll_seconds=SOURCE_POLL_SECONDS):
        """Renters with a search for every listing of their city, one source per city whose
        page first shows `shown[city]` records, subscribers whose access ends soon, and
        sources of saved pages (adapter, city, fixture) that nobody's search watches."""
        for city, count in shown.items():
            self.pages[city] = GrowingPage(self.site, city)
            self.pages[city].show(count)
        self.renters = {
            city: [FIRST_CHAT[city] + n for n in range(count)] for city, count in renters.items()
        }
        watched = [(page.adapter, city, page.url) for city, page in self.pages.items()]
        watched += [(adapter, city, self.site.url(path)) for adapter, city, path in also_watch]
        plan = {
            "sources": [
                {"name": f"{adapter} {city} {n}", "adapter": adapter, "city": city,
                 "url": url, "poll": poll_seconds}
                for n, (adapter, city, url) in enumerate(watched)
            ],
            "renters": self.renters,
            "expiring": list(expiring),
        }  # fmt: skip
        manage(self.env, "shell", "-c", f"PLAN = {json.dumps(plan)!r}\n{SEED}")
        chats = [chat for chats in self.renters.values() for chat in chats]
        self.ledger = Ledger(self.telegram, chats)

    def show(self, counts):
        for city, count in counts.items():
            self.pages[city].show(count)

    def expected(self):
        """Every (chat, listing) alert owed: each renter, each listing their city's page shows."""
        return {
            (chat, url)
            for city, page in self.pages.items()
            for url in page.listing_urls()
            for chat in self.renters.get(city, [])
        }

    # -- runall

    def start_runall(self, label="runall", wait=True):
        """Start runall; unless told not to, wait until its bot polls Telegram."""
        polls = len(self.telegram.calls_to("getUpdates"))
        process = Runall(self.env, self.workdir / f"{self.name}.{label}.log")
        self.processes.append(process)
        if wait:
            self.wait_for(
                lambda: len(self.telegram.calls_to("getUpdates")) > polls or not process.running,
                60,
                f"{label} polls Telegram",
            )
        return process

    def stop_all(self):
        """SIGTERM every runall still up; each must exit 0 within 10 s, as the README says."""
        for process in self.processes:
            if not process.running:
                continue
            code, took = process.terminate()
            if code != 0 or took > 10:
                self.problems.append(
                    f"{process.log_path.name}: exit code {code} {took:.1f} s after SIGTERM"
                )

    def check_the_bot_answers(self):
        """A renter who writes now gets the bot's greeting: the fault left the bot working."""
        chat = 60_001 + len(self.processes)
        self.telegram.send_message(chat, "/start")
        self.wait_for(
            lambda: any("trial" in m["text"] for m in self.telegram.messages(chat)),
            20,
            "the bot greets a renter who writes after the fault",
        )

    def logs(self):
        return "\n".join(process.output() for process in self.processes)

    # -- waiting and reading

    def wait_for(self, predicate, timeout, what):
        """Poll until predicate() holds; note a problem and return False on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                self.problems.append(f"timed out after {timeout:.0f} s waiting until {what}")
                return False
            if self.processes and not any(process.running for process in self.processes):
                last = self.processes[-1]
                self.problems.append(f"runall exited while waiting until {what}: {last.reason()}")
                return False
            time.sleep(0.1)
        return True

    def wait_for_share(self, expected, share, timeout=60):
        """Wait until this share of the expected alerts has been delivered."""
        wanted = max(1, int(len(expected) * share))
        return self.wait_for(
            lambda: self.ledger.delivered(expected) >= wanted,
            timeout,
            f"{wanted} of {len(expected)} alerts are delivered",
        )

    def wait_for_all(self, timeout):
        """Wait until every expected alert is delivered, or the outbox has nothing left to
        send for those still missing (a delivery given up on will not come)."""
        expected = self.expected()
        looked_at = 0.0

        def done():
            nonlocal looked_at
            if self.ledger.delivered(expected) == len(expected):
                return True
            if time.monotonic() - looked_at < 2:
                return False
            looked_at = time.monotonic()
            return self.outbox_settled(expected)

        return self.wait_for(done, timeout, f"all {len(expected)} alerts are delivered")

    def outbox_settled(self, expected):
        """Whether every expected alert has its delivery row and none is still to be sent."""
        try:
            rows = self.deliveries()
        except (psycopg.Error, sqlite3.Error):
            return False  # the database is away: that settles nothing
        if any(state in ("pending", "sending") for _, _, state, *_ in rows):
            return False
        return expected <= {(chat, url) for chat, url, *_ in rows}

    def query(self, sql, params=()):
        return query(self.database_url, sql.format(**table_names()), params)

    def deliveries(self, state="%"):
        """(chat, listing URL, state, attempts, last error) of the outbox's rows in that state."""
        return [tuple(row) for row in self.query(OUTBOX, (state,))]

    def fetch_runs(self):
        """How many parser runs ended in each state, and how many listings are marked removed."""
        runs = dict(self.query("SELECT state, COUNT(*) FROM {run} GROUP BY state"))
        removed = self.query("SELECT COUNT(*) FROM {listing} WHERE removed_at IS NOT NULL")[0][0]
        return runs, removed


class Databases:
    """Fresh, migrated databases for the scenarios, each a copy of one migrated template."""

    def __init__(self, workdir, cluster=None):
        self.workdir = Path(workdir)
        self.cluster = cluster
        self._templates = {}

    def fresh(self, kind, name):
        """A new database of this kind ("sqlite" or "postgres"): its URL and how to drop it."""
        if kind == "sqlite":
            template = self._template(kind, f"sqlite:///{self.workdir / 'template.sqlite3'}")
            path = self.workdir / f"{name}.sqlite3"
            shutil.copyfile(template.removeprefix("sqlite:///"), path)
            return f"sqlite:///{path}", lambda: None

        template_name = "faults_template"
        self._template(kind, self.cluster.url(template_name), create=template_name)
        unique = f"{name}_{uuid.uuid4().hex[:8]}"
        return self.cluster.create_database(unique, template=template_name)

    def _template(self, kind, url, create=None):
        if kind not in self._templates:
            if create:
                self.cluster.create_database(create)
            manage(command_env(DATABASE_URL=url), "migrate", "--verbosity", "0", timeout=300)
            self._templates[kind] = url
        return self._templates[kind]


def query(database_url, sql, params=()):
    """Rows of a query against a scenario's database, read directly: a `manage.py shell` costs
    seconds of start-up."""
    if database_url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as db:
            return db.execute(sql.replace("%s", "?"), params).fetchall()
    with psycopg.connect(database_url) as db:
        return db.execute(sql, params).fetchall()


def table_names():
    from listings.models import FetchRun, Listing
    from subscriptions.models import Delivery, Subscriber

    models = {"delivery": Delivery, "subscriber": Subscriber, "listing": Listing, "run": FetchRun}
    return {name: model._meta.db_table for name, model in models.items()}
