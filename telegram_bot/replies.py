"""Answering in the chat without tripping over Telegram: presses on messages that cannot be
edited, replies Telegram refuses, and errors that must not turn into a loop of apologies."""

import contextlib
import logging

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from runtime.db import db
from subscriptions import outbox
from subscriptions.models import Subscriber
from telegram_bot import screens
from telegram_bot.sending import Outcome, classify_error

logger = logging.getLogger(__name__)


def chat_id_of(update: Update):
    """The chat an update is about; for a press without a message (an inline message, or one
    Telegram no longer hands out) the presser's private chat."""
    if update.effective_chat:
        return update.effective_chat.id
    if update.callback_query:
        return update.callback_query.from_user.id
    return None


async def answer(query, text=None, show_alert=False):
    """Answer a press so its spinner stops; one Telegram already forgot is no error."""
    try:
        await query.answer(text, show_alert=show_alert)
    except BadRequest as error:
        logger.info("could not answer callback query %s: %s", query.id, error)


async def show(query, chat_id, text, keyboard):
    """Replace the pressed message's content; an unchanged screen is no error."""
    # A message Telegram no longer hands out comes dated 0: it cannot be edited.
    if query.message is not None and query.message.is_accessible:
        try:
            await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
            return
        except BadRequest as error:
            if "not modified" in str(error).lower():
                return
            logger.info("could not edit message %s: %s", query.message.message_id, error)

    # No message to edit (too old, deleted, inline): the step is already stored, so show its
    # screen as a new message rather than leave the renter on the old one.
    await query.get_bot().send_message(
        chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard
    )


async def report_error(update: object, context: ContextTypes.DEFAULT_TYPE):
    """Logs a failed update once and tells the renter, unless Telegram refuses their chat."""
    update_id = update.update_id if isinstance(update, Update) else None
    chat_id = chat_id_of(update) if isinstance(update, Update) else None
    outcome = telegram_outcome(context.error)

    # Blocked, deactivated or gone: every reply would be refused again, apologies included.
    if outcome is Outcome.BLOCKED:
        logger.warning(
            "update %s: chat %s refuses messages: %s", update_id, chat_id, context.error
        )
        if chat_id is not None:
            await db(mark_chat_blocked)(chat_id, str(context.error))
        return

    logger.error("update %s failed", update_id, exc_info=context.error)
    if chat_id is None:
        return
    # A press left unanswered keeps its spinner until Telegram gives up on it.
    if update.callback_query:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
    # Telegram refused that reply for good: "try again" would only repeat the refusal.
    text = screens.refused_text() if outcome is Outcome.FAILED else screens.error_text()
    try:
        await context.bot.send_message(chat_id, text)
    except TelegramError as error:
        logger.warning("could not tell chat %s about the error either: %s", chat_id, error)


def telegram_outcome(error):
    """What a Telegram error means for the chat (None for any other error)."""
    if not isinstance(error, TelegramError):
        return None
    try:
        return classify_error(error).outcome
    except TelegramError:
        return None


def mark_chat_blocked(chat_id, error):
    subscriber_id = Subscriber.objects.filter(chat_id=chat_id).values_list("pk", flat=True).first()
    if subscriber_id is not None:
        outbox.mark_subscriber_blocked(subscriber_id, error)
