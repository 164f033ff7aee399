"""The renter's own commands beyond building searches: /stop, /resume, /subscription, /latest."""

import logging
from html import escape

from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from telegram import Update
from telegram.ext import CommandHandler, ContextTypes

from runtime.db import db
from subscriptions import outbox, registration, searches
from telegram_bot.listing_message import listing_message

logger = logging.getLogger(__name__)


def register_account_handlers(application):
    application.add_handler(CommandHandler("stop", stop_alerts))
    application.add_handler(CommandHandler("resume", resume_alerts))
    application.add_handler(CommandHandler("subscription", show_subscription))
    application.add_handler(CommandHandler("latest", show_latest))


async def stop_alerts(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Pauses every search of the renter and says how to come back."""
    paused, total = await db(searches.set_all_paused)(update.effective_chat.id, True)
    logger.info(
        "/stop from chat %s: %d of %d searches paused", update.effective_chat.id, paused, total
    )
    await update.effective_message.reply_html(
        _("🔕 Alerts stopped; your searches are kept. Send /resume to turn them back on.")
    )


async def resume_alerts(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Turns every paused search of the renter back on and says how many that was."""
    resumed, total = await db(searches.set_all_paused)(update.effective_chat.id, False)
    await update.effective_message.reply_html(resumed_text(resumed, total))


def resumed_text(resumed, total):
    if not total:
        return _("You have no saved searches yet. Send /new to build one.")
    if not resumed:
        return ngettext(
            "Your search was on already: nothing to resume.",
            "All your %(n)d searches were on already: nothing to resume.",
            total,
        ) % {"n": total}
    text = ngettext(
        "🔔 Alerts are on again: %(n)d paused search turned back on.",
        "🔔 Alerts are on again: %(n)d paused searches turned back on.",
        resumed,
    ) % {"n": resumed}
    if total > resumed:
        text += " " + ngettext(
            "%(n)d was on already.", "%(n)d were on already.", total - resumed
        ) % {"n": total - resumed}
    return text


async def show_subscription(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Shows until when the renter's access runs, and how to renew."""
    status = await db(registration.access_status)(update.effective_chat.id)
    await update.effective_message.reply_html(subscription_text(status))


def subscription_text(status):
    renew = _(
        "To renew, send /renew and pay with Telegram Stars; your searches are kept meanwhile."
    )
    if status.access_until is None:
        return _("⌛ You have no active access: new listings are not sent to you.") + "\n" + renew
    days = max(0, (status.access_until - timezone.now()).days)
    until = formats.date_format(timezone.localtime(status.access_until), "j M Y")
    kind = _("free trial") if status.kind == "trial" else _("access")
    left = ngettext("%(n)d day left", "%(n)d days left", days) % {"n": days}
    return (
        _("Your {kind} runs until <b>{until}</b> ({left}).").format(
            kind=kind, until=until, left=left
        )
        + "\n"
        + renew
    )


async def show_latest(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Sends the last few listings again, newest first."""
    recent = await db(outbox.recently_sent)(update.effective_chat.id)
    if not recent:
        await update.effective_message.reply_html(
            _(
                "Nothing sent to you yet: I am watching and will write as soon as a listing "
                "matches one of your searches."
            )
        )
        return
    for listing, search_name in recent:
        message = listing_message(listing, search_name)
        await update.effective_message.reply_html(message.text, reply_markup=message.keyboard)


def recent_matches_text(listings):
    """A short list of what a just-saved search would already have found."""
    if not listings:
        return _("Nothing matches yet — I am watching and will write when something does.")
    lines = [_("The latest listings that match:")]
    for listing in listings:
        lines.append(
            f'• <a href="{escape(listing.url, quote=True)}">{escape(listing.title[:80])}</a>'
        )
    return "\n".join(lines)
