"""The faults: each scenario sets the scene, injects its fault into a running `runall`, and
returns the time the fault ended; `judge` then reads what the renters received."""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tests.pages import PROJECT_DIR

# Fifteen renters watch Dubai (Bayut's page), fifteen watch Beograd (Halo oglasi's); the pages
# first show a few of their real records, then twice as many. Telegram's limits (30 messages a
# second, one a second per chat) keep a burst of this size going for about ten seconds.
RENTERS = {"Dubai": 15, "Beograd": 15}
FIRST = {"Dubai": 4, "Beograd": 4}
GROWN = {"Dubai": 8, "Beograd": 8}
# More real pages for the parser to store again and again in the SQLite scenario.
UNWATCHED_PAGES = [
    ("kleinanzeigen", "Berlin", "kleinanzeigen/search_rent_berlin_2026.html"),
    ("wggesucht", "Berlin", "wg-gesucht/search_rent_berlin_2023-08.html"),
    ("pararius", "Delft", "pararius/search_rent_delft_2026-07.html"),
    ("krisha", "Almaty", "krisha/search_rent_almaty-medeu_2022-11.html"),
]
# deploy/rentwatch.service restarts runall this long after it exits.
RESTART_SECONDS = 5


@dataclass
class Scenario:
    name: str
    title: str
    run: Callable  # run(stage, options) → the time.monotonic() the fault ended
    database: str = ""  # "sqlite" or "postgres" when the scenario needs that one
    settings: dict | None = None  # runall settings beyond the common ones
    may_repeat: str | None = None  # the stage attribute naming alerts allowed to come twice


SCENARIOS = []


def scenario(name, title, database="", may_repeat=None, **settings):
    def register(run):
        SCENARIOS.append(Scenario(name, title, run, database, settings, may_repeat))
        return run

    return register


def wait_for_every_source_fetched(stage):
    """Wait until the parser has fetched every source once more: with nothing due for a poll
    interval and nothing to send, it is idle."""
    hits = {page.fixture: stage.site.hits(page.fixture) for page in stage.pages.values()}
    stage.wait_for(
        lambda: all(stage.site.hits(fixture) > n for fixture, n in hits.items()),
        30,
        "the parser fetches every source",
    )
    time.sleep(0.5)  # storing a few listings takes a fraction of this


@scenario(
    "postgres-restart-idle", "PostgreSQL restarted while the parser is idle", database="postgres"
)
def postgres_restart_idle(stage, options):
    # Sources polled every 10 s leave the parser idle for seconds after it fetched them.
    stage.seed(RENTERS, FIRST, poll_seconds=10)
    stage.start_runall()
    stage.wait_for_all(90)
    wait_for_every_source_fetched(stage)

    options.cluster.restart()
    ended = time.monotonic()
    stage.notes.append(f"pg_ctl restart took {options.cluster.restarts[-1]:.1f} s")
    stage.show(GROWN)
    stage.wait_for_all(90)
    return ended


@scenario(
    "postgres-restart-writing",
    "PostgreSQL restarted while the parser is writing",
    database="postgres",
)
def postgres_restart_writing(stage, options):
    stage.seed(RENTERS, GROWN)
    stage.start_runall()
    stage.wait_for_share(stage.expected(), 0.3)

    options.cluster.restart()
    ended = time.monotonic()
    stage.notes.append(f"pg_ctl restart took {options.cluster.restarts[-1]:.1f} s")
    stage.wait_for_all(90)
    return ended


@scenario("bot-api-outage", "Bot API unreachable, then answering 502, then back")
def bot_api_outage(stage, options):
    stage.seed(RENTERS, FIRST)
    stage.start_runall()
    stage.wait_for_share(stage.expected(), 0.3)

    # Half the outage the port refuses connections; new listings appear meanwhile; the other
    # half Telegram's front answers 502 Bad Gateway.
    half = options.outage / 2
    stage.gate.close()
    time.sleep(half / 2)
    stage.show(GROWN)
    time.sleep(half / 2)
    stage.telegram.answer_server_errors()
    stage.gate.open()
    time.sleep(half)
    stage.telegram.answer_server_errors(False)
    ended = time.monotonic()
    stage.notes.append(f"Bot API unreachable {half:.0f} s, then 502 for {half:.0f} s")
    stage.wait_for_all(90)
    return ended


