"""Builds the python-telegram-bot objects every component uses, from settings."""

from django.conf import settings
from telegram.error import InvalidToken
from telegram.ext import Application, ApplicationBuilder, ExtBot
from telegram.request import HTTPXRequest

from telegram_bot.ratelimit import shared_limiter

FATAL_TELEGRAM_ERRORS = (InvalidToken,)


class MissingBotToken(Exception):
    """TELEGRAM_BOT_TOKEN is not set."""

    message = (
        "TELEGRAM_BOT_TOKEN is not set: ask @BotFather in Telegram for a token "
        "(/newbot) and put TELEGRAM_BOT_TOKEN=<token> in .env or the environment."
    )


def bot_token():
    token = settings.TELEGRAM_BOT_TOKEN.strip()
    if not token:
        raise MissingBotToken(MissingBotToken.message)
    return token


def file_base_url():
    """Telegram serves files under /file/bot<token>; follow a custom API base the same way."""
    base = settings.TELEGRAM_API_BASE_URL
    head, _, tail = base.rpartition("/bot")
    return f"{head}/file/bot{tail}" if head else base


def make_bot(pool_size=8):
    """A Bot with its own HTTP connection pool, for the parser or the worker; it shares the
    process's rate limiter with every other Bot of the token."""
    timeout = settings.TELEGRAM_SEND_TIMEOUT_SECONDS
    request = HTTPXRequest(
        connection_pool_size=pool_size,
        connect_timeout=10,
        read_timeout=timeout,
        write_timeout=timeout,
        media_write_timeout=timeout,
    )
    return ExtBot(
        bot_token(),
        base_url=settings.TELEGRAM_API_BASE_URL,
        base_file_url=file_base_url(),
        request=request,
        rate_limiter=shared_limiter(),
    )


def build_application() -> Application:
    """The bot component's Application with every handler registered."""
    from telegram_bot.chat import register_handlers
    from telegram_bot.payments import register_payment_handlers

    poll_timeout = settings.TELEGRAM_POLL_TIMEOUT
    application = (
        ApplicationBuilder()
        .token(bot_token())
        .base_url(settings.TELEGRAM_API_BASE_URL)
        .base_file_url(file_base_url())
        .get_updates_read_timeout(poll_timeout + 10)
        # On stop PTB confirms the last updates with one more getUpdates while the long poll
        # may still hold its connection: a second one spares a pool timeout at shutdown.
        .get_updates_connection_pool_size(2)
        .rate_limiter(shared_limiter())
        .build()
    )
    register_handlers(application)
    register_payment_handlers(application)
    return application
