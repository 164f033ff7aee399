"""What a renter types: the answer to the question on screen (a price, a part of a district's
name, a new name), or a pointer that fits that question when it is not one."""

from html import escape

from django.utils.translation import gettext as _
from telegram import Update
from telegram.ext import ContextTypes

from runtime.db import db
from subscriptions import searches
from telegram_bot import editing, screens
from telegram_bot.price_input import PriceInputError, parse_price_range
from telegram_bot.search_buttons import follow_default_name

# A typed district search longer than this is no part of a name.
MAX_DISTRICT_QUERY = 60


async def typed_text(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """A typed answer to the question on screen: a price, part of a district's name, a name."""
    chat_id = update.effective_chat.id
    text = update.effective_message.text
    search = await db(searches.typing_target)(chat_id)
    if search is None:
        await update.effective_message.reply_html(screens.unknown_text())
        return

    if search.step == searches.STEP_PRICE:
        reply = await typed_price(chat_id, search, text)
    elif search.step == searches.STEP_DISTRICTS and len(text) <= MAX_DISTRICT_QUERY:
        reply = typed_district(search, text)
    elif search.step == searches.STEP_NAME and not search.is_draft:
        reply = await typed_name(chat_id, search, text)
    else:
        reply = step_hint(search), None
    await update.effective_message.reply_html(reply[0], reply_markup=reply[1])


async def typed_price(chat_id, search, text):
    try:
        price = parse_price_range(text)
    except PriceInputError as error:
        return screens.price_correction(str(error)), None
    after = await db(searches.set_price)(
        chat_id, search.id, price.low, price.high, saved=not search.is_draft
    )
    return screen_of(await db(follow_default_name)(chat_id, search, after))


def typed_district(search, text):
    wanted = text.strip().casefold()
    found = [(pk, name) for pk, name in search.districts if wanted and wanted in name.casefold()]
    if not found:
        return no_district_matches(text.strip()), None
    shown = found[: screens.MAX_DISTRICT_MATCHES]
    return screens.district_matches_screen(search, shown, len(found), typed=text.strip())


async def typed_name(chat_id, search, text):
    try:
        name = editing.cleaned_name(text)
    except ValueError:
        return editing.name_correction(), None
    return editing.screen_for(await db(searches.rename)(chat_id, search.id, name))


def screen_of(search):
    return screens.build_screen(search) if search.is_draft else editing.screen_for(search)


async def not_understood(update: Update, context: ContextTypes.DEFAULT_TYPE):
    """Anything else (a sticker, a photo): a pointer that fits the question on screen."""
    if not update.effective_message or not update.effective_chat:
        return
    search = await db(searches.typing_target)(update.effective_chat.id)
    text = step_hint(search) if search else screens.unknown_text()
    await update.effective_message.reply_html(text)


def step_hint(search):
    """A short pointer for text (or a sticker) that does not answer the question on screen."""
    hints = {
        searches.STEP_CITY: _("Press the button of a city above, please."),
        searches.STEP_DEAL: _("Press Rent or Buy above, please."),
        searches.STEP_DISTRICTS: _(
            "Type a part of a district's name to find it, or press the districts above and "
            "then Done."
        ),
        searches.STEP_PRICE: screens.price_correction("not a price"),
        searches.STEP_ROOMS: _(
            "Press the room counts above (Studio, 1, 2, 3, 4+), then Done; none picked means any."
        ),
        searches.STEP_CONFIRM: _("Press Save above to keep this search, or Cancel."),
        searches.STEP_NAME: _("Type the new name as text, please."),
        searches.STEP_OPEN: _(
            "Press a button above to change this search, or send /filters for all of them."
        ),
    }
    return hints.get(search.step, screens.unknown_text())


def no_district_matches(typed):
    return _(
        "No district matches “{text}”. Type another part of its name, or pick from the list above."
    ).format(text=escape(typed))
