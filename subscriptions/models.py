"""Who gets alerts (subscribers and their subscriptions), what they want, and the outbox."""

from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from listings.models import City, Deal, District, Furnishing, Listing, PriceChange

# A filter's rooms are a bit mask: bit 0 is a studio, bits 1-3 are 1-3 rooms, bit 4 is "4+".
ROOM_CHOICES = [(0, "Studio"), (1, "1"), (2, "2"), (3, "3"), (4, "4+")]
MAX_ROOM_BIT = 4
EVERY_ROOM_BIT = (1 << (MAX_ROOM_BIT + 1)) - 1
# What a search may ask for; "" is "either". A partly furnished flat, or one whose listing
# does not say, fits both wishes: most sites never say, and a renter would rather see it.
FURNISHING_WISHES = [
    ("", "Furnished or not"),
    (Furnishing.FURNISHED, Furnishing.FURNISHED.label),
    (Furnishing.UNFURNISHED, Furnishing.UNFURNISHED.label),
]

# How long a renter means to stay: a rent priced per month or year is long-term, per day or
# week short-term; a listing that does not say fits both.
RENT_TERMS = [("", "Any term"), ("long", "Long-term"), ("short", "Short-term")]
RENT_TERM_PERIODS = {"long": ("month", "year"), "short": ("day", "week")}


class Subscriber(models.Model):
    chat_id = models.BigIntegerField(unique=True)
    # When this lapsed subscriber was last told how many listings they missed (weekly).
    missed_notice_at = models.DateTimeField(null=True, blank=True, editable=False)
    user_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    username = models.CharField(max_length=100, blank=True)
    first_name = models.CharField(max_length=200, blank=True)
    last_name = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=10, blank=True)
    blocked_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when Telegram says the bot can no longer write"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"@{self.username}" if self.username else f"chat {self.chat_id}"


