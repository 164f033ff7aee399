"""Handler classes shared by the chat's features."""

from telegram import Update
from telegram.ext import CallbackQueryHandler


class PatternButtonHandler(CallbackQueryHandler):
    """Presses whose data matches the pattern, and only those: PTB hands a patterned handler
    a press without any data too (a button of an old or forged message)."""

    def check_update(self, update):
        query = update.callback_query if isinstance(update, Update) else None
        return bool(query and query.data) and super().check_update(update)
