"""Messages to the staff: the people listed in TELEGRAM_STAFF_IDS."""

import logging
from html import escape

from django.conf import settings

from telegram_bot.sending import Outcome, send_html

logger = logging.getLogger(__name__)


async def tell_staff(bot, text):
    """Send `text` (plain, escaped here) to every staff member; returns how many got it."""
    told = 0
    for chat_id in settings.TELEGRAM_STAFF_IDS:
        result = await send_html(bot, chat_id, escape(text))
        if result.outcome is Outcome.SENT:
            told += 1
        else:
            logger.warning("staff alert to %s not sent: %s", chat_id, result.error)
    if not settings.TELEGRAM_STAFF_IDS:
        logger.warning("no TELEGRAM_STAFF_IDS to tell: %s", text)
    return told
