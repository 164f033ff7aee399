"""What the chat shows: every text and keyboard of the bot, built from the searches' views.

`callback_data` is always a short opaque id, never user text, so it stays far below Telegram's
64-byte limit: "s:<search>:<action>[:<arg>]" for a draft, "e:…" for a saved search.
"""

from decimal import Decimal
from html import escape

from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext
from telegram import InlineKeyboardButton as Button
from telegram import InlineKeyboardMarkup as Keyboard

from subscriptions import searches
from telegram_bot.listing_message import format_amount

DISTRICTS_PER_PAGE = 8
ROOM_LABELS = {0: gettext_noop("Studio"), 1: "1", 2: "2", 3: "3", 4: "4+"}
CHECK = "✅ "
UNCHECKED = "⬜ "
MAX_DISTRICT_MATCHES = 12
# The furnishing wishes a search may hold, with the button's label and the summary's word.
FURNISHING_BUTTONS = [
    ("f", "furnished", gettext_noop("Furnished")),
    ("u", "unfurnished", gettext_noop("Unfurnished")),
    ("a", "", gettext_noop("Either")),
]
# The terms a rent search may hold: long (priced per month or year), short (per day or week).
RENT_TERM_BUTTONS = [
    ("l", "long", gettext_noop("Long-term")),
    ("s", "short", gettext_noop("Short-term")),
    ("a", "", gettext_noop("Any term")),
]
RENT_TERM_WORDS = {"long": gettext_noop("long-term"), "short": gettext_noop("short-term")}
FURNISHING_WORDS = {
    "furnished": gettext_noop("furnished"),
    "unfurnished": gettext_noop("unfurnished"),
    "": gettext_noop("furnished or not"),
}

# Monthly rent brackets per currency; a purchase is priced at 200 months of rent.
RENT_BRACKETS = {
    "AED": [5_000, 10_000, 15_000, 25_000],
    "EUR": [800, 1_200, 1_600, 2_500],
    "KZT": [200_000, 350_000, 500_000, 800_000],
    "PLN": [3_000, 4_500, 6_000, 9_000],
    "RSD": [50_000, 80_000, 120_000, 180_000],
}
DEFAULT_BRACKETS = [500, 1_000, 2_000, 4_000]
SALE_FACTOR = 200


def data(search, action, argument=""):
    """A button's data for a step of this search: the prefix tells a draft from a saved one."""
    prefix = "s" if search.is_draft else "e"
    head = f"{prefix}:{search.id}:{action}"
    return f"{head}:{argument}" if argument != "" else head


# -- /start, /help and the lists ---------------------------------------------------------------


def greeting(registration, first_name):
    """The greeting's text; the menu keyboard comes with it, the first question after it."""
    lines = [
        _(
            "👋 Hi, {name}! I watch apartment sites and send you every new listing that "
            "matches your searches, within minutes."
        ).format(name=escape(first_name or ""))
    ]
    if registration.was_blocked:
        lines.append(_("Welcome back — alerts are on again."))
    if registration.access_until:
        until = formats.date_format(registration.access_until, "j M Y")
        if registration.trial_started:
            lines.append(_("Your free trial runs until <b>{date}</b>.").format(date=until))
        else:
            lines.append(_("Your access runs until <b>{date}</b>.").format(date=until))
    else:
        lines.append(_("You have no active subscription, so I am not sending alerts now."))
    lines.append(_("The menu below the message field takes you anywhere."))
    return "\n\n".join(lines)


def start_question(search_count):
    return _("Tell me what you are looking for:"), start_keyboard(search_count)


def start_keyboard(search_count):
    rows = [[Button(_("🔎 New search"), callback_data="new")]]
    if search_count:
        rows.append([Button(_("📋 My searches"), callback_data="list")])
    rows.append(
        [Button(f"🌐 {name}", callback_data=f"lang:{code}") for code, name in settings.LANGUAGES]
    )
    return Keyboard(rows)


def language_question():
    return _("Which language shall I speak?")


def language_keyboard():
    return Keyboard(
        [[Button(name, callback_data=f"lang:{code}") for code, name in settings.LANGUAGES]]
    )


def language_set():
    return _("Done: I speak English now. /help shows what I can do.")


