"""Draining the outbox: one pending delivery at a time, each answer from Telegram handled."""

import logging

from django.conf import settings
from django.utils import translation

from runtime.db import db, recorded
from subscriptions import outbox
from telegram_bot.listing_message import listing_message
from telegram_bot.sending import Outcome, send_listing

logger = logging.getLogger(__name__)

MAX_RETRY_DELAY_SECONDS = 600


async def deliver_one_pending(bot, pause):
    """Claim the oldest due delivery, send it and record the outcome; False if none was due.

    `pause(seconds)` is awaited when Telegram asks the whole bot to slow down; it returns
    early when the component is stopping.
    """
    claimed = await db(outbox.claim_next_delivery)()
    if claimed is None:
        return False

    message = await db(message_for)(claimed)
    result = await send_listing(bot, claimed.chat_id, message)
    await record_outcome(claimed, result, pause)
    return True


def message_for(claimed):
    """The listing's message, in the subscriber's language."""
    with translation.override(claimed.language or "en"):
        return listing_message(claimed.listing, claimed.search_name, claimed.price_change)


async def record_outcome(claimed, result, pause):
    delivery = f"delivery {claimed.id} (listing {claimed.listing.pk}, chat {claimed.chat_id})"
    match result.outcome:
        case Outcome.SENT:
            await recorded(outbox.mark_sent, claimed.id, result.message_ids)
            logger.info("sent %s", delivery)
        case Outcome.PAUSE:
            logger.warning("Telegram asked to wait %.0f s; %s waits", result.retry_after, delivery)
            await recorded(outbox.schedule_retry, claimed.id, result.error, 0, count_attempt=False)
            await pause(result.retry_after)
        case Outcome.MIGRATED:
            logger.info("%s: the group moved to chat %s", delivery, result.new_chat_id)
            await recorded(outbox.move_subscriber_chat, claimed.subscriber_id, result.new_chat_id)
            await recorded(outbox.schedule_retry, claimed.id, result.error, 0, count_attempt=False)
        case Outcome.BLOCKED:
            logger.info("%s: chat unreachable (%s); subscriber blocked", delivery, result.error)
            await recorded(outbox.mark_subscriber_blocked, claimed.subscriber_id, result.error)
        case Outcome.RETRY_LATER if claimed.attempts < settings.DELIVERY_MAX_ATTEMPTS:
            delay = retry_delay(claimed.attempts)
            logger.warning("%s failed (%s); retry in %d s", delivery, result.error, delay)
            await recorded(outbox.schedule_retry, claimed.id, result.error, delay)
        case _:
            logger.error("%s failed for good: %s", delivery, result.error)
            await recorded(outbox.mark_failed, claimed.id, result.error)


def retry_delay(attempts):
    """Seconds before the next try after `attempts` failed ones: doubling, ten minutes at most."""
    return min(settings.DELIVERY_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_DELAY_SECONDS)