class Subscription(models.Model):
    class Kind(models.TextChoices):
        TRIAL = "trial", "Trial"
        PAID = "paid", "Paid"
        GIFT = "gift", "Gift"

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="subscriptions"
    )
    kind = models.CharField(max_length=5, choices=Kind.choices)
    state = models.CharField(max_length=7, choices=State.choices, default=State.ACTIVE)
    starts_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    expiry_notified_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.JSONField(
        default=list, blank=True, help_text="Days-before-expiry reminders already sent"
    )

    class Meta:
        ordering = ["-expires_at"]
        indexes = [
            models.Index(fields=["state", "expires_at"]),
            # Matching asks, for each candidate, whether that subscriber has live access.
            models.Index(
                fields=["subscriber", "state", "expires_at"], name="subscription_live_idx"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} for {self.subscriber} until {self.expires_at:%Y-%m-%d}"


class SearchFilter(models.Model):
    """One saved search. Prices are per month, in the currency of the filter's city."""

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="search_filters"
    )
    name = models.CharField(max_length=100, blank=True)
    city = models.ForeignKey(City, on_delete=models.PROTECT, null=True, blank=True)
    districts = models.ManyToManyField(District, blank=True, related_name="search_filters")
    deal = models.CharField(max_length=4, choices=Deal.choices, default=Deal.RENT)
    price_min = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    price_max = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    rooms_mask = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(EVERY_ROOM_BIT)],
        help_text="Bit n set: n rooms wanted (0 = studio, 4 = four or more); 0 = any",
    )
    allow_unknown_price = models.BooleanField(default=False)
    furnishing = models.CharField(max_length=11, choices=FURNISHING_WISHES, blank=True)
    rent_term = models.CharField(
        max_length=5,
        choices=RENT_TERMS,
        blank=True,
        help_text="Long: priced per month or year; short: per day or week. Empty: any",
    )
    notify_price_drops = models.BooleanField(
        default=True, help_text="Also tell when a listing already sent gets cheaper"
    )
    is_paused = models.BooleanField(default=False)
    is_draft = models.BooleanField(
        default=True, help_text="Still being built in the chat; drafts match nothing"
    )
    # Which question the chat is asking about this draft, so that typed answers (a price
    # range) land in the right place even after a restart of the bot.
    draft_step = models.CharField(max_length=10, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return self.name or f"Search {self.pk}"

    @property
    def rooms(self):
        return [bit for bit in range(MAX_ROOM_BIT + 1) if self.rooms_mask & (1 << bit)]


# Not searched: in the slot indexes after the searched columns so that matching reads each
# candidate from the index alone, never from the table.
SLOT_COLUMNS_READ_FROM_THE_INDEX = [
    "subscriber",
    "search_filter",
    "price_min",
    "price_max",
    "furnishing",
    "rent_term",
]


class SearchSlot(models.Model):
    """One way in to a live search for the matching SQL: a district (or the whole city), a room
    count (or any) and the search's price range filed by its width, with a copy of everything
    else matching tests. See subscriptions/slots.py; rewritten by signals whenever the search
    changes."""

    search_filter = models.ForeignKey(SearchFilter, on_delete=models.CASCADE, related_name="+")
    # Deleting a subscriber deletes their searches and so these slots: no constraint, and no
    # index to keep, is needed for that.
    subscriber = models.ForeignKey(
        Subscriber,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )
    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="+", db_index=False)
    district = models.ForeignKey(
        District, on_delete=models.CASCADE, null=True, related_name="+", db_index=False
    )
    deal = models.CharField(max_length=4)
    room_bit = models.SmallIntegerField()
    price_class = models.SmallIntegerField()
    price_key = models.DecimalField(max_digits=14, decimal_places=2)
    price_min = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    price_max = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    furnishing = models.CharField(max_length=11, blank=True)
    rent_term = models.CharField(max_length=5, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["district", "deal", "room_bit", "price_class", "price_key", "city"]
                + SLOT_COLUMNS_READ_FROM_THE_INDEX,
                condition=models.Q(district__isnull=False),
                name="slot_by_district_idx",
            ),
            models.Index(
                fields=["city", "deal", "room_bit", "price_class", "price_key", "district"]
                + SLOT_COLUMNS_READ_FROM_THE_INDEX,
                condition=models.Q(district__isnull=True),
                name="slot_by_city_idx",
            ),
        ]

    def __str__(self):
        return f"Slot of search {self.search_filter_id}"


