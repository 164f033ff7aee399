"""Whoever changes a search, district, city or subscriber, and however, matching afterwards
delivers exactly what a plain check of each search against each listing finds."""

import random
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.urls import reverse
from django.utils import timezone

from listings.models import City, District, Listing
from subscriptions import searches as chat
from subscriptions.matching import match_new_listings
from subscriptions.models import Delivery, SearchFilter, Subscription
from tests import factories as make
from tests.test_matching_slots import fits

pytestmark = pytest.mark.django_db


# -- what renters get, against what they asked for ---------------------------------------------


def reachable_subscribers():
    live = Subscription.objects.filter(
        state=Subscription.State.ACTIVE,
        expires_at__gt=timezone.now(),
        subscriber__blocked_at__isnull=True,
    )
    return set(live.values_list("subscriber_id", flat=True))


def plainly_expected(listings):
    """(subscriber, listing) for every reachable renter with a search the listing fits."""
    reachable = reachable_subscribers()
    # As stored now: staff may have changed a listing's city or district since.
    listings = Listing.objects.select_related("city").filter(pk__in=[x.pk for x in listings])
    return {
        (search.subscriber_id, listing.pk)
        for search in SearchFilter.objects.all()
        if search.subscriber_id in reachable
        for listing in listings
        if fits(search, listing, set(search.districts.values_list("pk", flat=True)))
    }


def matched(listings):
    """Match the listings as if they were new; who got which."""
    Delivery.objects.all().delete()
    match_new_listings([listing.pk for listing in listings])
    return set(Delivery.objects.values_list("subscriber_id", "listing_id"))


def assert_matching_agrees(listings):
    got = matched(listings)
    assert got == plainly_expected(listings)
    return got


def listings_of(renter, got):
    return {listing_id for subscriber_id, listing_id in got if subscriber_id == renter.pk}


@pytest.fixture
def riverside(city):
    return District.objects.create(city=city, name="Riverside")


@pytest.fixture
def flats(city, source, riverside):
    """A spread of new listings: every district and none, room counts, prices (none, zero,
    huge, foreign), furnishing, rent periods, a sale, and one in another city."""
    rng = random.Random(20261205)
    sale = make.source(city, deal="sale")
    elsewhere = make.source(make.city(name="Elsewhere", currency="EUR", districts=["Centre"]))
    districts = [None, *District.objects.filter(city=city)]
    rows = []
    for district in districts:
        for rooms in (None, 0, 2, 5):
            rows.append(
                make.listing(
                    source,
                    price=rng.choice([None, 0, 4_000, 8_000, 9_000, 60_000, 999_999_999_999]),
                    period=rng.choice(["month", "month", "year", "day", ""]),
                    rooms=rooms,
                    district_row=district,
                    currency=rng.choice([city.currency] * 4 + ["USD"]),
                    furnishing=rng.choice(["", "furnished", "partly", "unfurnished"]),
                )
            )
        rows.append(make.listing(source, price=8_000, rooms=2, district_row=district))
        rows.append(make.listing(sale, price=900_000, rooms=2, district_row=district))
    rows.append(make.listing(elsewhere, price=8_000, rooms=2))
    return rows


# -- submitting admin forms as a browser would -------------------------------------------------


class FormFields(HTMLParser):
    """The fields a browser would submit from the page's main form, unchanged."""

    def __init__(self, form_id):
        super().__init__()
        self.form_id, self.inside, self.select, self.textarea = form_id, False, None, None
        self.fields, self.first_option = {}, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") not in ("checkbox", "radio") or "checked" in attrs:
                default = "on" if attrs.get("type") in ("checkbox", "radio") else ""
                self.fields.setdefault(name, []).append(attrs.get("value", default))
        elif tag == "select":
            self.select = name
            self.fields.setdefault(name, [])
            if "multiple" not in attrs:
                self.first_option[name] = None
        elif tag == "option" and self.select:
            value = attrs.get("value", "")
            if self.first_option.get(self.select, "") is None:
                self.first_option[self.select] = value
            if "selected" in attrs:
                self.fields[self.select].append(value)
        elif tag == "textarea":
            self.textarea = name
            self.fields[name] = [""]

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            if not self.fields[self.select] and self.first_option.get(self.select):
                self.fields[self.select] = [self.first_option[self.select]]
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            value = self.fields[self.textarea][0]
            self.fields[self.textarea][0] = value + (data if value else data.removeprefix("\n"))


