"""The parser component: claims due sources, fetches and parses them, stores what is new and
delivers the resulting notifications with its own Bot."""

import asyncio
import time
from urllib.parse import urlsplit

from django.conf import settings

from listings.adapters.base import AdapterError, get_adapter
from listings.fetching import fetch_page, make_http_client
from listings.models import FetchRun
from listings.storing import claim_due_source, record_run
from runtime.components import Component
from runtime.db import db
from subscriptions.outbox import release_stale_claims
from telegram_bot.client import make_bot
from telegram_bot.delivering import deliver_one_pending


class ParserComponent(Component):
    name = "parser"

    async def run(self):
        """Parse due sources and drain the outbox until a stop is requested."""
        async with make_bot() as bot, make_http_client() as client:
            released = await db(release_stale_claims)()
            if released:
                self.logger.warning("requeued %d deliveries left unsent by a crash", released)

            while not self.stopping:
                parsed = await self.parse_one_due_source(client)
                delivered = await self.deliver_pending(bot)
                await self.beat()
                if not parsed and not delivered:
                    await self.wait(settings.PARSER_IDLE_SECONDS)

    async def parse_one_due_source(self, client):
        """Claim one due source, fetch and parse it, store the run; False if none was due."""
        source = await db(claim_due_source)()
        if source is None:
            return False

        started = time.monotonic()
        state, listings, pages, error = await self.fetch_and_parse(client, source)
        took = time.monotonic() - started
        stored = await db(record_run)(source.id, state, listings, pages, error, took)

        self.logger.info(
            "source=%s state=%s pages=%d found=%d new=%d updated=%d deliveries=%d took=%.2fs%s",
            source.name,
            state,
            pages,
            len(listings),
            stored.new,
            stored.updated,
            stored.deliveries,
            took,
            f" error={error}" if error else "",
        )
        return True

    async def fetch_and_parse(self, client, source):
        """Follow the pages up to the page cap; returns (state, listings, pages, error)."""
        adapter = get_adapter(source.adapter)
        url, visited, listings = source.search_url, set(), []
        while url and url not in visited and len(visited) < settings.PARSER_MAX_PAGES:
            visited.add(url)
            fetched = await fetch_page(client, url)
            if fetched.state != FetchRun.State.OK:
                return fetched.state, [], len(visited), fetched.error

            try:
                # Parsing is CPU work; a worker thread keeps this loop answering meanwhile.
                result = await asyncio.to_thread(adapter.parse, fetched.page)
            except AdapterError as error:
                return FetchRun.State.BROKEN, [], len(visited), str(error)
            listings.extend(result.listings)
            url = same_site_or_none(result.next_page_url, source.search_url)
        return FetchRun.State.OK, listings, len(visited), ""

    async def deliver_pending(self, bot):
        """Send due deliveries while there are any; True if at least one was handled."""
        delivered = 0
        while not self.stopping and await deliver_one_pending(bot, self.wait):
            delivered += 1
        return delivered > 0


def same_site_or_none(next_url, search_url):
    """Follow pagination only on the site being watched: a saved page or a hostile one may
    link anywhere."""
    if next_url and urlsplit(next_url).netloc == urlsplit(search_url).netloc:
        return next_url
    return None