class Delivery(models.Model):
    """The outbox: one row per listing a subscriber must be told about."""

    class Kind(models.TextChoices):
        NEW = "new", "New listing"
        PRICE_DROP = "price_drop", "Price dropped"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    # Matching writes hundreds of thousands of these at once, and PostgreSQL checks a foreign
    # key constraint with a query per row: half the cost of writing them. So these three
    # references are kept by Django's on_delete, not by the database, and a delivery whose
    # subscriber or listing was deleted while matching wrote it is skipped (outbox.py).
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, db_constraint=False, related_name="deliveries"
    )
    listing = models.ForeignKey(
        Listing, on_delete=models.CASCADE, db_constraint=False, related_name="deliveries"
    )
    search_filter = models.ForeignKey(
        SearchFilter,
        on_delete=models.SET_NULL,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="deliveries",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NEW)
    price_change = models.ForeignKey(
        PriceChange, on_delete=models.CASCADE, null=True, blank=True, related_name="deliveries"
    )
    state = models.CharField(max_length=7, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_ids = models.JSONField(default=list, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        verbose_name_plural = "deliveries"
        constraints = [
            # A listing is announced to a person once, and each drop of its price once.
            models.UniqueConstraint(
                fields=["subscriber", "listing"],
                condition=Q(kind="new"),
                name="delivery_new_once_per_listing",
            ),
            models.UniqueConstraint(
                fields=["subscriber", "price_change"],
                condition=Q(kind="price_drop"),
                name="delivery_drop_once_per_change",
            ),
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"]),
            # Senders skip chats written to in the last second.
            models.Index(fields=["state", "sent_at"], name="delivery_recently_sent_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.listing_id} → {self.subscriber}"


class Plan(models.Model):
    """What a renter can buy with Telegram Stars; staff set names and prices in admin."""

    # Telegram shows the name as the invoice's title, which takes at most 32 characters.
    name = models.CharField(max_length=32)
    days = models.PositiveIntegerField(help_text="Days of access the plan adds")
    stars = models.PositiveIntegerField(help_text="Price in Telegram Stars")
    is_active = models.BooleanField(default=True, help_text="Offered in the chat's /renew")
    ordering = models.PositiveSmallIntegerField(default=0, help_text="Lower comes first")

    class Meta:
        ordering = ["ordering", "stars"]

    def __str__(self):
        return f"{self.name} ({self.days} days, {self.stars} ⭐)"


class Invoice(models.Model):
    """An invoice sent in the chat. Its payload is all Telegram hands back at checkout, so it
    is an opaque id of this row, which says who may pay for which plan and how much."""

    payload = models.CharField(max_length=32, unique=True)
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="invoices")
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="invoices")
    user_id = models.BigIntegerField(help_text="The Telegram user the invoice was made for")
    stars = models.PositiveIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Invoice {self.payload} for {self.subscriber}"


class Payment(models.Model):
    """Stars Telegram took from a renter; each charge extends access once."""

    subscriber = models.ForeignKey(Subscriber, on_delete=models.PROTECT, related_name="payments")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="payments")
    stars = models.PositiveIntegerField()
    # The plan's days when it was bought: a refund takes back what was given, even if staff
    # have changed the plan since.
    days = models.PositiveIntegerField()
    user_id = models.BigIntegerField(help_text="The Telegram user who paid; refunds go to them")
    telegram_payment_charge_id = models.CharField(max_length=255, unique=True)
    paid_at = models.DateTimeField(default=timezone.now, db_index=True)
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-paid_at"]

    def __str__(self):
        return f"{self.stars} ⭐ from {self.subscriber} on {self.paid_at:%Y-%m-%d}"


class Broadcast(models.Model):
    """A message staff send to a part of the subscribers (from the chat: all with access),
    sent by the worker."""

    class Audience(models.TextChoices):
        ACTIVE = "active", "everyone with access"
        TRIAL = "trial", "everyone on a free trial"
        EXPIRED = "expired", "everyone whose access has ended"
        ALL = "all", "everyone"

    class State(models.TextChoices):
        DRAFT = "draft", "draft (previewed, not confirmed)"
        SENDING = "sending", "sending"
        DONE = "done", "done"
        CANCELLED = "cancelled", "cancelled"

    text = models.TextField()
    audience = models.CharField(max_length=7, choices=Audience.choices, default=Audience.ACTIVE)
    city = models.ForeignKey(
        City,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        help_text="Only subscribers with a saved search in this city",
    )
    # The staff member's chat for a broadcast from the chat; 0 from admin.
    author_chat_id = models.BigIntegerField(default=0, editable=False)
    state = models.CharField(max_length=9, choices=State.choices, default=State.DRAFT)
    total = models.PositiveIntegerField(default=0)
    # The author's message that shows the progress, edited as the broadcast goes out.
    progress_message_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Broadcast {self.pk} ({self.state})"


class BroadcastMessage(models.Model):
    """One subscriber's copy of a broadcast: sent once, or failed with the reason."""

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        SENDING = "sending", "sending"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"

    broadcast = models.ForeignKey(Broadcast, on_delete=models.CASCADE, related_name="messages")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=7, choices=State.choices, default=State.PENDING)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["broadcast", "subscriber"], name="broadcast_once_per_subscriber"
            )
        ]
        indexes = [models.Index(fields=["state", "broadcast"], name="broadcast_message_state_idx")]

    def __str__(self):
        return f"Broadcast {self.broadcast_id} to {self.subscriber_id}: {self.state}"
