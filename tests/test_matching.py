"""Matching new listings to saved searches, in SQL, into the delivery outbox."""

import pytest

from listings.models import District
from subscriptions.matching import match_new_listings
from subscriptions.models import Delivery
from subscriptions.searches import recent_matches
from tests import factories as make

pytestmark = pytest.mark.django_db


def delivered(subscriber):
    return set(Delivery.objects.filter(subscriber=subscriber).values_list("listing_id", flat=True))


def test_it_delivers_only_listings_inside_every_criterion(city, source):
    old_town, harbour = make.district(city, "Old Town"), make.district(city, "Harbour")
    renter = make.subscriber()
    make.search(renter, city, districts=[old_town], rooms=[1, 2], price_max=20_000)

    wanted = make.listing(source, price=19_950, rooms=1, district_row=old_town)
    wrong_district = make.listing(source, price=9_000, rooms=1, district_row=harbour)
    too_many_rooms = make.listing(source, price=9_000, rooms=3, district_row=old_town)
    too_dear = make.listing(source, price=25_000, rooms=2, district_row=old_town)
    new_ids = [wanted.pk, wrong_district.pk, too_many_rooms.pk, too_dear.pk]

    assert match_new_listings(new_ids) == 1
    assert delivered(renter) == {wanted.pk}


def test_a_yearly_rent_is_compared_by_its_monthly_equivalent(city, source):
    renter = make.subscriber()
    make.search(renter, city, price_min=5_000, price_max=10_000)
    yearly = make.listing(source, price=96_000, period="year")  # 8,000 a month

    match_new_listings([yearly.pk])

    assert delivered(renter) == {yearly.pk}


def test_a_listing_without_price_passes_only_where_the_renter_allows_it(city, source):
    strict, lenient, unlimited = make.subscriber(), make.subscriber(), make.subscriber()
    make.search(strict, city, price_max=10_000)
    make.search(lenient, city, price_max=10_000, allow_unknown_price=True)
    make.search(unlimited, city)
    no_price = make.listing(source, price=None)

    match_new_listings([no_price.pk])

    assert delivered(strict) == set()
    assert delivered(lenient) == {no_price.pk}
    assert delivered(unlimited) == {no_price.pk}


def test_a_furnishing_wish_lets_through_flats_that_fit_it_or_do_not_say(city, source):
    wants_furnished, wants_bare, either = make.subscriber(), make.subscriber(), make.subscriber()
    make.search(wants_furnished, city, furnishing="furnished")
    make.search(wants_bare, city, furnishing="unfurnished")
    make.search(either, city)
    furnished = make.listing(source, price=5_000, furnishing="furnished")
    bare = make.listing(source, price=5_000, furnishing="unfurnished")
    partly = make.listing(source, price=5_000, furnishing="partly")
    unstated = make.listing(source, price=5_000, furnishing="")

    match_new_listings([furnished.pk, bare.pk, partly.pk, unstated.pk])

    assert delivered(wants_furnished) == {furnished.pk, partly.pk, unstated.pk}
    assert delivered(wants_bare) == {bare.pk, partly.pk, unstated.pk}
    assert delivered(either) == {furnished.pk, bare.pk, partly.pk, unstated.pk}


def test_the_preview_on_saving_applies_the_same_furnishing_rule(city, source):
    renter = make.subscriber()
    wants_bare = make.search(renter, city, furnishing="unfurnished")
    make.listing(source, price=5_000, furnishing="furnished")
    bare = make.listing(source, price=5_000, furnishing="unfurnished")
    unstated = make.listing(source, price=5_000, furnishing="")

    preview = recent_matches(renter.chat_id, wants_bare.pk, limit=10)

    assert {listing.pk for listing in preview} == {bare.pk, unstated.pk}


