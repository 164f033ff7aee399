"""The listing message: escaped, within Telegram's limits as Telegram counts them."""

from decimal import Decimal
from html.parser import HTMLParser

import pytest

from listings.models import PriceChange
from telegram_bot.listing_message import listing_message, visible_length
from tests import factories as make

pytestmark = pytest.mark.django_db


class TagBalance(HTMLParser):
    def __init__(self):
        super().__init__()
        self.open = []

    def handle_starttag(self, tag, attrs):
        self.open.append(tag)

    def handle_endtag(self, tag):
        assert self.open and self.open.pop() == tag, f"</{tag}> closes nothing"


def balanced(html):
    parser = TagBalance()
    parser.feed(html)
    return not parser.open


@pytest.fixture
def long_listing():
    source = make.source(make.city())
    # Emoji count twice in UTF-16, as Telegram counts; "<" and "&" must stay text.
    description = " ".join(["Sunny 🌞 flat <near> the park & the sea."] * 400)
    return make.listing(
        source,
        price=9000,
        rooms=2,
        description=description,
        title="<b>Sea view & 2BR</b>",
        photo_urls=["https://x.example/1.jpg"],
    )


def test_a_long_description_is_cut_at_a_word_to_fit_text_and_caption(long_listing):
    message = listing_message(long_listing, "Cheap flats")

    assert 4000 < visible_length(message.text) <= 4096
    assert 950 < visible_length(message.caption) <= 1024
    for html in (message.text, message.caption):
        assert balanced(html)
        assert "&lt;near&gt;" in html and "<near>" not in html
        assert "… " not in html and "…" in html
        assert "Cheap flats" in html and long_listing.url in html


def test_a_short_listing_keeps_every_line():
    source = make.source(make.city())
    listing = make.listing(
        source, price=9000, rooms=0, area_m2=Decimal("31.5"), description="Quiet."
    )

    message = listing_message(listing)

    assert "studio · 31.5 m²" in message.text
    assert "9,000 AED / month" in message.text
    assert "Quiet." in message.text


def test_a_price_drop_says_from_what_to_what():
    source = make.source(make.city())
    listing = make.listing(source, price=8500)
    change = PriceChange.objects.create(listing=listing, old_price=9000, new_price=8500)

    message = listing_message(listing, price_change=change)

    assert "Price dropped</b>: 9,000 → 8,500 AED" in message.text
