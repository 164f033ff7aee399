"""Every message the parser and the worker send goes through here, and every answer from
Telegram is classified on purpose: sent, pause, retry later, blocked, moved, or failed."""

import enum
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta

from telegram import InputMediaPhoto, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter

logger = logging.getLogger(__name__)


class Outcome(enum.Enum):
    SENT = "sent"
    PAUSE = "pause"  # Telegram's flood control: the whole bot must wait
    RETRY_LATER = "retry later"  # timeouts, network trouble, Telegram's 5xx
    BLOCKED = "blocked"  # the chat will never accept our messages again
    MIGRATED = "migrated"  # a group became a supergroup under a new chat id
    FAILED = "failed"  # Telegram refused this message for good


@dataclass
class SendResult:
    outcome: Outcome
    message_ids: list[int] = field(default_factory=list)
    error: str = ""
    retry_after: float = 0.0
    new_chat_id: int | None = None


# The outbox classifies every answer itself and schedules its own retries.
OUTBOX = {"retry": False}
UNREACHABLE_CHAT_PHRASES = ("chat not found", "user not found", "peer_id_invalid")
# What Telegram says when it cannot fetch or use a photo we named by URL.
PHOTO_PROBLEM = re.compile(
    r"wrong file identifier|failed to get http url content|wrong type of the web page content|"
    r"webpage_curl_failed|webpage_media_empty|image_process_failed|photo_invalid|"
    r"wrong remote file identifier|media_empty",
    re.IGNORECASE,
)


async def send_listing(bot, chat_id, message):
    """Send a listing with its photos: as an album, else with one photo, else as text only.

    A photo Telegram cannot fetch never costs the listing: each fallback sends less.
    """
    photos = message.photos
    if len(photos) > 1:
        media = [
            InputMediaPhoto(
                url, caption=message.caption if n == 0 else None, parse_mode=ParseMode.HTML
            )
            for n, url in enumerate(photos)
        ]
        result = await attempt(bot.send_media_group(chat_id, media, rate_limit_args=OUTBOX))
        if not is_photo_problem(result):
            return result
    if photos:
        result = await attempt(
            bot.send_photo(
                chat_id,
                photos[0],
                caption=message.caption,
                parse_mode=ParseMode.HTML,
                reply_markup=message.keyboard,
                rate_limit_args=OUTBOX,
            )
        )
        if not is_photo_problem(result):
            return result
    return await send_html(bot, chat_id, message.text, message.keyboard)


async def attempt(request):
    """Await a send and classify what came of it."""
    try:
        sent = await request
    except Exception as error:
        return classify_error(error)
    messages = sent if isinstance(sent, tuple | list) else [sent]
    return SendResult(Outcome.SENT, message_ids=[m.message_id for m in messages])


def is_photo_problem(result):
    return result.outcome is Outcome.FAILED and bool(PHOTO_PROBLEM.search(result.error))


async def send_html(bot, chat_id, text, reply_markup=None):
    """Send an HTML message and classify the answer; never raises for a Telegram error."""
    return await attempt(
        bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=reply_markup,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            rate_limit_args=OUTBOX,
        )
    )


def classify_error(error):
    """Turn a python-telegram-bot exception into what the sender must do about it."""
    text = str(error)
    if isinstance(error, RetryAfter):
        return SendResult(Outcome.PAUSE, error=text, retry_after=seconds(error.retry_after))
    if isinstance(error, ChatMigrated):
        return SendResult(Outcome.MIGRATED, error=text, new_chat_id=error.new_chat_id)
    if isinstance(error, Forbidden):
        return SendResult(Outcome.BLOCKED, error=text)
    if isinstance(error, BadRequest):
        unreachable = any(phrase in text.lower() for phrase in UNREACHABLE_CHAT_PHRASES)
        return SendResult(Outcome.BLOCKED if unreachable else Outcome.FAILED, error=text)
    if isinstance(error, NetworkError):
        return SendResult(Outcome.RETRY_LATER, error=f"{type(error).__name__}: {text}")
    raise error


def seconds(period):
    return period.total_seconds() if isinstance(period, timedelta) else float(period)
