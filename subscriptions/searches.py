"""Building and keeping saved searches from the chat.

A search being built is a draft `SearchFilter` row, so the chat holds no state of its own and
a restart of the bot in the middle of building one loses nothing. A saved search is edited in
place, each change saved at once, so it keeps matching throughout; its `draft_step` names the
question its editor is answering, so a typed answer lands there even after a restart. Every
operation names the chat it acts for and refuses a search that belongs to somebody else.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from listings.models import City, District, Listing, Source
from subscriptions.models import MAX_ROOM_BIT, RENT_TERM_PERIODS, SearchFilter, Subscriber
from subscriptions.slots import rewrite_slots

# The questions, in the order the chat asks them while building; a saved search being edited
# uses the same names, plus STEP_NAME, and STEP_OPEN on its own screen ("" when nobody is
# editing it).
STEP_CITY, STEP_DEAL, STEP_DISTRICTS, STEP_PRICE, STEP_ROOMS, STEP_CONFIRM = (
    "city",
    "deal",
    "districts",
    "price",
    "rooms",
    "confirm",
)
STEP_NAME, STEP_OPEN = "name", "open"
MAX_NAME_LENGTH = 100
FURNISHING_WISHES = ("", "furnished", "unfurnished")
RENT_TERMS = ("", "long", "short")


class NotYours(Exception):
    """The search exists but belongs to another chat."""


class Gone(Exception):
    """The search does not exist (any more), or is not in the state the button expects."""


class AlreadySaved(Gone):
    """A button of a draft that has been saved since: show the saved search instead."""


@dataclass
class CityChoice:
    id: int
    name: str


@dataclass
class SearchView:
    """Everything the chat needs to show a search, read in one go on the database thread."""

    id: int
    name: str
    step: str
    is_draft: bool
    is_paused: bool
    deal: str
    city: CityChoice | None
    currency: str
    districts: list = field(default_factory=list)  # [(id, name)] of the city, by name
    chosen_districts: set = field(default_factory=set)
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    rooms: list = field(default_factory=list)
    furnishing: str = ""
    rent_term: str = ""
    allow_unknown_price: bool = False
    cities: list = field(default_factory=list)  # [CityChoice] offered at the city step

    @property
    def has_price_limit(self):
        return self.price_min is not None or self.price_max is not None


def view(search):
    city = search.city
    districts = list(city.districts.values_list("id", "name")) if city else []
    return SearchView(
        id=search.pk,
        name=search.name,
        step=search.draft_step,
        is_draft=search.is_draft,
        is_paused=search.is_paused,
        deal=search.deal,
        city=CityChoice(city.pk, city.name) if city else None,
        currency=city.currency if city else "",
        districts=districts,
        chosen_districts=set(search.districts.values_list("id", flat=True)),
        price_min=search.price_min,
        price_max=search.price_max,
        rooms=search.rooms,
        furnishing=search.furnishing,
        rent_term=search.rent_term,
        allow_unknown_price=search.allow_unknown_price,
        cities=offered_cities() if search.draft_step == STEP_CITY else [],
    )


def offered_cities():
    """Cities some enabled source watches; every city when no source is set up yet."""
    watched = City.objects.filter(pk__in=Source.objects.filter(is_enabled=True).values("city_id"))
    cities = watched if watched.exists() else City.objects.all()
    return [CityChoice(c.pk, c.name) for c in cities.order_by("name")]


def own_search(chat_id, search_id, saved=False, either=False):
    """The search, if it belongs to this chat and is a draft (or saved, or either).

    NotYours for another chat's search; AlreadySaved for a draft's button pressed after the
    draft was saved; Gone otherwise.
    """
    search = SearchFilter.objects.select_related("city", "subscriber").filter(pk=search_id).first()
    if search is None:
        raise Gone(search_id)
    if search.subscriber.chat_id != chat_id:
        raise NotYours(search_id)
    if either or search.is_draft != saved:
        return search
    raise AlreadySaved(search_id) if saved is False else Gone(search_id)


def go_to(search, step, *changed):
    """Save the `changed` fields of the search and which question the chat asks next, and
    make it this search's question now.

    Only the fields named are written, so a tap never undoes what staff or another handler
    changed in the meantime. Only one search of a chat answers typed text: the one touched
    last. A draft always keeps its step, so touching a draft takes the question away from
    every saved search.
    """
    search.draft_step = step
    search.save(update_fields=["draft_step", *changed])
    others = SearchFilter.objects.filter(subscriber_id=search.subscriber_id, is_draft=False)
    others.exclude(pk=search.pk).exclude(draft_step="").update(draft_step="")


def next_step(search, step):
    """A draft goes on to the given question; a saved search goes back to its own screen."""
    return step if search.is_draft else STEP_OPEN


# -- building a draft --------------------------------------------------------------------------


def start_draft(chat_id):
    """A fresh draft for this chat (replacing an unfinished one); None past the maximum."""
    subscriber = Subscriber.objects.filter(chat_id=chat_id).first()
    if subscriber is None:
        raise Gone(chat_id)
    with transaction.atomic():
        subscriber.search_filters.filter(is_draft=True).delete()
        if subscriber.search_filters.count() >= settings.MAX_SEARCHES_PER_SUBSCRIBER:
            return None
        search = SearchFilter.objects.create(subscriber=subscriber, is_draft=True)
        go_to(search, STEP_CITY)
    return view(search)


def typing_target(chat_id):
    """The search typed text is meant for: a saved one being edited, else the draft."""
    searches = SearchFilter.objects.select_related("city").filter(subscriber__chat_id=chat_id)
    search = (
        searches.filter(is_draft=False).exclude(draft_step="").order_by("-pk").first()
        or searches.filter(is_draft=True).order_by("-created_at").first()
    )
    return view(search) if search else None


def show(chat_id, search_id):
    return view(own_search(chat_id, search_id, either=True))


def draft(chat_id, search_id):
    return view(own_search(chat_id, search_id))


def ask(chat_id, search_id, step, saved=False):
    """The search's view; a saved one is put on the given question (None: where it is)."""
    search = own_search(chat_id, search_id, saved)
    if saved and step:
        go_to(search, step)
    return view(search)


