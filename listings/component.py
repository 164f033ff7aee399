"""The parser component: claims due sources, fetches and parses them, stores what is new and
delivers the resulting notifications with its own Bot."""

import asyncio
import time
from urllib.parse import urlsplit

from django.conf import settings

from listings.adapters.base import AdapterError
from listings.fetching import Fetcher, make_http_client
from listings.models import FetchRun
from listings.parsing_pool import parse_page, retire_idle_pool, shutdown_pool
from listings.storing import RunOutcome, claim_due_source, record_run, release_claim
from runtime.components import Component
from runtime.db import db, recorded
from subscriptions.outbox import release_stale_claims, seconds_until_next_due
from telegram_bot.client import FATAL_TELEGRAM_ERRORS, make_bot
from telegram_bot.delivering import deliver_one_pending
from telegram_bot.staff import tell_staff


class ParserComponent(Component):
    name = "parser"
    fatal_errors = FATAL_TELEGRAM_ERRORS

    async def run(self):
        """Parse due sources and drain the outbox until a stop is requested."""
        async with make_bot() as bot, make_http_client() as client:
            self.bot, self.fetcher = bot, Fetcher(client)
            try:
                await self.work(bot)
            finally:
                shutdown_pool()

    async def work(self, bot):
        """The parser's loop: a due source, then the outbox, then a pause when idle."""
        next_release = 0.0
        while not self.stopping:
            # A claim goes stale only after DELIVERY_CLAIM_TIMEOUT_SECONDS: look twice that often.
            if time.monotonic() >= next_release:
                released = await db(release_stale_claims)()
                if released:
                    self.logger.warning("requeued %d deliveries a crashed sender left", released)
                next_release = time.monotonic() + settings.DELIVERY_CLAIM_TIMEOUT_SECONDS / 2
            parsed = await self.parse_one_due_source()
            delivered = await self.deliver_pending(bot)
            await self.beat()
            if not parsed and not delivered:
                retire_idle_pool(settings.PARSER_POOL_IDLE_SECONDS)
                await self.wait(await self.idle_seconds())

    async def idle_seconds(self):
        """How long to sleep: until the next delivery is due, PARSER_IDLE_SECONDS at most.

        A delivery held back only because its chat heard from us a moment ago is due again
        within the chat interval, not at the next idle pass; the tenth of a second keeps a
        zero interval from spinning.
        """
        until_delivery = await db(seconds_until_next_due)()
        if until_delivery is None:
            return settings.PARSER_IDLE_SECONDS
        half_a_turn = max(settings.TELEGRAM_CHAT_INTERVAL_SECONDS / 2, 0.1)
        return min(settings.PARSER_IDLE_SECONDS, max(until_delivery, half_a_turn))

    async def parse_one_due_source(self):
        """Claim one due source, fetch and parse it, store the run; False if none was due."""
        source = await db(claim_due_source)()
        if source is None:
            return False

        started = time.monotonic()
        try:
            outcome = await self.fetch_and_parse(source)
            took = time.monotonic() - started
            stored = await recorded(record_run, source.id, outcome, took)
        except BaseException:
            # A run that could not finish gives its source back at once, rather than leaving
            # it claimed, and unwatched, until the claim expires.
            await recorded(release_claim, source.id)
            raise

        self.logger.info(
            "source=%s state=%s pages=%d found=%d new=%d updated=%d removed=%d reposts=%d "
            "deliveries=%d took=%.2fs%s",
            source.name,
            outcome.state,
            outcome.pages,
            len(outcome.listings),
            stored.new,
            stored.updated,
            stored.removed,
            stored.reposts,
            stored.deliveries,
            took,
            f" error={outcome.error}" if outcome.error else "",
        )
        if stored.alert:
            await tell_staff(self.bot, stored.alert)
        return True

    async def fetch_and_parse(self, source):
        """Follow the source's pages up to the page cap; returns the RunOutcome."""
        url, visited, listings, first = source.search_url, set(), [], None
        while url and url not in visited and len(visited) < settings.PARSER_MAX_PAGES:
            visited.add(url)
            # Only the first page is asked for conditionally: it is the one we saw last time.
            validators = {"etag": source.etag, "last_modified": source.last_modified}
            fetched = await self.fetcher.fetch(url, **(validators if first is None else {}))
            if fetched.state != FetchRun.State.OK and first is None:
                return RunOutcome(
                    fetched.state, pages=1, error=fetched.error, retry_at=fetched.retry_at
                )
            if fetched.state != FetchRun.State.OK:
                # A later page failed: keep what the first ones gave, but conclude nothing
                # about the listings that may have been on the pages not read.
                error = f"page {len(visited)}: {fetched.error}"
                return ok_outcome(first, listings, len(visited), error, complete=False)
            if fetched.not_modified:
                return RunOutcome(FetchRun.State.OK, pages=1, not_modified=True)
            first = first or fetched

            try:
                # Parsing is CPU work: in a worker process it cannot hold this process's GIL.
                result = await parse_page(source.adapter, fetched.page, source.selectors)
            except AdapterError as error:
                return RunOutcome(FetchRun.State.BROKEN, pages=len(visited), error=str(error))
            listings.extend(result.listings)
            url = same_site_or_none(result.next_page_url, source.search_url)

        problem = incomplete_records(listings)
        if problem:
            return RunOutcome(FetchRun.State.BROKEN, pages=len(visited), error=problem)
        return ok_outcome(first, listings, len(visited))

    async def deliver_pending(self, bot):
        """Send due deliveries while there are any; True if at least one was handled.

        Several senders run at once: each waits on Telegram's answer (and on its chat's turn)
        while the others go on, and the shared rate limiter keeps them within the limits.
        """

        async def sender():
            handled = 0
            while not self.stopping and await deliver_one_pending(bot, self.wait):
                handled += 1
            return handled

        handled = await asyncio.gather(*(sender() for _ in range(settings.DELIVERY_SENDERS)))
        return sum(handled) > 0


def ok_outcome(first_page, listings, pages, error="", complete=True):
    return RunOutcome(
        FetchRun.State.OK,
        listings,
        pages,
        error,
        etag=first_page.etag,
        last_modified=first_page.last_modified,
        complete=complete,
    )


def incomplete_records(listings):
    """Why these records say the adapter no longer reads the page right; "" if they are fine.

    One flat "on request" has no price; a page where none has one was misread.
    """
    without_link = sum(1 for p in listings if not (p.url and p.external_id))
    if without_link:
        return f"{without_link} of {len(listings)} records have no id or URL"
    if listings and all(p.price is None for p in listings):
        return f"none of the {len(listings)} records has a price"
    return ""


def same_site_or_none(next_url, search_url):
    """Follow pagination only on the site being watched: a saved page or a hostile one may
    link anywhere."""
    if next_url and urlsplit(next_url).netloc == urlsplit(search_url).netloc:
        return next_url
    return None