@scenario("flood-storm", "429 storm: every second call, retry_after 1-5 s")
def flood_storm(stage, options):
    stage.seed(RENTERS, FIRST)
    stage.telegram.start_storm(retry_after=(1, 5))
    stage.start_runall()
    time.sleep(options.storm / 2)
    stage.show(GROWN)
    time.sleep(options.storm / 2)
    stage.telegram.stop_storm()
    ended = time.monotonic()
    stage.notes.append(
        f"storm of {options.storm:.0f} s: {stage.telegram.storm_answers} calls answered 429"
    )
    stage.wait_for_all(90)
    return ended


@scenario(
    "sigkill",
    "SIGKILL during a burst of sends, then a restart",
    may_repeat="in_flight",
    # How soon a claim left by a dead sender is taken again: 300 s in production, where it
    # only delays those few alerts; shortened so the scenario need not wait five minutes.
    DELIVERY_CLAIM_TIMEOUT_SECONDS=10,
)
def sigkill(stage, options):
    stage.seed(RENTERS, GROWN)
    first = stage.start_runall()
    stage.wait_for_share(stage.expected(), 0.3)

    first.kill()
    stage.in_flight = {(chat, url) for chat, url, *_ in stage.deliveries("sending")}
    stage.notes.append(
        f"{len(stage.in_flight)} deliveries were in flight at the kill; "
        "a repeat of those is the documented limit"
    )
    restarted_at = time.monotonic()
    restart_as_systemd_does(stage)
    stage.wait_for_all(90)
    return restarted_at


def restart_as_systemd_does(stage, within=120):
    """Start runall again, and again RestartSec after each time it exits, as deploy/'s unit
    does, until one polls; a refused restart is a problem worth knowing."""
    started = time.monotonic()
    for attempt in range(1, 1000):
        process = stage.start_runall(f"restart-{attempt}")
        if process.running:
            break
        if time.monotonic() - started > within:
            stage.problems.append(f"runall would not start again within {within} s")
            return
        time.sleep(RESTART_SECONDS)
    if attempt > 1:
        reason = stage.processes[-2].reason()
        stage.problems.append(
            f"runall exited on {attempt - 1} restarts over {time.monotonic() - started:.0f} s "
            f"before one polled: {reason}"
        )


@scenario(
    "site-captcha",
    "Site answers a captcha page, then recovers",
    # Any complete run that missed a listing would mark it removed at once.
    LISTING_REMOVED_AFTER_HOURS=0,
)
def site_captcha(stage, options):
    stage.seed(RENTERS, FIRST)
    stage.start_runall()
    stage.wait_for_all(90)

    hits = {city: stage.site.hits(page.fixture) for city, page in stage.pages.items()}
    for page in stage.pages.values():
        page.show_captcha()
    stage.wait_for(
        lambda: all(stage.site.hits(p.fixture) >= hits[c] + 3 for c, p in stage.pages.items()),
        60,
        "each source is fetched three times behind the captcha",
    )
    runs, removed = stage.fetch_runs()
    stage.show(GROWN)
    ended = time.monotonic()

    stage.notes.append(f"runs by state, behind the captcha: {runs}")
    if not runs.get("blocked"):
        stage.problems.append("no run was recorded as blocked behind the captcha")
    if removed:
        stage.problems.append(f"{removed} listings were marked removed behind the captcha")
    stage.wait_for_all(90)
    return ended


@scenario("second-runall", "A second runall with the same token")
def second_runall(stage, options):
    stage.seed(RENTERS, GROWN)
    stage.start_runall()
    stage.wait_for_share(stage.expected(), 0.2)

    second = stage.start_runall("second", wait=False)
    # Time for it to start, try to poll and say why it will not.
    time.sleep(8)
    ended = time.monotonic()
    stage.wait_for_all(90)
    check_one_poller(stage, second)
    if not (PROJECT_DIR / "runtime" / "leases.py").exists():
        stage.notes.append("pending: runtime/leases.py (the polling lease) is not in the tree")
    return ended


