"""The worker component: the subscription lifecycle, told to subscribers with its own Bot."""

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from runtime.alerts import tell_staff_of_changes
from runtime.components import Component
from runtime.db import db
from subscriptions import lifecycle, outbox
from telegram_bot.client import FATAL_TELEGRAM_ERRORS, make_bot
from telegram_bot.sending import Outcome, send_html


def expiry_notice_text(language):
    with translation.override(language or "en"):
        return _(
            "⌛ <b>Your Rentwatch access has ended.</b>\n"
            "You will not receive new listings until it is renewed. "
            "Send /subscription to see how to renew; your searches are kept."
        )


def reminder_text(language, days, expires_at):
    with translation.override(language or "en"):
        until = formats.date_format(timezone.localtime(expires_at), "j M Y")
        return ngettext(
            "⏳ Your Rentwatch access ends tomorrow, {until}. Send /subscription to renew it.",
            "⏳ Your Rentwatch access ends in {days} days, on {until}. "
            "Send /subscription to renew it.",
            days,
        ).format(days=days, until=until)


class WorkerComponent(Component):
    name = "worker"
    fatal_errors = FATAL_TELEGRAM_ERRORS

    async def run(self):
        """Run lifecycle ticks until a stop is requested."""
        async with make_bot() as bot:
            while not self.stopping:
                worked = await self.tick(bot)
                await self.beat()
                if not worked:
                    await self.wait(settings.WORKER_TICK_SECONDS)

    async def tick(self, bot):
        """Expire what is due, send reminders and notices, alert staff; True if there was work."""
        expired = 0
        while not self.stopping and await db(lifecycle.expire_one_subscription)():
            expired += 1

        reminded = 0
        while not self.stopping and await self.remind_one(bot):
            reminded += 1

        notified = 0
        while not self.stopping and await self.notify_one_expiry(bot):
            notified += 1

        # Staff alerts are told, not worked through: they never make the next tick come sooner.
        alerted = await tell_staff_of_changes(bot, self.name)

        if expired or reminded or notified or alerted:
            self.logger.info(
                "worker tick: expired=%d reminded=%d notified=%d staff_alerts=%d",
                expired,
                reminded,
                notified,
                alerted,
            )
        return bool(expired or reminded or notified)

    async def remind_one(self, bot):
        """Remind one subscriber that their access ends soon; False if nobody is due."""
        reminder = await db(lifecycle.claim_one_reminder)()
        if reminder is None:
            return False
        text = reminder_text(reminder.language, reminder.days, reminder.expires_at)
        return await self.send_notice(
            bot,
            reminder.chat_id,
            reminder.subscriber_id,
            text,
            unclaim=lambda: lifecycle.unclaim_reminder(reminder.subscription_id, reminder.days),
        )

    async def notify_one_expiry(self, bot):
        """Tell one subscriber their access ended; False if nobody is waiting to be told."""
        notice = await db(lifecycle.claim_one_expiry_notice)()
        if notice is None:
            return False
        return await self.send_notice(
            bot,
            notice.chat_id,
            notice.subscriber_id,
            expiry_notice_text(notice.language),
            unclaim=lambda: lifecycle.unclaim_expiry_notice(notice.subscription_id),
        )

    async def send_notice(self, bot, chat_id, subscriber_id, text, unclaim):
        """Send a claimed notice; give the claim back when it could not go out for now.

        Returns False when the rest of this tick's notices should wait for the next tick.
        """
        result = await send_html(bot, chat_id, text)
        match result.outcome:
            case Outcome.SENT:
                self.logger.info("notice sent to chat %s", chat_id)
            case Outcome.BLOCKED:
                await db(outbox.mark_subscriber_blocked)(subscriber_id, result.error)
            case Outcome.MIGRATED:
                await db(outbox.move_subscriber_chat)(subscriber_id, result.new_chat_id)
                await db(unclaim)()
            case Outcome.PAUSE | Outcome.RETRY_LATER:
                # The next tick, WORKER_TICK_SECONDS away, tries again.
                self.logger.warning("notice to chat %s postponed: %s", chat_id, result.error)
                await db(unclaim)()
                return False
            case Outcome.FAILED:
                self.logger.error("notice to chat %s failed: %s", chat_id, result.error)
        return True