def submit_change_form(client, model, pk, **changes):
    """Open an object's admin page (a new one's for no pk), change some fields, save; None
    unticks a box."""
    meta = model._meta
    if pk is None:
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
    else:
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk])
    page = client.get(url)
    assert page.status_code == 200
    reader = FormFields(f"{meta.model_name}_form")
    reader.feed(page.content.decode())
    data = dict(reader.fields)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    answer = client.post(url, data)
    errors = answer.context and [
        answer.context["adminform"].form.errors,
        answer.context.get("errors"),
    ]
    assert answer.status_code == 302, errors


def delete_in_admin(client, obj):
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[obj.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302


def delete_selected_in_admin(client, model, pks):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    data = {"action": "delete_selected", "_selected_action": pks, "post": "yes"}
    assert client.post(url, data).status_code == 302


# -- the chat ----------------------------------------------------------------------------------


def test_a_search_built_step_by_step_in_the_chat_matches_once_saved(city, flats):
    renter = make.subscriber()
    old_town = make.district(city, "Old Town")
    draft = chat.start_draft(renter.chat_id)
    chat.choose_city(renter.chat_id, draft.id, city.pk)
    chat.choose_deal(renter.chat_id, draft.id, "rent")
    chat.toggle_district(renter.chat_id, draft.id, old_town.pk)
    chat.finish_districts(renter.chat_id, draft.id)
    chat.set_price(renter.chat_id, draft.id, None, Decimal(9_000))
    chat.toggle_room(renter.chat_id, draft.id, 2)
    chat.finish_rooms(renter.chat_id, draft.id)
    chat.set_furnishing(renter.chat_id, draft.id, "furnished")
    chat.toggle_unknown_price(renter.chat_id, draft.id)
    assert listings_of(renter, assert_matching_agrees(flats)) == set()  # still a draft

    chat.save(renter.chat_id, draft.id, "Old Town two rooms")

    assert listings_of(renter, assert_matching_agrees(flats))


def test_a_saved_search_edited_field_by_field_in_the_chat_matches_what_it_says_now(
    city, flats, riverside
):
    renter = make.subscriber()
    chat_id = renter.chat_id
    harbour = make.district(city, "Harbour")
    search = make.search(renter, city, districts=[harbour], rooms=[0], price_max=5_000)
    edits = [
        lambda: chat.edit(chat_id, search.pk, chat.STEP_DISTRICTS),
        lambda: chat.toggle_district(chat_id, search.pk, riverside.pk, saved=True),
        lambda: chat.toggle_district(chat_id, search.pk, harbour.pk, saved=True),
        lambda: chat.finish_districts(chat_id, search.pk, any_district=True, saved=True),
        lambda: chat.set_price(chat_id, search.pk, Decimal(4_000), Decimal(9_000), saved=True),
        lambda: chat.set_price(chat_id, search.pk, Decimal(0), Decimal(0), saved=True),
        lambda: chat.set_price(
            chat_id, search.pk, Decimal(1), Decimal("999999999999.99"), saved=True
        ),
        lambda: chat.toggle_unknown_price(chat_id, search.pk, saved=True),
        lambda: chat.toggle_room(chat_id, search.pk, 5, saved=True),  # no such button
        lambda: chat.toggle_room(chat_id, search.pk, 2, saved=True),
        lambda: chat.toggle_room(chat_id, search.pk, 0, saved=True),
        *[
            lambda bit=bit: chat.toggle_room(chat_id, search.pk, bit, saved=True)
            for bit in range(5)
        ],
        lambda: chat.set_furnishing(chat_id, search.pk, "unfurnished", saved=True),
        lambda: chat.set_rent_term(chat_id, search.pk, "short", saved=True),
        lambda: chat.set_rent_term(chat_id, search.pk, "long", saved=True),
        lambda: chat.choose_deal(chat_id, search.pk, "sale", saved=True),
        lambda: chat.choose_deal(chat_id, search.pk, "rent", saved=True),
        lambda: chat.rename(chat_id, search.pk, "Cheap and anywhere"),
        lambda: chat.follow_default_name(chat_id, search.pk, "Cheap and anywhere", "Testville"),
        lambda: chat.stop_editing(chat_id),
    ]
    seen = set()
    for edit in edits:
        edit()
        seen.add(frozenset(listings_of(renter, assert_matching_agrees(flats))))
    assert len(seen) > 5  # the edits did change what the renter gets


def test_a_saved_search_moved_to_another_city_in_the_chat_follows_it(city, flats):
    renter = make.subscriber()
    elsewhere = City.objects.get(name="Elsewhere")
    search = make.search(renter, city, districts=[make.district(city, "Harbour")], price_max=9_000)

    chat.choose_city(renter.chat_id, search.pk, elsewhere.pk, saved=True)
    got = assert_matching_agrees(flats)
    assert listings_of(renter, got) == {flats[-1].pk}  # the flat in Elsewhere; price reset

    chat.choose_city(renter.chat_id, search.pk, city.pk, saved=True)
    chat.set_price(renter.chat_id, search.pk, None, Decimal(9_000), saved=True)
    assert flats[-1].pk not in listings_of(renter, assert_matching_agrees(flats))


def test_pausing_one_or_all_searches_in_the_chat_leaves_drafts_drafts(city, flats):
    renter = make.subscriber()
    first = make.search(renter, city, rooms=[2])
    second = make.search(renter, city, rooms=[0], price_max=9_000)
    draft = chat.start_draft(renter.chat_id)
    chat.choose_city(renter.chat_id, draft.id, city.pk)

    chat.toggle_paused(renter.chat_id, first.pk)
    assert_matching_agrees(flats)
    assert chat.set_all_paused(renter.chat_id, paused=True) == (1, 2)
    assert listings_of(renter, assert_matching_agrees(flats)) == set()
    assert chat.set_all_paused(renter.chat_id, paused=False) == (2, 2)
    got = assert_matching_agrees(flats)
    chat.toggle_paused(renter.chat_id, second.pk)

    assert SearchFilter.objects.get(pk=draft.id).is_draft
    assert listings_of(renter, got) > listings_of(renter, assert_matching_agrees(flats))


def test_a_tap_on_a_search_read_before_staff_changed_it_undoes_nothing(city, flats):
    renter = make.subscriber()
    search = make.search(renter, city, rooms=[2])
    read_by_the_chat = SearchFilter.objects.get(pk=search.pk)
    search.is_paused = True
    search.price_max = Decimal(5_000)
    search.save()  # as staff would, while the chat's handler holds its copy

    chat.go_to(read_by_the_chat, chat.STEP_OPEN)

    search.refresh_from_db()
    assert (search.is_paused, search.price_max) == (True, Decimal(5_000))
    assert listings_of(renter, assert_matching_agrees(flats)) == set()


def test_a_search_deleted_or_a_draft_replaced_in_the_chat_gets_nothing(city, flats):
    renter, other = make.subscriber(), make.subscriber()
    search = make.search(renter, city)
    make.search(other, city)
    draft = chat.start_draft(renter.chat_id)
    chat.choose_city(renter.chat_id, draft.id, city.pk)
    chat.start_draft(renter.chat_id)  # replaces the unfinished draft

    chat.delete(renter.chat_id, search.pk)
    got = assert_matching_agrees(flats)
    assert listings_of(renter, got) == set()
    assert listings_of(other, got) == {f.pk for f in flats[:-1] if f.deal == "rent"}


# -- Django admin: searches --------------------------------------------------------------------


def test_a_search_edited_in_admin_matches_what_it_says_now(admin_client, city, flats, riverside):
    renter = make.subscriber()
    search = make.search(renter, city, districts=[make.district(city, "Harbour")], rooms=[1])

    submit_change_form(
        admin_client,
        SearchFilter,
        search.pk,
        districts=[riverside.pk, make.district(city, "Old Town").pk],
        price_min="3000",
        price_max="9000",
        rooms_mask=0b10101,
        furnishing="furnished",
        rent_term="long",
        allow_unknown_price="on",
    )
    got = assert_matching_agrees(flats)
    assert listings_of(renter, got)

    submit_change_form(admin_client, SearchFilter, search.pk, districts=[], rooms_mask=0b11111)
    assert_matching_agrees(flats)


def test_a_search_added_in_admin_with_districts_matches_at_once(
    admin_client, city, flats, riverside
):
    renter = make.subscriber()

    submit_change_form(
        admin_client,
        SearchFilter,
        None,
        subscriber=renter.pk,
        city=city.pk,
        districts=[riverside.pk],
        price_max="9000",
        is_draft=None,
    )

    got = assert_matching_agrees(flats)
    assert listings_of(renter, got)
    assert {Listing.objects.get(pk=pk).district for pk in listings_of(renter, got)} == {riverside}


@pytest.mark.parametrize(
    ("price_min", "price_max"),
    [
        ("-500", ""),
        ("-500", "0"),
        ("0", "0"),
        ("", "-1"),
        ("9000", "4000"),
        ("0.01", "999999999999.99"),
    ],
)
def test_odd_prices_typed_in_admin_match_as_the_plain_check_says(
    admin_client, city, flats, price_min, price_max
):
    renter = make.subscriber()
    search = make.search(renter, city)

    submit_change_form(
        admin_client, SearchFilter, search.pk, price_min=price_min, price_max=price_max
    )

    assert_matching_agrees(flats)


def test_admin_refuses_a_rooms_mask_beyond_the_known_room_counts(admin_client, city, flats):
    renter = make.subscriber()
    search = make.search(renter, city, rooms=[2])
    url = reverse("admin:subscriptions_searchfilter_change", args=[search.pk])

    answer = admin_client.post(url, {"rooms_mask": 1 << 5})

    assert answer.status_code == 200
    assert "rooms_mask" in answer.context["adminform"].form.errors
    assert SearchFilter.objects.get(pk=search.pk).rooms_mask == 1 << 2
    assert listings_of(renter, assert_matching_agrees(flats))


def test_a_rooms_mask_naming_no_known_room_count_matches_nothing(city, flats):
    # Only code can save one; it must not be read as "any number of rooms".
    renter = make.subscriber()
    search = make.search(renter, city)
    search.rooms_mask = 1 << 5
    search.save()

    assert listings_of(renter, assert_matching_agrees(flats)) == set()


def test_a_search_given_to_another_renter_in_admin_alerts_only_the_new_one(
    admin_client, city, flats
):
    before, after = make.subscriber(), make.subscriber()
    search = make.search(before, city, rooms=[2])

    submit_change_form(admin_client, SearchFilter, search.pk, subscriber=after.pk)

    got = assert_matching_agrees(flats)
    assert listings_of(before, got) == set()
    assert listings_of(after, got)


def test_a_search_paused_drafted_or_left_without_a_city_in_admin_gets_nothing(
    admin_client, city, flats
):
    renter = make.subscriber()
    search = make.search(renter, city)

    for changes in [
        {"is_paused": "on"},
        {"is_paused": None, "is_draft": "on"},
        {"is_draft": None, "city": ""},
    ]:
        submit_change_form(admin_client, SearchFilter, search.pk, **changes)
        assert listings_of(renter, assert_matching_agrees(flats)) == set()

    submit_change_form(admin_client, SearchFilter, search.pk, city=city.pk)
    assert listings_of(renter, assert_matching_agrees(flats))


def test_a_search_naming_another_citys_districts_in_admin_matches_as_it_says(
    admin_client, city, flats
):
    renter = make.subscriber()
    centre = District.objects.get(name="Centre")
    search = make.search(renter, city)

    submit_change_form(admin_client, SearchFilter, search.pk, districts=[centre.pk])
    # A (hand-made) flat of this city that the sources filed under that district.
    strays = [make.listing(flats[0].source, price=8_000, district_row=centre)]

    got = assert_matching_agrees(flats + strays)
    assert listings_of(renter, got) == {strays[0].pk}


def test_searches_deleted_in_admin_one_by_one_or_in_bulk_get_nothing(admin_client, city, flats):
    renters = [make.subscriber() for _ in range(4)]
    searches = [make.search(renter, city) for renter in renters]

    delete_in_admin(admin_client, searches[0])
    delete_selected_in_admin(admin_client, SearchFilter, [searches[1].pk, searches[2].pk])

    got = assert_matching_agrees(flats)
    assert {subscriber_id for subscriber_id, _ in got} == {renters[3].pk}


# -- Django admin: districts and cities --------------------------------------------------------


def test_a_district_renamed_or_moved_to_another_city_in_admin_matches_as_it_says(
    admin_client, city, flats, riverside
):
    renter = make.subscriber()
    make.search(renter, city, districts=[riverside])
    elsewhere = City.objects.get(name="Elsewhere")

    submit_change_form(admin_client, District, riverside.pk, name="Riverbank")
    assert listings_of(renter, assert_matching_agrees(flats))
    submit_change_form(admin_client, District, riverside.pk, city=elsewhere.pk)
    moved = make.listing(make.source(elsewhere), price=8_000, district_row=riverside)

    assert_matching_agrees([*flats, moved])


def test_districts_deleted_in_admin_leave_their_searches_matching_what_remains(
    admin_client, city, flats, riverside
):
    old_town, harbour = make.district(city, "Old Town"), make.district(city, "Harbour")
    only_riverside, two, three = make.subscriber(), make.subscriber(), make.subscriber()
    make.search(only_riverside, city, districts=[riverside])
    make.search(two, city, districts=[riverside, harbour], rooms=[2])
    make.search(three, city, districts=[riverside, harbour, old_town])

    delete_in_admin(admin_client, riverside)
    assert_matching_agrees(flats)
    delete_selected_in_admin(admin_client, District, [harbour.pk, old_town.pk])

    got = assert_matching_agrees(flats)
    assert listings_of(only_riverside, got) == listings_of(three, got)  # all the city's rent


def test_a_district_deleted_in_its_citys_admin_page_frees_its_searches(
    admin_client, city, flats, riverside
):
    renter = make.subscriber()
    make.search(renter, city, districts=[riverside], price_max=9_000)
    url = reverse("admin:listings_city_change", args=[city.pk])
    reader = FormFields("city_form")
    reader.feed(admin_client.get(url).content.decode())
    row = next(
        name.split("-")[1]
        for name, value in reader.fields.items()
        if name.endswith("-id") and value == [str(riverside.pk)]
    )

    assert (
        admin_client.post(url, reader.fields | {f"districts-{row}-DELETE": ["on"]}).status_code
        == 302
    )

    assert not District.objects.filter(pk=riverside.pk).exists()
    assert len(listings_of(renter, assert_matching_agrees(flats))) > 3


def test_a_city_deleted_in_admin_frees_the_searches_elsewhere_that_named_its_districts(
    admin_client, city, flats
):
    renter = make.subscriber()
    empty = make.city(name="Nowhere", districts=["Nowhere Centre"])
    make.search(renter, city, districts=[make.district(empty, "Nowhere Centre")])
    assert listings_of(renter, assert_matching_agrees(flats)) == set()

    delete_in_admin(admin_client, empty)

    got = assert_matching_agrees(flats)
    assert listings_of(renter, got) == {
        f.pk for f in flats if f.city_id == city.pk and f.deal == "rent"
    }


def test_a_citys_currency_changed_in_admin_makes_old_prices_unknown_as_it_says(
    admin_client, city, flats
):
    strict, lenient = make.subscriber(), make.subscriber()
    make.search(strict, city, price_max=10_000)
    make.search(lenient, city, price_max=10_000, allow_unknown_price=True)
    before = assert_matching_agrees(flats)

    submit_change_form(admin_client, City, city.pk, currency="USD")

    after = assert_matching_agrees(flats)
    assert listings_of(strict, after) != listings_of(strict, before)


# -- Django admin: subscribers and subscriptions -----------------------------------------------


def test_a_subscriber_blocked_then_unblocked_in_admin_is_skipped_then_served(
    admin_client, city, flats
):
    renter, other = make.subscriber(), make.subscriber()
    make.search(renter, city)
    make.search(other, city)
    now = timezone.localtime()

    submit_change_form(
        admin_client,
        type(renter),
        renter.pk,
        blocked_at_0=now.strftime("%Y-%m-%d"),
        blocked_at_1=now.strftime("%H:%M:%S"),
    )
    got = assert_matching_agrees(flats)
    assert listings_of(renter, got) == set() != listings_of(other, got)

    submit_change_form(admin_client, type(renter), renter.pk, blocked_at_0="", blocked_at_1="")
    assert listings_of(renter, assert_matching_agrees(flats)) == listings_of(other, got)


def test_a_search_changed_or_deleted_on_its_subscribers_admin_page_matches_as_it_says(
    admin_client, city, flats
):
    renter = make.subscriber()
    kept = make.search(renter, city, rooms=[0])
    gone = make.search(renter, city, rooms=[2])
    url = reverse("admin:subscriptions_subscriber_change", args=[renter.pk])
    reader = FormFields("subscriber_form")
    reader.feed(admin_client.get(url).content.decode())
    rows = {
        value[0]: name.split("-")[1]
        for name, value in reader.fields.items()
        if name.startswith("search_filters-") and name.endswith("-id") and value
    }
    changes = {
        f"search_filters-{rows[str(kept.pk)]}-rooms_mask": ["5"],
        f"search_filters-{rows[str(kept.pk)]}-price_max": ["9000"],
        f"search_filters-{rows[str(gone.pk)]}-DELETE": ["on"],
    }

    assert admin_client.post(url, reader.fields | changes).status_code == 302

    assert list(SearchFilter.objects.filter(subscriber=renter)) == [kept]
    assert_matching_agrees(flats)


def test_a_subscriber_deleted_or_cut_off_in_admin_gets_nothing(admin_client, city, flats):
    deleted, cut_off, kept = make.subscriber(), make.subscriber(), make.subscriber()
    for renter in (deleted, cut_off, kept):
        make.search(renter, city, rooms=[2])

    delete_in_admin(admin_client, deleted)
    changelist = reverse("admin:subscriptions_subscriber_changelist")
    data = {"action": "expire_now", "_selected_action": [cut_off.pk]}
    assert admin_client.post(changelist, data).status_code == 302

    got = assert_matching_agrees(flats)
    assert {subscriber_id for subscriber_id, _ in got} == {kept.pk}
