"""A saved search's own screen in the chat, and the questions that change it.

Each change is saved at once, so the search keeps matching throughout; which question is on
screen is stored on the search (`draft_step`), so a typed answer finds it after a restart.
"""

from html import escape

from django.utils.translation import gettext as _
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard

from subscriptions import searches
from telegram_bot import screens
from telegram_bot.screens import data


def screen_for(search, page=0):
    """The screen for the question a saved search's editor is on: (text, keyboard)."""
    step = search.step
    if step == searches.STEP_CITY:
        return screens.city_screen(search)
    if step == searches.STEP_DEAL:
        return screens.deal_screen(search)
    if step == searches.STEP_DISTRICTS:
        return screens.districts_screen(search, page)
    if step == searches.STEP_PRICE:
        return screens.price_screen(search)
    if step == searches.STEP_ROOMS:
        return screens.rooms_screen(search)
    if step == searches.STEP_NAME:
        return name_prompt(search)
    return search_screen(search)


def search_screen(search):
    """Everything about one saved search, each part a button away from changing."""
    paused = _(" (paused)") if search.is_paused else ""
    text = f"<b>{escape(search.name)}</b>{paused}\n{escape(screens.summary(search))}\n\n" + _(
        "What shall I change? Each change counts at once."
    )
    change = [
        Button(_("📍 Districts"), callback_data=data(search, "de")),
        Button(_("💰 Price"), callback_data=data(search, "pe")),
        Button(_("🛏 Rooms"), callback_data=data(search, "re")),
        Button(_("🔁 Rent or buy"), callback_data=data(search, "te")),
        Button(_("🏙 City"), callback_data=data(search, "ce")),
        Button(_("✏️ Rename"), callback_data=data(search, "n")),
    ]
    if not search.districts:
        change.pop(0)  # a city nobody divided into districts has none to pick
    rows = [change[i : i + 2] for i in range(0, len(change), 2)]
    rows += screens.wish_rows(search)
    pause = _("▶️ Resume") if search.is_paused else _("⏸ Pause")
    rows.append(
        [
            Button(pause, callback_data=data(search, "ps")),
            Button(_("🗑 Delete"), callback_data=f"del:{search.id}"),
        ]
    )
    rows.append([Button(_("« All searches"), callback_data="list")])
    return text, Keyboard(rows)


def name_prompt(search):
    question = _("Type a new name for this search (up to {n} characters).").format(
        n=searches.MAX_NAME_LENGTH
    )
    return screens.header(search, question), Keyboard([[screens.cancel_button(search)]])


def cleaned_name(text):
    """The typed name with its spaces tidied; ValueError for one that cannot be a name."""
    name = " ".join((text or "").split())
    if not name or len(name) > searches.MAX_NAME_LENGTH:
        raise ValueError(name)
    return name


def name_correction():
    return _("A name is 1 to {n} characters of text. Type it again, please.").format(
        n=searches.MAX_NAME_LENGTH
    )
