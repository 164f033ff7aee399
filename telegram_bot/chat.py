"""The bot's handlers: /start, building a search with buttons, /filters, /help.

Handlers keep nothing between updates; what a renter is building lives in the database
(`subscriptions.searches`), so the bot may restart at any moment.
"""

import contextlib
import logging

from django.core.exceptions import ObjectDoesNotExist
from django.utils import translation
from telegram import BotCommand, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
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
from telegram_bot import screens
from telegram_bot.account import recent_matches_text, register_account_handlers
from telegram_bot.price_input import PriceInputError, parse_price_range
from telegram_bot.staff_chat import register_staff_handlers

logger = logging.getLogger(__name__)

COMMANDS = [
    ("start", "Start"),
    ("new", "Build a new search"),
    ("filters", "Your searches: pause or delete them"),
    ("latest", "The last listings sent to you"),
    ("subscription", "Until when your access runs"),
    ("stop", "Stop all alerts"),
    ("resume", "Turn alerts back on"),
    ("language", "English / Русский"),
    ("help", "How Rentwatch works"),
]


def register_handlers(application: Application):
    # Before every other handler: speak the renter's language for this update.
    application.add_handler(TypeHandler(Update, speak_their_language), group=-1)
    application.add_handler(CommandHandler("language", choose_language))
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", show_help))
    application.add_handler(CommandHandler(["filters", "searches"], list_searches))
    application.add_handler(CommandHandler("new", new_search_command))
    register_account_handlers(application)
    register_staff_handlers(application)
    application.add_handler(CallbackQueryHandler(button))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, typed_text))
    application.add_handler(MessageHandler(filters.ALL, not_understood))
    application.add_error_handler(report_error)


async def set_commands(bot):
    await bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])


# -- commands ----------------------------------------------------------------------------------