def check_one_poller(stage, second):
    """Telegram answers 409 Conflict to a second poller: the fake does too; none may come."""
    conflicts = [
        call
        for call in stage.telegram.calls_to("getUpdates")
        if call.response and call.response.get("error_code") == 409
    ]
    if conflicts:
        stage.problems.append(f"{len(conflicts)} getUpdates calls answered 409 Conflict")
    log = second.output()
    if "is polling for updates" in log:
        stage.problems.append("the second runall polled for updates")
    refusals = [
        line for line in log.splitlines() if "poll" in line.lower() and "is polling" not in line
    ]
    # The reason logged once, and once more as the command's exit message, is one message.
    if not refusals:
        stage.problems.append("the second runall gave no line saying why it does not poll")
    elif len(refusals) > 2:
        stage.problems.append(f"the second runall said why in {len(refusals)} lines, not one")
    stage.notes += [f"second runall said: {line.strip()[:200]}" for line in refusals]
    if "Traceback" in log:
        stage.problems.append("the second runall printed a traceback")


@scenario(
    "sqlite-load",
    "SQLite: three components writing at full speed",
    database="sqlite",
    # The limits would make Telegram the bottleneck; here the database must be.
    TELEGRAM_MESSAGES_PER_SECOND=1000,
    TELEGRAM_CHAT_INTERVAL_SECONDS=0,
    PARSER_IDLE_SECONDS=0.1,
    WORKER_TICK_SECONDS=0.1,
)
def sqlite_load(stage, options):
    leaving = 200
    expiring = [(30_001 + n, options.load * (n + 1) / leaving) for n in range(leaving)]
    renters, first = {"Dubai": 10, "Beograd": 10}, {"Dubai": 1, "Beograd": 4}
    stage.seed(renters, first, expiring, also_watch=UNWATCHED_PAGES, poll_seconds=1)
    stage.start_runall()

    renters = RenterPlayers(stage.telegram, first_chats=(40_001, 45_001)).start()
    started = time.monotonic()
    full = {city: page.size for city, page in stage.pages.items()}
    while (elapsed := time.monotonic() - started) < options.load:
        share = elapsed / options.load
        stage.show({city: 1 + int(share * size) for city, size in full.items()})
        time.sleep(0.5)
    stage.show(full)
    ended = time.monotonic()
    renters.stop()

    stage.notes.append(renters.summary())
    stage.problems += renters.failures[:3]
    stage.wait_for_all(90)
    check_expiry_notices(stage, [chat for chat, _ in expiring])
    return ended


def check_expiry_notices(stage, chats):
    """The worker's writes count too: each ended subscription is told once."""

    def told():
        return [
            sum("access has ended" in m["text"] for m in stage.telegram.messages(chat))
            for chat in chats
        ]

    # The worker sends its notices one at a time, after their reminders: they trail the alerts.
    stage.wait_for(lambda: 0 not in told(), 90, "every ended subscription is told")
    counts = told()
    missing, repeated = counts.count(0), sum(n - 1 for n in counts if n > 1)
    stage.notes.append(f"expiry notices owed: {len(chats)}")
    if missing or repeated:
        stage.problems.append(f"expiry notices: {missing} missing, {repeated} repeated")


class RenterPlayers:
    """Renters keeping the bot busy: each new one sends /start and builds a search, and the
    next one begins as soon as the bot has answered."""

    def __init__(self, telegram, first_chats):
        self.telegram = telegram
        self.first_chats = first_chats
        self.replies = []  # seconds from /start to the bot's greeting
        self.failures = []
        self._stopping = threading.Event()
        self._threads = []

    def start(self):
        for chat in self.first_chats:
            thread = threading.Thread(target=self._play, args=(chat,), daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self):
        self._stopping.set()
        for thread in self._threads:
            thread.join(30)

    def _play(self, chat):
        while not self._stopping.is_set():
            sent = time.monotonic()
            try:
                self.telegram.send_message(chat, "/start")
                self.telegram.wait_for_message(chat, "trial", timeout=15)
                self.replies.append(time.monotonic() - sent)
                for button in ("New search", "Dubai", "Rent"):
                    self.telegram.press(chat, button, timeout=15)
                self.telegram.wait_for_message(chat, "districts", timeout=15)
            except AssertionError as error:
                self.failures.append(f"renter {chat}: {str(error).splitlines()[0]}")
            chat += 1

    def summary(self):
        replies = sorted(self.replies)
        if not replies:
            return "the bot greeted no renter"
        p95 = replies[min(len(replies) - 1, int(len(replies) * 0.95))]
        return f"bot greeted {len(replies)} new renters meanwhile, p95 reply {p95:.2f} s"
