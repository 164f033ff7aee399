"""Building and keeping saved searches from the chat.

A search being built is a draft `SearchFilter` row, so the chat holds no state of its own and
a restart of the bot in the middle of building one loses nothing. Every operation names the
chat it acts for and refuses a search that belongs to somebody else.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from listings.models import City, District, Listing, Source
from subscriptions.models import MAX_ROOM_BIT, SearchFilter, Subscriber

# The questions, in the order the chat asks them.
STEP_CITY, STEP_DEAL, STEP_DISTRICTS, STEP_PRICE, STEP_ROOMS, STEP_CONFIRM = (
    "city",
    "deal",
    "districts",
    "price",
    "rooms",
    "confirm",
)
MAX_SEARCHES = 10


class NotYours(Exception):
    """The search exists but belongs to another chat."""


class Gone(Exception):
    """The search does not exist (any more), or is no longer a draft."""


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
    cities: list = field(default_factory=list)  # [CityChoice] offered at the city step


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
        cities=offered_cities() if search.draft_step == STEP_CITY else [],
    )


def offered_cities():
    """Cities some enabled source watches; every city when no source is set up yet."""
    watched = City.objects.filter(pk__in=Source.objects.filter(is_enabled=True).values("city_id"))
    cities = watched if watched.exists() else City.objects.all()
    return [CityChoice(c.pk, c.name) for c in cities.order_by("name")]


def own_search(chat_id, search_id, drafts_only=True):
    """The search, if it belongs to this chat; NotYours or Gone otherwise."""
    search = SearchFilter.objects.select_related("city", "subscriber").filter(pk=search_id).first()
    if search is None or (drafts_only and not search.is_draft):
        if search is not None and search.subscriber.chat_id != chat_id:
            raise NotYours(search_id)
        raise Gone(search_id)
    if search.subscriber.chat_id != chat_id:
        raise NotYours(search_id)
    return search


def start_draft(chat_id):
    """A fresh draft for this chat (replacing an unfinished one); None past the maximum."""
    subscriber = Subscriber.objects.filter(chat_id=chat_id).first()
    if subscriber is None:
        raise Gone(chat_id)
    with transaction.atomic():
        subscriber.search_filters.filter(is_draft=True).delete()
        if subscriber.search_filters.count() >= MAX_SEARCHES:
            return None
        search = SearchFilter.objects.create(
            subscriber=subscriber, is_draft=True, draft_step=STEP_CITY
        )
    return view(search)


def current_draft(chat_id):
    """The draft this chat is building, if any."""
    search = (
        SearchFilter.objects.select_related("city")
        .filter(subscriber__chat_id=chat_id, is_draft=True)
        .order_by("-created_at")
        .first()
    )
    return view(search) if search else None


def show(chat_id, search_id):
    return view(own_search(chat_id, search_id, drafts_only=False))


def choose_city(chat_id, search_id, city_id):
    search = own_search(chat_id, search_id)
    search.city = City.objects.get(pk=city_id)
    search.draft_step = STEP_DEAL
    search.save()
    search.districts.clear()
    return view(search)


def choose_deal(chat_id, search_id, deal):
    search = own_search(chat_id, search_id)
    search.deal = deal
    # A city nobody has divided into districts has nothing to pick: go on to the price.
    has_districts = search.city.districts.exists()
    search.draft_step = STEP_DISTRICTS if has_districts else STEP_PRICE
    search.save()
    return view(search)


def toggle_district(chat_id, search_id, district_id):
    search = own_search(chat_id, search_id)
    district = District.objects.get(pk=district_id, city_id=search.city_id)
    if search.districts.filter(pk=district.pk).exists():
        search.districts.remove(district)
    else:
        search.districts.add(district)
    return view(search)


def finish_districts(chat_id, search_id, any_district=False):
    search = own_search(chat_id, search_id)
    if any_district:
        search.districts.clear()
    search.draft_step = STEP_PRICE
    search.save()
    return view(search)


def set_price(chat_id, search_id, price_min, price_max):
    search = own_search(chat_id, search_id)
    search.price_min, search.price_max = price_min, price_max
    search.draft_step = STEP_ROOMS
    search.save()
    return view(search)


def toggle_room(chat_id, search_id, room_bit):
    search = own_search(chat_id, search_id)
    if 0 <= room_bit <= MAX_ROOM_BIT:
        search.rooms_mask ^= 1 << room_bit
        search.save()
    return view(search)


def finish_rooms(chat_id, search_id):
    search = own_search(chat_id, search_id)
    search.draft_step = STEP_CONFIRM
    search.save()
    return view(search)


def save(chat_id, search_id, name):
    """The draft becomes a live search that the parser matches from now on."""
    search = own_search(chat_id, search_id)
    search.name = name[:100]
    search.is_draft = False
    search.draft_step = ""
    search.save()
    return view(search)


def cancel(chat_id, search_id):
    own_search(chat_id, search_id).delete()


def saved_searches(chat_id):
    searches = SearchFilter.objects.filter(subscriber__chat_id=chat_id, is_draft=False)
    return [view(search) for search in searches.select_related("city").order_by("created_at")]


def delete(chat_id, search_id):
    own_search(chat_id, search_id, drafts_only=False).delete()


def set_all_paused(chat_id, paused):
    """Pause (or resume) every saved search of this chat; returns how many changed."""
    return SearchFilter.objects.filter(
        subscriber__chat_id=chat_id, is_draft=False, is_paused=not paused
    ).update(is_paused=paused)


def toggle_paused(chat_id, search_id):
    search = own_search(chat_id, search_id, drafts_only=False)
    search.is_paused = not search.is_paused
    search.save(update_fields=["is_paused"])
    return view(search)


def recent_matches(chat_id, search_id, limit=3):
    """The newest stored listings this search would have matched: what it will bring."""
    search = own_search(chat_id, search_id, drafts_only=False)
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
    if search.furnishing:
        # A listing that does not say, or is partly furnished, passes either wish.
        listings = listings.filter(furnishing__in=["", "partly", search.furnishing])
    return list(listings.select_related("source", "district").order_by("-first_seen_at")[:limit])


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
