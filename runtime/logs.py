"""Logging helpers: every line names its component, and the bot token never reaches a log."""

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

from django.conf import settings

# Set by each component's supervisor. Context variables follow the component's tasks and its
# database thread (asgiref copies the context into sync_to_async calls), so a line logged
# anywhere below a component carries its name.
current_component = ContextVar("current_component", default="-")


class ComponentFilter(logging.Filter):
    """Add `record.component`: bot, parser, worker, or "-" outside them."""

    def filter(self, record):
        record.component = current_component.get()
        return True


def mask_token(text):
    """The text with the bot token, if it holds it, replaced by a marker."""
    token = getattr(settings, "TELEGRAM_BOT_TOKEN", "")
    return text.replace(token, "<bot-token>") if token else text


class MaskBotTokenFilter(logging.Filter):
    """Replace the bot token, wherever it appears in a record, with a fixed marker."""

    def filter(self, record):
        token = getattr(settings, "TELEGRAM_BOT_TOKEN", "")
        if not token:
            return True

        message = record.getMessage()
        if token in message:
            record.msg = message.replace(token, "<bot-token>")
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and token in record.exc_text:
            record.exc_text = record.exc_text.replace(token, "<bot-token>")
        if record.stack_info and token in record.stack_info:
            record.stack_info = record.stack_info.replace(token, "<bot-token>")
        return True


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line, for log shippers."""

    def format(self, record):
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "component": getattr(record, "component", "-"),
            "message": record.getMessage(),
        }

        # The masking filter may have formatted (and cleaned) the traceback already: reuse it.
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # ASCII escapes keep every line separator out of the line, U+2028 included.
        return json.dumps(entry)