def help_text():
    return _(
        "<b>Rentwatch</b> sends you new apartment listings that match your searches.\n\n"
        "/start — start, or come back after /stop\n"
        "/filters — your searches: open one to change, rename, pause or delete it\n"
        "/latest — the last listings sent to you\n"
        "/subscription — until when your access runs; /renew — pay for more\n"
        "/stop — stop all alerts; /resume turns them back on\n"
        "/new — build a new search\n"
        "/language — English or Russian\n"
        "/help — this screen\n\n"
        "The menu below the message field does the same with one tap. While building a "
        "search you may type a price range instead of pressing a button, e.g. "
        "<code>3000-6000</code>, <code>up to 8k</code> or <code>from 1500</code>, and a "
        "part of a district's name to find it in a long list."
    )


def unknown_text():
    return _("I did not understand that. Send /new to build a search or /help for help.")


def searches_list(views):
    if not views:
        return _("You have no saved searches yet."), Keyboard(
            [[Button(_("🔎 New search"), callback_data="new")]]
        )
    lines = [_("<b>Your searches</b>")]
    rows = []
    for number, search in enumerate(views, start=1):
        paused = _(" (paused)") if search.is_paused else ""
        # A name the renter never chose is the summary's start: say it once.
        if search.name == default_name(search):
            lines.append(f"{number}. {escape(summary(search))}{paused}")
        else:
            lines.append(
                f"{number}. <b>{escape(search.name)}</b>{paused}\n    {escape(summary(search))}"
            )
        pause = _("▶️ Resume") if search.is_paused else _("⏸ Pause")
        rows.append(
            [
                Button(
                    _("✏️ Edit {number}").format(number=number), callback_data=f"e:{search.id}:v"
                ),
                Button(f"{pause} {number}", callback_data=f"pause:{search.id}"),
                Button(
                    _("🗑 Delete {number}").format(number=number), callback_data=f"del:{search.id}"
                ),
            ]
        )
    rows.append([Button(_("🔎 New search"), callback_data="new")])
    return "\n".join(lines), Keyboard(rows)


def confirm_delete(search):
    text = _("Delete the search “{name}”? Alerts for it stop at once.").format(
        name=escape(search.name)
    )
    keyboard = Keyboard(
        [
            [
                Button(_("Yes, delete"), callback_data=f"delok:{search.id}"),
                Button(_("No, keep it"), callback_data="list"),
            ]
        ]
    )
    return text, keyboard


def too_many_searches():
    return _(
        "You already keep as many searches as one person may ({n}). Delete one in /filters first."
    ).format(n=settings.MAX_SEARCHES_PER_SUBSCRIBER)


# -- the questions: building a draft, or changing a saved search -------------------------------


def build_screen(search, page=0):
    """The screen for the draft's current step: (text, keyboard)."""
    step = search.step
    if step == searches.STEP_CITY:
        return city_screen(search)
    if step == searches.STEP_DEAL:
        return deal_screen(search)
    if step == searches.STEP_DISTRICTS:
        return districts_screen(search, page)
    if step == searches.STEP_PRICE:
        return price_screen(search)
    if step == searches.STEP_ROOMS:
        return rooms_screen(search)
    return confirm_screen(search)


def header(search, question):
    if search.is_draft:
        title = _("New search")
        return f"<b>{title}</b> · {escape(summary(search))}\n\n{question}"
    return f"<b>{escape(search.name)}</b>\n{escape(summary(search))}\n\n{question}"