def choose_city(chat_id, search_id, city_id, saved=False):
    """A draft goes on to rent-or-buy; a saved search starts over on districts and price."""
    search = own_search(chat_id, search_id, saved)
    city = City.objects.get(pk=city_id)
    if search.city_id == city.pk:
        go_to(search, next_step(search, STEP_DEAL))
        return view(search)

    # Districts belong to the old city, and a price in another currency means nothing here.
    with transaction.atomic():
        if search.city and search.city.currency != city.currency:
            search.price_min = search.price_max = None
        search.city = city
        search.districts.clear()
        has_districts = city.districts.exists()
        step = STEP_DEAL if search.is_draft else (STEP_DISTRICTS if has_districts else STEP_OPEN)
        go_to(search, step, "city", "price_min", "price_max")
    return view(search)


def choose_deal(chat_id, search_id, deal, saved=False):
    """A draft goes on to districts; a saved search that changes its deal is asked its price."""
    search = own_search(chat_id, search_id, saved)
    if not search.is_draft:
        changed = search.deal != deal
        if changed:
            # A monthly rent and a purchase price differ by two orders of magnitude.
            search.deal, search.price_min, search.price_max = deal, None, None
        go_to(search, STEP_PRICE if changed else STEP_OPEN, "deal", "price_min", "price_max")
        return view(search)

    search.deal = deal
    # A city nobody has divided into districts has nothing to pick: go on to the price.
    has_districts = search.city.districts.exists()
    go_to(search, STEP_DISTRICTS if has_districts else STEP_PRICE, "deal")
    return view(search)


def toggle_district(chat_id, search_id, district_id, saved=False):
    search = own_search(chat_id, search_id, saved)
    district = District.objects.get(pk=district_id, city_id=search.city_id)
    if search.districts.filter(pk=district.pk).exists():
        search.districts.remove(district)
    else:
        search.districts.add(district)
    go_to(search, search.draft_step if search.is_draft else STEP_DISTRICTS)
    return view(search)


def finish_districts(chat_id, search_id, any_district=False, saved=False):
    search = own_search(chat_id, search_id, saved)
    if any_district:
        search.districts.clear()
    go_to(search, next_step(search, STEP_PRICE))
    return view(search)


def set_price(chat_id, search_id, price_min, price_max, saved=False):
    search = own_search(chat_id, search_id, saved)
    search.price_min, search.price_max = price_min, price_max
    go_to(search, next_step(search, STEP_ROOMS), "price_min", "price_max")
    return view(search)


def toggle_room(chat_id, search_id, room_bit, saved=False):
    search = own_search(chat_id, search_id, saved)
    if 0 <= room_bit <= MAX_ROOM_BIT:
        search.rooms_mask ^= 1 << room_bit
    go_to(search, search.draft_step if search.is_draft else STEP_ROOMS, "rooms_mask")
    return view(search)


def finish_rooms(chat_id, search_id, saved=False):
    search = own_search(chat_id, search_id, saved)
    go_to(search, next_step(search, STEP_CONFIRM))
    return view(search)


def set_furnishing(chat_id, search_id, wish, saved=False):
    return set_choice(chat_id, search_id, "furnishing", wish, FURNISHING_WISHES, saved)


def set_rent_term(chat_id, search_id, term, saved=False):
    return set_choice(chat_id, search_id, "rent_term", term, RENT_TERMS, saved)


def set_choice(chat_id, search_id, field, value, allowed, saved):
    """Set one of the search's wishes to a value it may hold; ValueError for another."""
    if value not in allowed:
        raise ValueError(value)
    search = own_search(chat_id, search_id, saved)
    setattr(search, field, value)
    go_to(search, search.draft_step, field)
    return view(search)


