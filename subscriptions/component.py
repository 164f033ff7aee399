"""The worker component: the subscription lifecycle, told to subscribers with its own Bot."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from runtime.components import Component
from runtime.db import db
from subscriptions import lifecycle, outbox
from telegram_bot.client import make_bot
from telegram_bot.sending import Outcome, send_html


def expiry_notice_text(language):
    with translation.override(language or "en"):
        return _(
            "⌛ <b>Your Rentwatch access has ended.</b>\n"
            "You will not receive new listings until it is renewed. "
            "Send /subscription to see how to renew; your searches are kept."
        )


class WorkerComponent(Component):
    name = "worker"

    async def run(self):
        """Run lifecycle ticks until a stop is requested."""
        async with make_bot() as bot:
            while not self.stopping:
                worked = await self.tick(bot)
                await self.beat()
                if not worked:
                    await self.wait(settings.WORKER_TICK_SECONDS)

    async def tick(self, bot):
        """Expire what is due and send the notices; True if there was anything to do."""
        expired = 0
        while not self.stopping and await db(lifecycle.expire_one_subscription)():
            expired += 1

        notified = 0
        while not self.stopping and await self.notify_one_expiry(bot):
            notified += 1

        if expired or notified:
            self.logger.info("worker tick: expired=%d notified=%d", expired, notified)
        return bool(expired or notified)

    async def notify_one_expiry(self, bot):
        """Tell one subscriber their access ended; False if nobody is waiting to be told."""
        notice = await db(lifecycle.claim_one_expiry_notice)()
        if notice is None:
            return False

        result = await send_html(bot, notice.chat_id, expiry_notice_text(notice.language))
        match result.outcome:
            case Outcome.SENT:
                self.logger.info("told chat %s that their access ended", notice.chat_id)
            case Outcome.BLOCKED:
                await db(outbox.mark_subscriber_blocked)(notice.subscriber_id, result.error)
            case Outcome.MIGRATED:
                await db(outbox.move_subscriber_chat)(notice.subscriber_id, result.new_chat_id)
                await db(lifecycle.unclaim_expiry_notice)(notice.subscription_id)
            case Outcome.PAUSE | Outcome.RETRY_LATER:
                # The next tick, WORKER_TICK_SECONDS away, tries again.
                self.logger.warning(
                    "expiry notice to chat %s postponed: %s", notice.chat_id, result.error
                )
                await db(lifecycle.unclaim_expiry_notice)(notice.subscription_id)
                return False
            case Outcome.FAILED:
                self.logger.error(
                    "expiry notice to chat %s failed: %s", notice.chat_id, result.error
                )
        return True
