"""The bot component: python-telegram-bot's Application in the main thread, long-polling, or
receiving updates on a webhook when TELEGRAM_WEBHOOK_URL is set.

Only the holder of the bot's polling lease polls (`runtime/leases.py`): a second process with
the same token says so in one line and stops, rather than fight the first for updates.
"""

import time
from urllib.parse import urlsplit

from django.conf import settings
from telegram import Update
from telegram.error import Conflict

from runtime.components import Component
from runtime.db import db
from runtime.leases import (
    Holder,
    PollingRefused,
    bot_id_of,
    lease_seconds,
    release_polling_lease,
    renew_polling_lease,
    take_polling_lease,
)
from telegram_bot.chat import set_commands
from telegram_bot.client import FATAL_TELEGRAM_ERRORS, bot_token, build_application


class BotComponent(Component):
    name = "bot"
    # A lease refused or lost is no crash: a restart would only be refused in turn.
    fatal_errors = (*FATAL_TELEGRAM_ERRORS, PollingRefused)

    def __init__(self):
        super().__init__()
        self.holder = Holder.this_component()
        self.conflicts = 0
        self.conflict_reported_at = float("-inf")

    async def run(self):
        """Take the polling lease, then poll and answer updates until a stop is requested."""
        if settings.TELEGRAM_WEBHOOK_URL:
            await self.serve_webhook()
            return

        bot_id = bot_id_of(bot_token())
        await db(take_polling_lease)(bot_id, self.holder, lease_seconds())
        try:
            await self.poll(bot_id)
        finally:
            # Only a clean stop lets go: after a crash the restarted component takes it again.
            if self.stopping:
                await self.release_lease(bot_id)
        self.logger.info("bot stopped")

    async def poll(self, bot_id):
        """Poll for updates, renewing the lease with every heartbeat, until a stop is requested."""
        application = build_application()
        async with application:
            await application.start()
            try:
                await set_commands(application.bot)
                await application.updater.start_polling(
                    poll_interval=0,
                    timeout=settings.TELEGRAM_POLL_TIMEOUT,
                    allowed_updates=Update.ALL_TYPES,
                    error_callback=self.on_polling_error,
                )
                self.logger.info("bot @%s is polling for updates", application.bot.username)
                await self.beat()
                while not await self.wait(settings.HEARTBEAT_SECONDS):
                    await db(renew_polling_lease)(bot_id, self.holder, lease_seconds())
                    await self.beat()
            finally:
                # Application.shutdown() refuses to run while polling; stop in order first.
                if application.updater.running:
                    await application.updater.stop()
                await application.stop()

    async def serve_webhook(self):
        """Receive updates on the webhook and answer them until a stop is requested.

        Telegram posts to one URL per bot, set by the latest process to start: there is no
        lease to take. PTB's server refuses a request without the secret token with 403.
        """
        application = build_application()
        async with application:
            await application.start()
            try:
                await set_commands(application.bot)
                await application.updater.start_webhook(
                    listen=settings.TELEGRAM_WEBHOOK_LISTEN,
                    port=settings.TELEGRAM_WEBHOOK_PORT,
                    url_path=urlsplit(settings.TELEGRAM_WEBHOOK_URL).path.lstrip("/"),
                    webhook_url=settings.TELEGRAM_WEBHOOK_URL,
                    secret_token=settings.TELEGRAM_WEBHOOK_SECRET,
                    allowed_updates=Update.ALL_TYPES,
                )
                self.logger.info(
                    "bot @%s receives updates at %s (listening on %s:%d)",
                    application.bot.username,
                    settings.TELEGRAM_WEBHOOK_URL,
                    settings.TELEGRAM_WEBHOOK_LISTEN,
                    settings.TELEGRAM_WEBHOOK_PORT,
                )
                await self.beat()
                while not await self.wait(settings.HEARTBEAT_SECONDS):
                    await self.beat()
            finally:
                if application.updater.running:
                    await application.updater.stop()
                await application.stop()
        self.logger.info("bot stopped")

    async def release_lease(self, bot_id):
        try:
            await db(release_polling_lease)(bot_id, self.holder)
        except Exception as error:
            # Stopping goes on: the lease runs out by itself, and a new bot waits until then.
            self.logger.warning("could not release the polling lease: %s", error)

    def on_polling_error(self, error):
        """PTB's polling loop reports a failed getUpdates here, then retries with a backoff."""
        if not isinstance(error, Conflict):
            self.logger.warning("polling for updates failed, retrying: %s", error)
            return

        # Each retry would log again: say it once, then once a lease period while it lasts.
        self.conflicts += 1
        now = time.monotonic()
        if now - self.conflict_reported_at < lease_seconds():
            return
        self.conflict_reported_at = now
        self.logger.error(
            "Telegram refused getUpdates with 409 (%s): a process this database does not know "
            "polls with the same token, e.g. another deployment; stop it. This bot keeps "
            "polling; conflicts so far: %d",
            error,
            self.conflicts,
        )