def test_a_studio_and_a_five_room_flat_match_their_room_bits(city, source):
    renter = make.subscriber()
    make.search(renter, city, rooms=[0, 4])
    studio = make.listing(source, price=5_000, rooms=0)
    five_rooms = make.listing(source, price=5_000, rooms=5)
    two_rooms = make.listing(source, price=5_000, rooms=2)
    unknown_rooms = make.listing(source, price=5_000, rooms=None)

    match_new_listings([studio.pk, five_rooms.pk, two_rooms.pk, unknown_rooms.pk])

    assert delivered(renter) == {studio.pk, five_rooms.pk}


def test_expired_blocked_paused_and_draft_searches_get_nothing(city, source):
    expired = make.subscriber(active=False)
    blocked = make.subscriber(blocked=True)
    paused_owner, draft_owner = make.subscriber(), make.subscriber()
    make.search(expired, city)
    make.search(blocked, city)
    make.search(paused_owner, city, is_paused=True)
    make.search(draft_owner, city, is_draft=True)
    flat = make.listing(source, price=5_000)

    assert match_new_listings([flat.pk]) == 0
    assert not Delivery.objects.exists()


def test_two_matching_searches_of_one_renter_announce_a_listing_once(city, source):
    renter = make.subscriber()
    make.search(renter, city, name="cheap")
    make.search(renter, city, name="anything")
    flat = make.listing(source, price=5_000)

    match_new_listings([flat.pk])
    match_new_listings([flat.pk])

    assert Delivery.objects.filter(subscriber=renter).count() == 1


def test_another_citys_and_another_deals_searches_do_not_match(city, source):
    elsewhere = make.city(name="Elsewhere")
    renter, buyer = make.subscriber(), make.subscriber()
    make.search(renter, elsewhere)
    make.search(buyer, city, deal="sale")
    flat = make.listing(source, price=5_000)

    match_new_listings([flat.pk])

    assert not Delivery.objects.exists()


def test_a_price_in_a_foreign_currency_counts_as_unknown(city, source):
    renter = make.subscriber()
    make.search(renter, city, price_max=10_000)
    in_dollars = make.listing(source, price=2_000, currency="USD")

    match_new_listings([in_dollars.pk])

    assert delivered(renter) == set()


def test_matching_follows_every_change_to_the_districts_of_a_search(city, source):
    old_town, harbour = make.district(city, "Old Town"), make.district(city, "Harbour")
    riverside = District.objects.create(city=city, name="Riverside")
    renter = make.subscriber()
    search = make.search(renter, city)

    def districts_matched():
        Delivery.objects.all().delete()
        listings = [
            make.listing(source, price=5_000, district_row=district)
            for district in District.objects.filter(city=city)
        ]
        match_new_listings([listing.pk for listing in listings])
        return {
            district.name
            for district in District.objects.filter(listings__deliveries__subscriber=renter)
        }

    assert districts_matched() == {"Old Town", "Harbour", "Riverside"}
    search.districts.add(old_town, harbour)
    assert districts_matched() == {"Old Town", "Harbour"}
    search.districts.remove(old_town)
    assert districts_matched() == {"Harbour"}
    harbour.search_filters.remove(search)  # from the district's side
    assert districts_matched() == {"Old Town", "Harbour", "Riverside"}
    search.districts.add(riverside)
    riverside.search_filters.clear()
    assert districts_matched() == {"Old Town", "Harbour", "Riverside"}
    search.districts.add(harbour)
    harbour.delete()  # a district staff delete takes its links with it
    assert districts_matched() == {"Old Town", "Riverside"}


def test_a_search_naming_no_district_matches_listings_in_any_district(city, source):
    renter = make.subscriber()
    make.search(renter, city)
    in_a_district = make.listing(source, price=5_000, district_row=make.district(city, "Harbour"))
    in_none = make.listing(source, price=5_000)

    match_new_listings([in_a_district.pk, in_none.pk])

    assert delivered(renter) == {in_a_district.pk, in_none.pk}