def city_screen(search):
    buttons = [
        Button(city.name, callback_data=data(search, "c", city.id)) for city in search.cities
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([cancel_button(search)])
    if not search.is_draft:
        return header(search, _("Which city? Its districts are picked anew.")), Keyboard(rows)
    title, question = _("New search"), _("Which city?")
    return f"<b>{title}</b>\n\n{question}", Keyboard(rows)


def deal_screen(search):
    rows = [
        [
            Button(_("Rent"), callback_data=data(search, "t", "rent")),
            Button(_("Buy"), callback_data=data(search, "t", "sale")),
        ],
        [cancel_button(search)],
    ]
    return header(search, _("Rent or buy?")), Keyboard(rows)


def districts_screen(search, page=0):
    pages = max(1, -(-len(search.districts) // DISTRICTS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = search.districts[page * DISTRICTS_PER_PAGE : (page + 1) * DISTRICTS_PER_PAGE]
    rows = district_rows(search, shown, "d", page)
    if pages > 1:
        rows.append(
            [
                Button("◀", callback_data=data(search, "dp", (page - 1) % pages)),
                Button(f"{page + 1}/{pages}", callback_data=data(search, "dp", page)),
                Button("▶", callback_data=data(search, "dp", (page + 1) % pages)),
            ]
        )
    rows.append(
        [
            Button(_("Any district"), callback_data=data(search, "da")),
            Button(_("Done"), callback_data=data(search, "dd")),
        ]
    )
    question = _("Which districts? Pick any number, then press Done.")
    if pages > 1:
        question += " " + _("Or type a part of a name to find it.")
    return header(search, question), Keyboard(rows)


def district_rows(search, shown, action, page=None):
    buttons = [
        Button(
            (CHECK if district_id in search.chosen_districts else "") + name,
            callback_data=data(
                search, action, district_id if page is None else f"{district_id}:{page}"
            ),
        )
        for district_id, name in shown
    ]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


def district_matches_screen(search, matches, total, typed=None):
    """The districts a typed text found, as buttons: ticking one keeps this screen."""
    rows = district_rows(search, matches, "dq")
    rows.append(
        [
            Button(_("« All districts"), callback_data=data(search, "dp", 0)),
            Button(_("Done"), callback_data=data(search, "dd")),
        ]
    )
    question = _("Districts found: tick any number, then press Done.")
    if typed is not None:
        question = _("Districts matching “{text}”: tick any number, then press Done.").format(
            text=escape(typed)
        )
    if total > len(matches):
        question += " " + _("Showing {shown} of {total}: type more letters to narrow it.").format(
            shown=len(matches), total=total
        )
    return header(search, question), Keyboard(rows)


def price_brackets(search):
    """(low, high) presets in the city's currency, for the search's kind of deal."""
    limits = RENT_BRACKETS.get(search.currency, DEFAULT_BRACKETS)
    if search.deal == "sale":
        limits = [limit * SALE_FACTOR for limit in limits]
    edges = [None, *[Decimal(limit) for limit in limits], None]
    return list(zip(edges[:-1], edges[1:], strict=True))


def price_screen(search):
    buttons = [
        Button(
            price_range_text(low, high, search.currency), callback_data=data(search, "p", index)
        )
        for index, (low, high) in enumerate(price_brackets(search))
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    rows.append([Button(_("Any price"), callback_data=data(search, "p", "any"))])
    if not search.is_draft:
        rows.append([cancel_button(search)])
    question = _("What price range? Press one, or type it, e.g. 3000-6000 or up to 8k.")
    if search.deal == "rent":
        question = _("What monthly rent? Press one, or type it, e.g. 3000-6000 or up to 8k.")
    return header(search, question), Keyboard(rows)


def price_correction(reason):
    corrections = {
        "negative": _("A price cannot be negative."),
        "absurd": _("That number is too large to be a price."),
        "min above max": _("The lower price is above the upper one."),
    }
    return (
        corrections.get(reason, _("I could not read a price there."))
        + " "
        + _(
            "Type a range like <code>3000-6000</code>, <code>up to 8k</code> or "
            "<code>from 1500</code>, or press a button above."
        )
    )


def rooms_screen(search):
    buttons = [
        Button(
            (CHECK if bit in search.rooms else "") + _(label),
            callback_data=data(search, "r", bit),
        )
        for bit, label in ROOM_LABELS.items()
    ]
    rows = [buttons, [Button(_("Done"), callback_data=data(search, "rd"))]]
    question = _("How many rooms? Pick any number, then press Done; none picked means any.")
    return header(search, question), Keyboard(rows)


def confirm_screen(search):
    rows = [
        *wish_rows(search),
        [Button(_("💾 Save"), callback_data=data(search, "ok")), cancel_button(search)],
    ]
    question = _(
        "Furnished or not? Change it below if it matters, then press Save: I will send you "
        "every new listing that matches."
    )
    return header(search, question), Keyboard(rows)


def wish_rows(search):
    """Furnishing, the rent term, and whether listings without a price come: a tap changes
    any of them."""
    rows = [
        [
            Button(
                (CHECK if search.furnishing == wish else "") + _(label),
                callback_data=data(search, "f", code),
            )
            for code, wish, label in FURNISHING_BUTTONS
        ]
    ]
    if search.deal == "rent":
        rows.append(
            [
                Button(
                    (CHECK if search.rent_term == term else "") + _(label),
                    callback_data=data(search, "rt", code),
                )
                for code, term, label in RENT_TERM_BUTTONS
            ]
        )
    # Without a price limit every listing comes anyway, priced or not.
    if search.has_price_limit:
        mark = CHECK if search.allow_unknown_price else UNCHECKED
        label = mark + _("Also listings without a price")
        rows.append([Button(label, callback_data=data(search, "u"))])
    return rows


def rent_term(code):
    """The term a rent-term button names; ValueError for a forged one."""
    for button_code, term, _label in RENT_TERM_BUTTONS:
        if button_code == code:
            return term
    raise ValueError(code)


def furnishing_wish(code):
    """The wish a furnishing button names; ValueError for a forged one."""
    for button_code, wish, _label in FURNISHING_BUTTONS:
        if button_code == code:
            return wish
    raise ValueError(code)


def cancel_button(search):
    if search.is_draft:
        return Button(_("Cancel"), callback_data=data(search, "x"))
    return Button(_("« Back"), callback_data=data(search, "v"))


def saved_text(search):
    return _(
        "✅ Saved “{name}”. I am watching: new matching listings come here as soon as "
        "they appear. /filters lists your searches."
    ).format(name=escape(search.name))


def saved_keyboard(search):
    return Keyboard(
        [
            [
                Button(_("✏️ Change it"), callback_data=data(search, "v")),
                Button(_("📋 My searches"), callback_data="list"),
            ]
        ]
    )


def cancelled_text():
    return _("Cancelled. Send /new whenever you want to build a search.")


def gone_text():
    return _("That search no longer exists.")


def already_saved_text():
    return _("That search is saved already: here it is now.")


def error_text():
    return _("Sorry, something went wrong. Please try again.")


def refused_text():
    return _("Sorry, Telegram would not show that. Send /filters or /help to go on.")


def not_yours_text():
    return _("That is not your search.")


# -- summaries ---------------------------------------------------------------------------------


BEFORE_PRICE = (searches.STEP_CITY, searches.STEP_DEAL, searches.STEP_DISTRICTS)


def summary(search, wishes=True):
    """One line: "Dubai · rent · 2 districts · up to 9,000 AED · rooms: 1, 2 · furnished".

    Without `wishes`, the shorter form a search is named after: no furnishing, and nothing
    about listings without a price.
    """
    parts = [search.city.name if search.city else _("any city")]
    building = search.is_draft
    if not building or search.step not in (searches.STEP_CITY, searches.STEP_DEAL):
        parts.append(_("rent") if search.deal == "rent" else _("buy"))
        chosen = [name for id_, name in search.districts if id_ in search.chosen_districts]
        if len(chosen) == 1:
            parts.append(chosen[0])
        elif chosen:
            parts.append(
                ngettext("%(n)d district", "%(n)d districts", len(chosen)) % {"n": len(chosen)}
            )
    if search.has_price_limit and not (building and search.step in BEFORE_PRICE):
        parts.append(price_range_text(search.price_min, search.price_max, search.currency))
        if wishes and search.allow_unknown_price:
            parts.append(_("also without a price"))
        elif wishes and (not building or search.step == searches.STEP_CONFIRM):
            parts.append(_("priced only"))
    if search.rooms:
        labels = [_(ROOM_LABELS[bit]) for bit in search.rooms]
        parts.append(_("rooms: {list}").format(list=", ".join(labels)))
    if wishes and (not building or search.step == searches.STEP_CONFIRM):
        if search.deal == "rent" and search.rent_term:
            parts.append(_(RENT_TERM_WORDS[search.rent_term]))
        parts.append(_(FURNISHING_WORDS[search.furnishing]))
    return " · ".join(parts)


def default_name(search):
    return summary(search, wishes=False)[: searches.MAX_NAME_LENGTH]


def price_range_text(low, high, currency):
    if low is not None and high is not None:
        return f"{format_amount(low)}–{format_amount(high)} {currency}"
    if high is not None:
        return _("up to {amount} {currency}").format(amount=format_amount(high), currency=currency)
    if low is not None:
        return _("from {amount} {currency}").format(amount=format_amount(low), currency=currency)
    return _("any price")
