"""The bot component: python-telegram-bot's Application, long-polling in the main thread."""

from django.conf import settings
from telegram import Update

from runtime.components import Component
from telegram_bot.chat import set_commands
from telegram_bot.client import FATAL_TELEGRAM_ERRORS, build_application


class BotComponent(Component):
    name = "bot"
    fatal_errors = FATAL_TELEGRAM_ERRORS

    async def run(self):
        """Poll for updates and answer them until a stop is requested."""
        application = build_application()
        async with application:
            await application.start()
            try:
                await set_commands(application.bot)
                await application.updater.start_polling(
                    poll_interval=0,
                    timeout=settings.TELEGRAM_POLL_TIMEOUT,
                    allowed_updates=Update.ALL_TYPES,
                )
                self.logger.info("bot @%s is polling for updates", application.bot.username)
                await self.beat()
                while not await self.wait(settings.HEARTBEAT_SECONDS):
                    await self.beat()
            finally:
                # Application.shutdown() refuses to run while polling; stop in order first.
                if application.updater.running:
                    await application.updater.stop()
                await application.stop()
        self.logger.info("bot stopped")
