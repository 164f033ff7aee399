"""Staff commands in the chat: /stats, /grant and /broadcast. Anyone else gets the ordinary
help."""

import logging
from html import escape

from django.conf import settings
from django.utils import formats, timezone
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CommandHandler, ContextTypes

from runtime.db import db
from subscriptions import broadcasts, stats
from subscriptions.registration import extend_access
from telegram_bot import screens
from telegram_bot.handlers import PatternButtonHandler

logger = logging.getLogger(__name__)

MAX_GRANT_DAYS = 3650
BROADCAST_BUTTON = r"^b:\d+:(go|x)$"


def register_staff_handlers(application):
    application.add_handler(CommandHandler("stats", show_stats))
    application.add_handler(CommandHandler("grant", grant))
    application.add_handler(CommandHandler("broadcast", compose_broadcast))
    application.add_handler(PatternButtonHandler(decide_broadcast, pattern=BROADCAST_BUTTON))


def is_staff(update):
    return update.effective_user and update.effective_user.id in settings.TELEGRAM_STAFF_IDS


async def refuse(update):
    """To anyone but staff, a staff command is just an unknown one."""
    logger.warning("chat %s tried a staff command", update.effective_chat.id)
    await update.effective_message.reply_html(screens.help_text())


async def show_stats(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Shows staff today's numbers."""
    if not is_staff(update):
        await refuse(update)
        return
    numbers = await db(stats.todays_stats)()
    await update.effective_message.reply_html(stats_text(numbers))


def stats_text(numbers):
    lines = [
        "<b>Today</b>",
        f"Subscribers: {numbers.subscribers} ({numbers.active} with access, "
        f"{numbers.blocked} blocked the bot)",
        f"Deliveries: {numbers.sent_today} sent, {numbers.failed_today} failed, "
        f"{numbers.pending} waiting",
        "New listings: "
        + (
            ", ".join(f"{escape(name)} {count}" for name, count in numbers.listings_today)
            or "none"
        ),
    ]
    if numbers.sources_not_ok:
        lines.append("Sources not ok:")
        lines += [
            f"• {escape(name)}: {state} — {escape(error[:100])}"
            for name, state, error in numbers.sources_not_ok
        ]
    else:
        lines.append("All sources ok.")
    return "\n".join(lines)


async def grant(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Gives a subscriber days of access: /grant <chat id or @username> <days>."""
    if not is_staff(update):
        await refuse(update)
        return

    usage = "Usage: /grant &lt;chat id or @username&gt; &lt;days&gt;, e.g. /grant @rita 30"
    if len(context.args) != 2 or not context.args[1].isdigit():
        await update.effective_message.reply_html(usage)
        return
    reference, days = context.args[0], int(context.args[1])
    if not 1 <= days <= MAX_GRANT_DAYS:
        await update.effective_message.reply_html(f"Days must be 1 to {MAX_GRANT_DAYS}.")
        return

    granted = await db(grant_days)(reference, days)
    if granted is None:
        await update.effective_message.reply_html(f"No subscriber {escape(reference)}.")
        return
    until = formats.date_format(timezone.localtime(granted), "j M Y")
    logger.info("staff %s granted %s %d days", update.effective_user.id, reference, days)
    await update.effective_message.reply_html(
        f"Granted {days} days to {escape(reference)}: access until {until}."
    )


def grant_days(reference, days):
    subscriber = stats.find_subscriber(reference)
    if subscriber is None:
        return None
    return extend_access(subscriber, days).expires_at


async def compose_broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Shows staff a preview of /broadcast <text> with how many it reaches, to confirm."""
    if not is_staff(update):
        await refuse(update)
        return

    message = update.effective_message
    text = (message.text or "").partition(" ")[2].strip()
    if not text:
        await message.reply_html("Usage: /broadcast &lt;text&gt;: everyone with access gets it.")
        return
    if len(text) > broadcasts.MAX_TEXT_LENGTH:
        await message.reply_html(f"Keep it under {broadcasts.MAX_TEXT_LENGTH} characters.")
        return

    broadcast, reach = await db(broadcasts.draft)(message.chat_id, text)
    buttons = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(f"Send to {reach}", callback_data=f"b:{broadcast.pk}:go"),
                InlineKeyboardButton("Cancel", callback_data=f"b:{broadcast.pk}:x"),
            ]
        ]
    )
    await message.reply_html(
        f"<b>Preview</b> — this goes to {reach} subscribers with access:\n\n{escape(text)}",
        reply_markup=buttons,
    )


async def decide_broadcast(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Sends a previewed broadcast, or drops it, as staff pressed."""
    query = update.callback_query
    await query.answer()
    if not is_staff(update) or query.message is None:
        logger.warning("user %s pressed a broadcast button", update.effective_user.id)
        return

    _, broadcast_id, choice = query.data.split(":")
    if choice == "x":
        cancelled = await db(broadcasts.cancel)(int(broadcast_id))
        await query.edit_message_text("Broadcast cancelled." if cancelled else "Already decided.")
        return
    total = await db(broadcasts.confirm)(int(broadcast_id), query.message.message_id)
    if total is None:
        await query.edit_message_reply_markup(None)
        return
    logger.info(
        "staff %s started broadcast %s to %d", update.effective_user.id, broadcast_id, total
    )
    await query.edit_message_text(progress_text(total, 0, 0, finished=total == 0))


def progress_text(total, sent, failed, finished):
    if finished:
        return f"Broadcast sent: {sent} of {total} delivered, {failed} failed."
    return f"Broadcast going out: {sent} of {total} sent, {failed} failed so far."
