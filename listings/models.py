"""Where listings come from (cities, districts, sources) and what the parser stores."""

from django.db import models
from django.utils import timezone


class Deal(models.TextChoices):
    RENT = "rent", "Rent"
    SALE = "sale", "Buy"


class Period(models.TextChoices):
    DAY = "day", "per day"
    WEEK = "week", "per week"
    MONTH = "month", "per month"
    YEAR = "year", "per year"
    ONCE = "once", "one-off (sale)"


class Furnishing(models.TextChoices):
    FURNISHED = "furnished", "Furnished"
    # Some furniture, or the Dutch "gestoffeerd" (floors and curtains): fits either wish.
    PARTLY = "partly", "Partly furnished"
    UNFURNISHED = "unfurnished", "Unfurnished"


class City(models.Model):
    name = models.CharField(max_length=100, unique=True)
    country = models.CharField(max_length=2, help_text="ISO 3166 country code")
    currency = models.CharField(max_length=3, help_text="Currency filters are priced in")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "cities"

    def __str__(self):
        return self.name


class District(models.Model):
    city = models.ForeignKey(City, on_delete=models.CASCADE, related_name="districts")
    name = models.CharField(max_length=100)
    aliases = models.JSONField(
        default=list,
        blank=True,
        help_text="Other spellings the sources use for this district, matched case-insensitively",
    )

    class Meta:
        ordering = ["city__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["city", "name"], name="district_unique_per_city")
        ]

    def __str__(self):
        return f"{self.name}, {self.city.name}"


class Source(models.Model):
    class State(models.TextChoices):
        OK = "ok", "OK"
        DEGRADED = "degraded", "Degraded"
        BLOCKED = "blocked", "Blocked"
        BROKEN = "broken", "Broken"

    name = models.CharField(max_length=100, unique=True)
    adapter = models.CharField(max_length=50, help_text="Which parser reads this site's pages")
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="sources")
    deal = models.CharField(max_length=4, choices=Deal.choices, default=Deal.RENT)
    search_url = models.URLField(max_length=2000)
    selectors = models.JSONField(
        default=dict,
        blank=True,
        help_text="For the no-code 'css' adapter: CSS selectors of the card and its fields",
    )
    is_enabled = models.BooleanField(default=True)
    poll_interval_seconds = models.PositiveIntegerField(default=600)

    state = models.CharField(max_length=10, choices=State.choices, default=State.OK)
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_run_at = models.DateTimeField(default=timezone.now, db_index=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    alerted_at = models.DateTimeField(
        null=True, blank=True, help_text="When staff were told this source is failing"
    )
    # Validators of the last ok answer, for a conditional GET that costs the site nothing.
    etag = models.CharField(max_length=200, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Listing(models.Model):
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="listings")
    external_id = models.CharField(max_length=100)
    city = models.ForeignKey(City, on_delete=models.PROTECT, related_name="listings")
    deal = models.CharField(max_length=4, choices=Deal.choices, default=Deal.RENT)
    url = models.URLField(max_length=2000)
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)

    price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    period = models.CharField(max_length=5, choices=Period.choices, blank=True)
    price_per_month = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, db_index=True
    )
    price_text = models.CharField(max_length=200, blank=True)

    rooms = models.PositiveSmallIntegerField(null=True, blank=True, help_text="0 is a studio")
    bathrooms = models.PositiveSmallIntegerField(null=True, blank=True)
    area_m2 = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    district = models.ForeignKey(
        District, on_delete=models.SET_NULL, null=True, blank=True, related_name="listings"
    )
    address = models.CharField(max_length=500, blank=True)
    furnishing = models.CharField(
        max_length=11, choices=Furnishing.choices, blank=True, help_text="Blank: not stated"
    )
    photo_urls = models.JSONField(default=list, blank=True)

    published_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)
    # Address, area, rooms and photos: the same flat reposted under a new id keeps it.
    fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    repost_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reposts"
    )
    raw = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-first_seen_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"], name="listing_unique_per_source"
            )
        ]

    def __str__(self):
        return self.title


class PriceChange(models.Model):
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="price_changes")
    old_price = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    new_price = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self):
        return f"{self.listing_id}: {self.old_price} → {self.new_price}"


class FetchRun(models.Model):
    class State(models.TextChoices):
        OK = "ok", "OK"
        BLOCKED = "blocked", "Blocked"
        TEMPORARY = "temporary", "Temporary failure"
        BROKEN = "broken", "Broken"

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="runs")
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    state = models.CharField(max_length=10, choices=State.choices)
    pages = models.PositiveIntegerField(default=0)
    found = models.PositiveIntegerField(default=0)
    new = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    deliveries = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    took_seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.source} {self.started_at:%Y-%m-%d %H:%M} {self.state}"