async def speak_their_language(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Activate the renter's language for the handlers that follow (a no-op for strangers)."""
    if update.effective_chat:
        translation.activate(await db(registration.language_of)(update.effective_chat.id))


async def choose_language(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Offers the languages the bot speaks."""
    await update.effective_message.reply_html(
        screens.language_question(), reply_markup=screens.language_keyboard()
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Greets the renter, starts their trial the first time, offers to build a search."""
    registered = await register_chat(update)
    logger.info("/start from chat %s (new=%s)", update.effective_chat.id, registered.is_new)

    with translation.override(registered.language or "en"):
        text, keyboard = screens.greeting(registered, update.effective_user.first_name)
    await update.effective_message.reply_html(text, reply_markup=keyboard)


async def show_help(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Shows what the bot does and its commands."""
    await update.effective_message.reply_html(screens.help_text())


async def list_searches(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Lists the renter's saved searches, each with a delete button."""
    views = await db(searches.saved_searches)(update.effective_chat.id)
    text, keyboard = screens.searches_list(views)
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
    chat_id = update.effective_chat.id
    try:
        text, keyboard = await db(apply_button)(chat_id, query.data or "")
    except searches.NotYours:
        logger.warning("chat %s pressed a button of another's search: %r", chat_id, query.data)
        await query.answer(screens.not_yours_text(), show_alert=True)
        return
    # A city or district deleted since the button was drawn is as stale as a deleted search.
    except (searches.Gone, ObjectDoesNotExist, ValueError, LookupError):
        await query.answer(screens.gone_text())
        text, keyboard = screens.searches_list(await db(searches.saved_searches)(chat_id))
        await show(query, text, keyboard)
        return

    await query.answer()
    await show(query, text, keyboard)


def apply_button(chat_id, payload):
    """Carry out what a button asks (on the database thread); returns the next screen.

    Raises NotYours or Gone for a search the chat may not touch, ValueError for a payload
    that is not ours.
    """
    if payload == "new":
        draft = searches.start_draft(chat_id)
        return screens.build_screen(draft) if draft else (screens.too_many_searches(), None)
    if payload == "list":
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
    if prefix != "s":
        raise ValueError(payload)
    return apply_search_action(chat_id, int(search_id), action, arguments)


def apply_search_action(chat_id, search_id, action, arguments):
    """One step of building a search; returns the next screen."""
    page = 0
    match action:
        case "c":
            draft = searches.choose_city(chat_id, search_id, int(arguments[0]))
        case "t":
            draft = searches.choose_deal(chat_id, search_id, checked_deal(arguments[0]))
        case "d":
            draft = searches.toggle_district(chat_id, search_id, int(arguments[0]))
            page = int(arguments[1])
        case "dp":
            draft, page = searches.show(chat_id, search_id), int(arguments[0])
        case "da" | "dd":
            draft = searches.finish_districts(chat_id, search_id, any_district=action == "da")
        case "p":
            draft = searches.show(chat_id, search_id)
            low, high = price_choice(draft, arguments[0])
            draft = searches.set_price(chat_id, search_id, low, high)
        case "r":
            draft = searches.toggle_room(chat_id, search_id, int(arguments[0]))
        case "rd":
            draft = searches.finish_rooms(chat_id, search_id)
        case "ok":
            draft = searches.show(chat_id, search_id)
            saved = searches.save(chat_id, search_id, screens.default_name(draft))
            matches = searches.recent_matches(chat_id, search_id)
            return f"{screens.saved_text(saved)}\n\n{recent_matches_text(matches)}", None
        case "x":
            searches.cancel(chat_id, search_id)
            return screens.cancelled_text(), None
        case _:
            raise ValueError(action)
    return screens.build_screen(draft, page)


def checked_deal(deal):
    if deal not in ("rent", "sale"):
        raise ValueError(deal)
    return deal


def price_choice(draft, argument):
    if argument == "any":
        return None, None
    brackets = screens.price_brackets(draft)
    index = int(argument)
    if not 0 <= index < len(brackets):  # a forged button; -1 would pick the last one
        raise ValueError(argument)
    return brackets[index]


async def show(query, text, keyboard):
    """Replace the pressed message's content; an unchanged screen is no error."""
    try:
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    except BadRequest as error:
        if "not modified" in str(error).lower():
            return

        # The message can no longer be edited (too old, deleted): the step is already stored,
        # so show its screen as a new message rather than leave the renter on the old one.
        logger.info("could not edit message %s: %s", query.message.message_id, error)
        await query.message.chat.send_message(
            text, parse_mode=ParseMode.HTML, reply_markup=keyboard
        )


# -- typing ------------------------------------------------------------------------------------


async def typed_text(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """A typed price range while building a search; otherwise a pointer to /help."""
    chat_id = update.effective_chat.id
    draft = await db(searches.current_draft)(chat_id)
    if draft is None or draft.step != searches.STEP_PRICE:
        await update.effective_message.reply_html(screens.unknown_text())
        return

    try:
        price = parse_price_range(update.effective_message.text)
    except PriceInputError as error:
        await update.effective_message.reply_html(screens.price_correction(str(error)))
        return
    draft = await db(searches.set_price)(chat_id, draft.id, price.low, price.high)
    text, keyboard = screens.build_screen(draft)
    await update.effective_message.reply_html(text, reply_markup=keyboard)


async def not_understood(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Anything else (a sticker, a photo): a pointer to /help."""
    if update.effective_message:
        await update.effective_message.reply_html(screens.unknown_text())


async def report_error(update: object, context: ContextTypes.DEFAULT_TYPE):
    """Logs an unexpected error once and tells the renter something went wrong."""
    update_id = update.update_id if isinstance(update, Update) else None
    logger.error("update %s failed", update_id, exc_info=context.error)
    if not isinstance(update, Update):
        return

    # A press left unanswered keeps its spinner until Telegram gives up on it.
    if update.callback_query:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
    if update.effective_chat:
        await context.bot.send_message(update.effective_chat.id, screens.error_text())
