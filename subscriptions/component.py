"""The worker component: the subscription lifecycle, told to subscribers with its own Bot."""

from html import escape

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from telegram.error import BadRequest

from runtime.alerts import tell_staff_of_changes
from runtime.components import Component
from runtime.db import db
from subscriptions import broadcasts, lifecycle, outbox
from telegram_bot.client import FATAL_TELEGRAM_ERRORS, make_bot
from telegram_bot.sending import Outcome, send_html
from telegram_bot.staff_chat import progress_text


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


def missed_text(language, missed):
    with translation.override(language or "en"):
        return ngettext(
            "📭 This week {n} new listing matched your searches, but your access has ended. "
            "Send /renew to get them again.",
            "📭 This week {n} new listings matched your searches, but your access has ended. "
            "Send /renew to get them again.",
            missed,
        ).format(n=missed)


# Copies of a broadcast sent in one tick before its progress message is brought up to date.
BROADCAST_BATCH = 30


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

        if settings.MISSED_LISTINGS_NOTICE:
            while not self.stopping and await self.tell_one_what_they_missed(bot):
                notified += 1

        broadcast = 0
        while not self.stopping and broadcast < BROADCAST_BATCH and await self.broadcast_one(bot):
            broadcast += 1
        await self.show_broadcast_progress(bot)

        # Staff alerts are told, not worked through: they never make the next tick come sooner.
        alerted = await tell_staff_of_changes(bot, self.name)

        if expired or reminded or notified or alerted or broadcast:
            self.logger.info(
                "worker tick: expired=%d reminded=%d notified=%d staff_alerts=%d broadcast=%d",
                expired,
                reminded,
                notified,
                alerted,
                broadcast,
            )
        return bool(expired or reminded or notified or broadcast)

    async def tell_one_what_they_missed(self, bot):
        """Tell one lapsed subscriber how many listings they missed this week; False if none."""
        notice = await db(lifecycle.claim_one_missed_notice)()
        if notice is None:
            return False
        return await self.send_notice(
            bot,
            notice.chat_id,
            notice.subscriber_id,
            missed_text(notice.language, notice.missed),
            unclaim=lambda: lifecycle.unclaim_missed_notice(
                notice.subscriber_id, notice.claimed_at
            ),
        )

    async def broadcast_one(self, bot):
        """Send one subscriber their copy of a broadcast; False if none is waiting."""
        message = await db(broadcasts.claim_one_message)()
        if message is None:
            return False
        return await self.send_notice(
            bot,
            message.chat_id,
            message.subscriber_id,
            escape(message.text),
            unclaim=lambda: broadcasts.unclaim(message.id),
            sent=lambda: broadcasts.mark_sent(message.id),
            failed=lambda error: broadcasts.mark_failed(message.id, error),
        )

    async def show_broadcast_progress(self, bot):
        """Edit each broadcast's progress message in its author's chat."""
        for progress in await db(broadcasts.progress_of_sending)():
            if progress.progress_message_id is None:
                continue
            text = progress_text(progress.total, progress.sent, progress.failed, progress.finished)
            try:
                await bot.edit_message_text(
                    text, chat_id=progress.author_chat_id, message_id=progress.progress_message_id
                )
            except BadRequest as error:
                # "message is not modified" is no news; anything else only costs the display.
                if "not modified" not in str(error):
                    self.logger.warning("broadcast %s progress: %s", progress.broadcast_id, error)

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

    async def send_notice(
        self, bot, chat_id, subscriber_id, text, unclaim, sent=None, failed=None
    ):
        """Send a claimed notice; give the claim back when it could not go out for now.

        `sent` and `failed(error)` record the outcome where the claim itself does not.
        Returns False when the rest of this tick's notices should wait for the next tick.
        """
        result = await send_html(bot, chat_id, text)
        if failed and result.outcome in (Outcome.BLOCKED, Outcome.FAILED):
            await db(failed)(result.error)
        match result.outcome:
            case Outcome.SENT:
                self.logger.info("notice sent to chat %s", chat_id)
                if sent:
                    await db(sent)()
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
