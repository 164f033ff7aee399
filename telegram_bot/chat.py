"""The bot's handlers: /start, the menu, building and changing searches with buttons and typed
answers, /filters, /help.

Handlers keep nothing between updates; what a renter is building or changing lives in the
database (`subscriptions.searches`), so the bot may restart at any moment.
"""

import logging
import re

from django.core.exceptions import ObjectDoesNotExist
from django.utils import translation
from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from runtime.db import db
from subscriptions import registration, searches
from telegram_bot import account, editing, menu, screens, typed_answers
from telegram_bot.replies import answer, chat_id_of, report_error, show
from telegram_bot.search_buttons import apply_search_action
from telegram_bot.staff_chat import register_staff_handlers

logger = logging.getLogger(__name__)

COMMANDS = [
    ("start", "Start"),
    ("new", "Build a new search"),
    ("filters", "Your searches: change, pause or delete them"),
    ("latest", "The last listings sent to you"),
    ("subscription", "Until when your access runs"),
    ("renew", "Renew with Telegram Stars"),
    ("stop", "Stop all alerts"),
    ("resume", "Turn alerts back on"),
    ("language", "English / Русский"),
    ("help", "How Rentwatch works"),
]
MATCH_BUTTON = re.compile(r"^[se]:\d+:dq:(\d+)$")


def register_handlers(application: Application):
    # Before every other handler: speak the renter's language for this update.
    application.add_handler(TypeHandler(Update, speak_their_language), group=-1)
    application.add_handler(CommandHandler("language", choose_language))
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", show_help))
    application.add_handler(CommandHandler(["filters", "searches"], list_searches))
    application.add_handler(CommandHandler("new", new_search_command))
    account.register_account_handlers(application)
    register_staff_handlers(application)
    application.add_handler(CallbackQueryHandler(button))
    application.add_handler(
        MessageHandler(filters.Text(list(menu.commands_by_label())), menu_pressed)
    )
    application.add_handler(
        MessageHandler(filters.TEXT & ~filters.COMMAND, typed_answers.typed_text)
    )
    application.add_handler(MessageHandler(filters.ALL, typed_answers.not_understood))
    application.add_error_handler(report_error)


async def set_commands(bot):
    await bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])


# -- commands ----------------------------------------------------------------------------------