def toggle_unknown_price(chat_id, search_id, saved=False):
    search = own_search(chat_id, search_id, saved)
    search.allow_unknown_price = not search.allow_unknown_price
    go_to(search, search.draft_step, "allow_unknown_price")
    return view(search)


def save(chat_id, search_id, name):
    """The draft becomes a live search that the parser matches from now on."""
    search = own_search(chat_id, search_id)
    search.name = name[:MAX_NAME_LENGTH]
    search.is_draft = False
    go_to(search, "", "name", "is_draft")
    return view(search)


def cancel(chat_id, search_id):
    own_search(chat_id, search_id).delete()


# -- editing a saved search --------------------------------------------------------------------


def edit(chat_id, search_id, step=STEP_OPEN):
    """Open a saved search's screen or one of its questions."""
    search = own_search(chat_id, search_id, saved=True)
    go_to(search, step)
    return view(search)


def rename(chat_id, search_id, name):
    search = own_search(chat_id, search_id, saved=True)
    search.name = name[:MAX_NAME_LENGTH]
    go_to(search, STEP_OPEN, "name")
    return view(search)


def follow_default_name(chat_id, search_id, old_default, new_default):
    """A name the renter never chose (the summary it was saved with) follows the search."""
    SearchFilter.objects.filter(
        pk=search_id, subscriber__chat_id=chat_id, name=old_default[:MAX_NAME_LENGTH]
    ).update(name=new_default[:MAX_NAME_LENGTH])


def stop_editing(chat_id):
    """Typed text no longer goes to any saved search (the renter went back to the list)."""
    SearchFilter.objects.filter(subscriber__chat_id=chat_id, is_draft=False).exclude(
        draft_step=""
    ).update(draft_step="")


def saved_searches(chat_id):
    searches = SearchFilter.objects.filter(subscriber__chat_id=chat_id, is_draft=False)
    return [view(search) for search in searches.select_related("city").order_by("created_at")]


def delete(chat_id, search_id):
    own_search(chat_id, search_id, saved=True).delete()


def set_all_paused(chat_id, paused):
    """Pause (or resume) every saved search of this chat; returns (how many changed, how many
    saved searches the chat has)."""
    saved = SearchFilter.objects.filter(subscriber__chat_id=chat_id, is_draft=False)
    with transaction.atomic():
        changing = list(saved.filter(is_paused=not paused).values_list("pk", flat=True))
        changed = SearchFilter.objects.filter(pk__in=changing).update(is_paused=paused)
        # An update sends no signals: a paused search must lose its slots here.
        rewrite_slots(changing)
    return changed, saved.count()


def toggle_paused(chat_id, search_id):
    search = own_search(chat_id, search_id, saved=True)
    search.is_paused = not search.is_paused
    search.save(update_fields=["is_paused"])
    return view(search)


def recent_matches(chat_id, search_id, limit=3):
    """The newest stored listings this search would have matched: what it will bring."""
    search = own_search(chat_id, search_id, either=True)
    listings = listings_matching(search).select_related("source", "district")
    return list(listings.order_by("-first_seen_at")[:limit])


def listings_matching(search):
    """The stored, live listings the search takes, by the matching SQL's rules."""
    listings = Listing.objects.filter(
        city_id=search.city_id, deal=search.deal, removed_at__isnull=True, repost_of__isnull=True
    )
    district_ids = list(search.districts.values_list("pk", flat=True))
    if district_ids:
        listings = listings.filter(district_id__in=district_ids)
    if search.rooms:
        rooms = Q(rooms__in=[r for r in search.rooms if r < MAX_ROOM_BIT])
        if MAX_ROOM_BIT in search.rooms:
            rooms |= Q(rooms__gte=MAX_ROOM_BIT)
        listings = listings.filter(rooms)
    listings = listings.filter(price_condition(search))
    if search.rent_term and search.deal == "rent":
        # A listing that does not say how it is priced passes either term.
        stated = [period for periods in RENT_TERM_PERIODS.values() for period in periods]
        periods = RENT_TERM_PERIODS[search.rent_term]
        listings = listings.filter(~Q(period__in=stated) | Q(period__in=periods))
    if search.furnishing:
        # A listing that does not say, or is partly furnished, passes either wish.
        listings = listings.filter(furnishing__in=["", "partly", search.furnishing])
    return listings


def price_condition(search):
    """The same price rule as the matching SQL: monthly rent, or the price of a sale."""
    if search.price_min is None and search.price_max is None:
        return Q()
    field = "price" if search.deal == "sale" else "price_per_month"
    known = Q(currency=search.city.currency, **{f"{field}__isnull": False})
    if search.price_min is not None:
        known &= Q(**{f"{field}__gte": search.price_min})
    if search.price_max is not None:
        known &= Q(**{f"{field}__lte": search.price_max})
    if search.allow_unknown_price:
        return known | Q(**{f"{field}__isnull": True}) | ~Q(currency=search.city.currency)
    return known
