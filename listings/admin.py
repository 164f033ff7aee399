from django.contrib import admin
from django.db import models
from django.db.models import OuterRef, Subquery
from django.utils import timezone
from django.utils.html import format_html

from listings.models import City, District, FetchRun, Listing, PriceChange, Source


class DistrictInline(admin.TabularInline):
    model = District
    extra = 0
    fields = ["name", "aliases"]


@admin.register(City)
class CityAdmin(admin.ModelAdmin):
    list_display = ["name", "country", "currency"]
    search_fields = ["name"]
    inlines = [DistrictInline]


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["name", "city", "aliases"]
    list_filter = ["city"]
    search_fields = ["name", "city__name"]


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "adapter",
        "city",
        "deal",
        "is_enabled",
        "state",
        "consecutive_failures",
        "last_success_at",
        "last_run",
        "short_error",
        "next_run_at",
    ]
    list_filter = ["state", "is_enabled", "adapter", "city", "deal"]
    search_fields = ["name", "search_url"]
    readonly_fields = [
        "state",
        "consecutive_failures",
        "last_success_at",
        "last_error",
        "claimed_at",
        "created_at",
    ]
    actions = ["run_now"]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        # Django 6 will assume https for a URL typed without a scheme; do so already.
        if isinstance(db_field, models.URLField):
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    # Adds the "Try selectors" link to the change page.
    change_form_template = "admin/listings/source/change_form.html"

    def get_urls(self):
        from listings.admin_preview import preview_urls

        return preview_urls(self) + super().get_urls()

    def get_queryset(self, request):
        runs = FetchRun.objects.filter(source=OuterRef("pk")).order_by("-started_at")
        return (
            super()
            .get_queryset(request)
            .select_related("city")
            .annotate(
                last_found=Subquery(runs.values("found")[:1]),
                last_new=Subquery(runs.values("new")[:1]),
            )
        )

    @admin.display(description="last run: found / new")
    def last_run(self, source):
        if source.last_found is None:
            return "—"
        return f"{source.last_found} / {source.last_new}"

    @admin.display(description="last error")
    def short_error(self, source):
        return source.last_error[:80]

    @admin.action(description="Run now")
    def run_now(self, request, queryset):
        count = queryset.update(next_run_at=timezone.now())
        self.message_user(request, f"{count} sources will run on the parser's next pass.")


class PriceChangeInline(admin.TabularInline):
    model = PriceChange
    extra = 0
    readonly_fields = ["old_price", "new_price", "changed_at"]
    can_delete = False


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = [
        "thumbnail",
        "title",
        "source",
        "price_with_period",
        "rooms",
        "area_m2",
        "district",
        "first_seen_at",
        "removed_at",
    ]
    list_filter = ["source", "city", "deal", "rooms", "furnishing", "district", "first_seen_at"]
    search_fields = ["title", "external_id", "address", "url"]
    list_select_related = ["source", "district"]
    date_hierarchy = "first_seen_at"
    readonly_fields = ["raw", "first_seen_at", "last_seen_at"]
    inlines = [PriceChangeInline]

    @admin.display(description="photo")
    def thumbnail(self, listing):
        """The first photo, small; only a web address, since the page's data is untrusted."""
        photo = next(iter(listing.photo_urls or []), "")
        if not str(photo).startswith(("https://", "http://")):
            return "—"
        return format_html(
            '<img src="{}" alt="" loading="lazy" referrerpolicy="no-referrer" '
            'style="max-width: 80px; max-height: 60px">',
            photo,
        )

    @admin.display(description="price", ordering="price_per_month")
    def price_with_period(self, listing):
        if listing.price is None:
            return listing.price_text or "—"
        period = "" if listing.period in ("", "once") else f" / {listing.period}"
        return f"{listing.price:,.0f} {listing.currency}{period}"


@admin.register(PriceChange)
class PriceChangeAdmin(admin.ModelAdmin):
    list_display = ["listing", "old_price", "new_price", "changed_at"]
    list_select_related = ["listing"]
    search_fields = ["listing__title", "listing__external_id"]
    date_hierarchy = "changed_at"


@admin.register(FetchRun)
class FetchRunAdmin(admin.ModelAdmin):
    list_display = [
        "source",
        "started_at",
        "state",
        "pages",
        "found",
        "new",
        "updated",
        "deliveries",
        "took_seconds",
    ]
    list_filter = ["state", "source"]
    list_select_related = ["source"]
    search_fields = ["source__name", "error"]
    date_hierarchy = "started_at"
