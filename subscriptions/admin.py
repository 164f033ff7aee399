from django.contrib import admin

from subscriptions.models import Delivery, SearchFilter, Subscriber, Subscription


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    fields = ["kind", "state", "starts_at", "expires_at", "expiry_notified_at"]


class SearchFilterInline(admin.TabularInline):
    model = SearchFilter
    extra = 0
    fields = ["name", "city", "deal", "price_min", "price_max", "rooms_mask", "is_paused"]
    show_change_link = True


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["__str__", "chat_id", "first_name", "language", "blocked_at", "created_at"]
    list_filter = ["language", ("blocked_at", admin.EmptyFieldListFilter)]
    search_fields = ["username", "first_name", "last_name", "=chat_id", "=user_id"]
    inlines = [SubscriptionInline, SearchFilterInline]


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["subscriber", "kind", "state", "starts_at", "expires_at"]
    list_filter = ["state", "kind", "expires_at"]
    search_fields = ["subscriber__username", "=subscriber__chat_id"]
    list_select_related = ["subscriber"]
    date_hierarchy = "expires_at"


@admin.register(SearchFilter)
class SearchFilterAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "subscriber",
        "city",
        "deal",
        "price_min",
        "price_max",
        "rooms_mask",
        "is_paused",
        "is_draft",
    ]
    list_filter = ["city", "deal", "is_paused", "is_draft"]
    search_fields = ["name", "subscriber__username", "=subscriber__chat_id"]
    list_select_related = ["subscriber", "city"]
    filter_horizontal = ["districts"]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "listing",
        "subscriber",
        "kind",
        "state",
        "attempts",
        "created_at",
        "sent_at",
        "last_error",
    ]
    list_filter = ["state", "kind", "created_at"]
    search_fields = ["subscriber__username", "=subscriber__chat_id", "listing__title"]
    list_select_related = ["listing", "subscriber"]
    raw_id_fields = ["listing", "subscriber", "search_filter"]
    date_hierarchy = "created_at"
