"""The main menu: a keyboard under the message field whose labels do what the commands do."""

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, gettext_noop
from telegram import ReplyKeyboardMarkup

# (command, label) by rows, as the renter sees them.
MENU = [
    [("filters", gettext_noop("📋 My searches")), ("new", gettext_noop("🔎 New search"))],
    [("stop", gettext_noop("🔕 Pause all")), ("resume", gettext_noop("🔔 Resume all"))],
    [("subscription", gettext_noop("💳 Subscription")), ("help", gettext_noop("❓ Help"))],
]


def menu_keyboard():
    """The menu in the active language."""
    rows = [[gettext(label) for _command, label in row] for row in MENU]
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, is_persistent=True)


def menu_text():
    return gettext(
        "The menu is below the message field: your searches, a new search, pause or resume "
        "all, your subscription and help."
    )


def commands_by_label():
    """{label: command} in every language the bot speaks: a keyboard sent before a switch of
    language keeps working."""
    labels = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for row in MENU:
                labels.update({gettext(label): command for command, label in row})
    return labels
