"""What the buttons of a search do: one step of building a draft or of changing a saved
search. Runs on the component's database thread and returns the screen to show next."""

from subscriptions import searches
from telegram_bot import editing, screens
from telegram_bot.account import recent_matches_text

# Actions that only make sense on a draft, or only on a saved search.
DRAFT_ACTIONS = {"ok", "x"}
# Opening one of a saved search's questions: the action names the question it opens.
EDIT_QUESTIONS = {
    "v": searches.STEP_OPEN,
    "ce": searches.STEP_CITY,
    "te": searches.STEP_DEAL,
    "de": searches.STEP_DISTRICTS,
    "pe": searches.STEP_PRICE,
    "re": searches.STEP_ROOMS,
    "n": searches.STEP_NAME,
}


def apply_search_action(chat_id, prefix, search_id, action, arguments, shown_matches=()):
    """Carry out a search's button; returns (text, keyboard).

    `prefix` is "s" for a draft and "e" for a saved search; `shown_matches` are the district
    ids on the pressed message, for a tick on the screen of districts found by typing.
    """
    saved = prefix == "e"
    if (saved and action in DRAFT_ACTIONS) or (not saved and action in EDIT_QUESTIONS):
        raise ValueError(action)
    if not saved:
        return apply_to_draft(chat_id, search_id, action, arguments, shown_matches)

    before = searches.show(chat_id, search_id)
    search, page = apply_step(chat_id, search_id, action, arguments, saved=True)
    search = follow_default_name(chat_id, before, search)
    if action == "dq":
        return matches_screen(search, shown_matches)
    return editing.screen_for(search, page)


def apply_to_draft(chat_id, search_id, action, arguments, shown_matches):
    match action:
        case "ok":
            draft = searches.draft(chat_id, search_id)
            saved = searches.save(chat_id, search_id, screens.default_name(draft))
            matches = searches.recent_matches(chat_id, search_id)
            text = f"{screens.saved_text(saved)}\n\n{recent_matches_text(matches)}"
            return text, screens.saved_keyboard(saved)
        case "x":
            searches.cancel(chat_id, search_id)
            return screens.cancelled_text(), None
    draft, page = apply_step(chat_id, search_id, action, arguments, saved=False)
    if action == "dq":
        return matches_screen(draft, shown_matches)
    return screens.build_screen(draft, page)


def apply_step(chat_id, search_id, action, arguments, saved):
    """One change to a search, draft or saved; returns its view and the districts page."""
    page = 0
    match action:
        case "c":
            search = searches.choose_city(chat_id, search_id, int(arguments[0]), saved)
        case "t":
            search = searches.choose_deal(chat_id, search_id, checked_deal(arguments[0]), saved)
        case "d" | "dq":
            search = searches.toggle_district(chat_id, search_id, int(arguments[0]), saved)
            page = int(arguments[1]) if action == "d" else 0
        case "dp":
            page = int(arguments[0])
            search = searches.ask(chat_id, search_id, searches.STEP_DISTRICTS, saved)
        case "da" | "dd":
            search = searches.finish_districts(chat_id, search_id, action == "da", saved)
        case "p":
            low, high = price_choice(searches.ask(chat_id, search_id, None, saved), arguments[0])
            search = searches.set_price(chat_id, search_id, low, high, saved)
        case "r":
            search = searches.toggle_room(chat_id, search_id, int(arguments[0]), saved)
        case "rd":
            search = searches.finish_rooms(chat_id, search_id, saved)
        case "f":
            wish = screens.furnishing_wish(arguments[0])
            search = searches.set_furnishing(chat_id, search_id, wish, saved)
        case "rt":
            term = screens.rent_term(arguments[0])
            search = searches.set_rent_term(chat_id, search_id, term, saved)
        case "u":
            search = searches.toggle_unknown_price(chat_id, search_id, saved)
        case "ps" if saved:
            searches.toggle_paused(chat_id, search_id)
            search = searches.edit(chat_id, search_id)
        case _ if saved and action in EDIT_QUESTIONS:
            search = searches.edit(chat_id, search_id, EDIT_QUESTIONS[action])
        case _:
            raise ValueError(action)
    return search, page


def matches_screen(search, shown_matches):
    """The districts found by typing, again, with the tick just made."""
    shown = [(pk, name) for pk, name in search.districts if pk in set(shown_matches)]
    return screens.district_matches_screen(search, shown, len(shown))


def follow_default_name(chat_id, before, after):
    """A saved search named after its summary keeps being named after it."""
    old, new = screens.default_name(before), screens.default_name(after)
    if before.name != old or old == new:
        return after
    searches.follow_default_name(chat_id, after.id, old, new)
    after.name = new
    return after


def checked_deal(deal):
    if deal not in ("rent", "sale"):
        raise ValueError(deal)
    return deal


def price_choice(search, argument):
    if argument == "any":
        return None, None
    brackets = screens.price_brackets(search)
    index = int(argument)
    if not 0 <= index < len(brackets):  # a forged button; -1 would pick the last one
        raise ValueError(argument)
    return brackets[index]