async def speak_their_language(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Activate the renter's language for the handlers that follow (a no-op for strangers)."""
    chat_id = chat_id_of(update)
    if chat_id is not None:
        translation.activate(await db(registration.language_of)(chat_id))


async def choose_language(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Offers the languages the bot speaks."""
    await update.effective_message.reply_html(
        screens.language_question(), reply_markup=screens.language_keyboard()
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Greets the renter with the menu, starts their trial the first time, offers a search."""
    registered = await register_chat(update)
    logger.info("/start from chat %s (new=%s)", update.effective_chat.id, registered.is_new)

    with translation.override(registered.language or "en"):
        greeting = screens.greeting(registered, update.effective_user.first_name)
        keyboard = menu.menu_keyboard()
        question, choices = screens.start_question(registered.search_count)
    await update.effective_message.reply_html(greeting, reply_markup=keyboard)
    await update.effective_message.reply_html(question, reply_markup=choices)


async def show_help(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Shows what the bot does and its commands."""
    await update.effective_message.reply_html(screens.help_text())


async def list_searches(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Lists the renter's saved searches, each with edit, pause and delete buttons."""
    chat_id = update.effective_chat.id
    await db(searches.stop_editing)(chat_id)
    text, keyboard = screens.searches_list(await db(searches.saved_searches)(chat_id))
    await update.effective_message.reply_html(text, reply_markup=keyboard)


async def new_search_command(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Starts building a new search: the city question."""
    await register_chat(update)
    draft = await db(searches.start_draft)(update.effective_chat.id)
    if draft is None:
        await update.effective_message.reply_html(screens.too_many_searches())
        return
    text, keyboard = screens.build_screen(draft)
    await update.effective_message.reply_html(text, reply_markup=keyboard)


async def menu_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """A label of the menu keyboard: does what its command does."""
    commands = {
        "filters": list_searches,
        "new": new_search_command,
        "stop": account.stop_alerts,
        "resume": account.resume_alerts,
        "subscription": account.show_subscription,
        "help": show_help,
    }
    command = menu.commands_by_label()[update.effective_message.text]
    await commands[command](update, context)


async def register_chat(update):
    """Register (or refresh) the renter behind an update; returns their Registration."""
    user, chat = update.effective_user, update.effective_chat
    return await db(registration.register)(
        chat.id, user.id, user.username, user.first_name, user.last_name, user.language_code
    )


# -- buttons -----------------------------------------------------------------------------------


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Handles every inline button: answers it first, then shows the resulting screen."""
    query = update.callback_query
    chat_id = chat_id_of(update)
    try:
        text, keyboard = await db(apply_button)(chat_id, query.data or "", shown_matches(query))
    except searches.NotYours:
        logger.warning("chat %s pressed a button of another's search: %r", chat_id, query.data)
        await answer(query, screens.not_yours_text(), show_alert=True)
        return
    except searches.AlreadySaved as saved:
        # A draft's old screen, pressed after Save: show what the search is now.
        await answer(query, screens.already_saved_text())
        search = await db(searches.edit)(chat_id, saved.args[0])
        await show(query, chat_id, *editing.search_screen(search))
        return
    # A city or district deleted since the button was drawn is as stale as a deleted search.
    except (searches.Gone, ObjectDoesNotExist, ValueError, LookupError) as error:
        logger.info(
            "chat %s pressed a stale or malformed button %r (%r)", chat_id, query.data, error
        )
        await answer(query, screens.gone_text())
        text, keyboard = screens.searches_list(await db(searches.saved_searches)(chat_id))
        await show(query, chat_id, text, keyboard)
        return

    await answer(query)
    await show(query, chat_id, text, keyboard)
    if (query.data or "").startswith("lang:"):
        await query.get_bot().send_message(
            chat_id, menu.menu_text(), reply_markup=menu.menu_keyboard()
        )


def apply_button(chat_id, payload, matches=()):
    """Carry out what a button asks (on the database thread); returns the next screen.

    Raises NotYours or Gone for a search the chat may not touch, ValueError for a payload
    that is not ours.
    """
    if payload == "new":
        draft = searches.start_draft(chat_id)
        return screens.build_screen(draft) if draft else (screens.too_many_searches(), None)
    if payload == "list":
        searches.stop_editing(chat_id)
        return screens.searches_list(searches.saved_searches(chat_id))
    if payload.startswith("lang:"):
        translation.activate(registration.set_language(chat_id, payload.split(":")[1]))
        return screens.language_set(), None
    if payload.startswith("pause:"):
        searches.toggle_paused(chat_id, int(payload.split(":")[1]))
        return screens.searches_list(searches.saved_searches(chat_id))
    if payload.startswith(("del:", "delok:")):
        kind, search_id = payload.split(":")
        if kind == "del":
            return screens.confirm_delete(searches.show(chat_id, int(search_id)))
        searches.delete(chat_id, int(search_id))
        return screens.searches_list(searches.saved_searches(chat_id))

    prefix, search_id, action, *arguments = payload.split(":")
    if prefix not in ("s", "e"):
        raise ValueError(payload)
    return apply_search_action(chat_id, prefix, int(search_id), action, arguments, matches)


def shown_matches(query):
    """The district ids on the pressed screen of districts found by typing (our own data)."""
    message = query.message if hasattr(query.message, "reply_markup") else None
    rows = message.reply_markup.inline_keyboard if message and message.reply_markup else ()
    found = (MATCH_BUTTON.match(button.callback_data or "") for row in rows for button in row)
    return [int(match[1]) for match in found if match]
