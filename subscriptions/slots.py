"""Search slots: every live search written out as the index rows matching probes.

Matching a listing means finding the searches whose district, rooms and price range hold it.
The district and room count are equalities, but "min ≤ price ≤ max" is a range over two
columns, which no B-tree index answers directly: scanning `price_max ≥ price` alone reads half
of the searches. So each search gets one slot per district (or one for its whole city) and per
room count it names, and its price range is filed by its width:

- a range whose max is at most 1.25^k times its min is in class k, keyed by its min: a price p
  can only be in it if min lies in [p / 1.25^k, p], a narrow index range;
- an upper bound only is keyed by the max (p ≤ max), a lower bound only or none by the min
  (min ≤ p, with 0 for none);
- a search that takes listings without a comparable price has a second set of slots in a
  class of their own, which such a listing probes exactly.

The district (or city), deal and room count of a slot are exact; its price class only narrows,
so each slot also holds a copy of the search's price range, furnishing and rent term, and the
matching SQL tests them on the candidates it found. It reads all that from the slot indexes
alone: matching never reads the searches themselves. A paused search or a draft has no slots.
They are rewritten whenever a search changes (signals.py, searches.set_all_paused).
"""

from decimal import Decimal

from django.db import transaction

from subscriptions.models import MAX_ROOM_BIT, SearchFilter, SearchSlot

PRICE_SPAN = Decimal("1.25")
# Each class costs every listing one index probe per area, so there are few: a range wider
# than 1.25^12 ≈ 15 times is filed as a lower bound (rare, and then merely less selective).
WIDEST_RANGED_CLASS = 12
LOWER_BOUND_CLASS = 0
UPPER_BOUND_CLASS = WIDEST_RANGED_CLASS + 1
UNKNOWN_PRICE_CLASS = -1
# A search that takes any number of rooms has a slot for each, and one for listings that do
# not say: a listing then probes one room count, its own.
UNKNOWN_ROOMS = -1
CHUNK = 5_000


def price_class(price_min, price_max):
    """(class, key) under which a search's price range is filed."""
    if price_max is None:
        return LOWER_BOUND_CLASS, price_min or Decimal(0)
    if price_min is None or price_min <= 0:
        return UPPER_BOUND_CLASS, price_max

    span = PRICE_SPAN
    for price_class in range(1, WIDEST_RANGED_CLASS + 1):
        if price_max <= price_min * span:
            return price_class, price_min
        span *= PRICE_SPAN
    return LOWER_BOUND_CLASS, price_min


def price_classes():
    """Each class as (class, low, high): a price p may be in a search of the class whose key
    lies in [p × low, p × high], where None means unbounded. A hair of slack on each side
    keeps rounding from losing a search at the edge of its range; the exact test follows."""
    classes = [(LOWER_BOUND_CLASS, None, "1.000001"), (UPPER_BOUND_CLASS, "0.999999", None)]
    span = Decimal(1)
    for ranged in range(1, WIDEST_RANGED_CLASS + 1):
        span *= PRICE_SPAN
        classes.append((ranged, f"{Decimal('0.999999') / span:.12f}", "1.000001"))
    return classes


def slot_fields(search, district_ids):
    """The fields of each slot of one search: what it names, filed for the index."""
    if search.city_id is None or search.is_draft or search.is_paused:
        return []

    filed = [price_class(search.price_min, search.price_max)]
    if search.allow_unknown_price or (search.price_min is None and search.price_max is None):
        filed.append((UNKNOWN_PRICE_CLASS, Decimal(0)))
    if search.rooms_mask:
        # A mask of bits above the largest room count (only code can save one) names none.
        room_bits = [bit for bit in range(MAX_ROOM_BIT + 1) if search.rooms_mask & (1 << bit)]
    else:
        room_bits = [*range(MAX_ROOM_BIT + 1), UNKNOWN_ROOMS]
    return [
        {
            "search_filter_id": search.pk,
            "subscriber_id": search.subscriber_id,
            "city_id": search.city_id,
            "district_id": district_id,
            "deal": search.deal,
            "room_bit": room_bit,
            "price_class": price_class_,
            "price_key": price_key,
            "price_min": search.price_min,
            "price_max": search.price_max,
            "furnishing": search.furnishing,
            "rent_term": search.rent_term,
        }
        for district_id in (district_ids or [None])
        for room_bit in room_bits
        for price_class_, price_key in filed
    ]


def rewrite_slots(search_ids, search_model=SearchFilter, slot_model=SearchSlot):
    """Replace the slots of these searches with what they say now. (A migration passes its
    historical models.)"""
    search_ids = list(search_ids)
    through = search_model.districts.through
    for start in range(0, len(search_ids), CHUNK):
        chunk = search_ids[start : start + CHUNK]
        districts = {}
        links = through.objects.filter(searchfilter_id__in=chunk)
        for search_id, district_id in links.values_list("searchfilter_id", "district_id"):
            districts.setdefault(search_id, []).append(district_id)

        searches = search_model.objects.filter(pk__in=chunk).only(
            *["subscriber_id", "city_id", "deal", "price_min", "price_max", "rooms_mask"],
            *["allow_unknown_price", "furnishing", "rent_term", "is_draft", "is_paused"],
        )
        slots = [
            slot_model(**fields)
            for search in searches
            for fields in slot_fields(search, districts.get(search.pk))
        ]
        with transaction.atomic():
            slot_model.objects.filter(search_filter_id__in=chunk).delete()
            slot_model.objects.bulk_create(slots, batch_size=CHUNK)
