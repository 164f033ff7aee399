import asyncio
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.template.response import TemplateResponse
from django.utils import formats, timezone
from telegram.error import TelegramError

from runtime.logs import mask_token
from subscriptions import broadcasts
from subscriptions.models import (
    Broadcast,
    BroadcastMessage,
    Delivery,
    Invoice,
    Payment,
    Plan,
    SearchFilter,
    Subscriber,
    Subscription,
)
from subscriptions.payments import mark_refunded
from subscriptions.registration import end_access_now, extend_access
from telegram_bot.client import MissingBotToken
from telegram_bot.payments import refund_charges


def subscribers_of(queryset):
    """The subscribers behind a queryset of subscribers or of subscriptions."""
    if queryset.model is Subscriber:
        return list(queryset)
    return list(Subscriber.objects.filter(subscriptions__in=queryset).distinct())


@admin.action(description="Extend access by 7 days")
def extend_7_days(modeladmin, request, queryset):
    extend(modeladmin, request, queryset, 7)


@admin.action(description="Extend access by 30 days")
def extend_30_days(modeladmin, request, queryset):
    extend(modeladmin, request, queryset, 30)


def extend(modeladmin, request, queryset, days):
    subscribers = subscribers_of(queryset)
    for subscriber in subscribers:
        extend_access(subscriber, days)
    modeladmin.message_user(request, f"Extended {len(subscribers)} subscribers by {days} days.")


@admin.action(description="End access now")
def expire_now(modeladmin, request, queryset):
    subscribers = subscribers_of(queryset)
    for subscriber in subscribers:
        end_access_now(subscriber)
    modeladmin.message_user(
        request, f"Access of {len(subscribers)} subscribers ends now; the worker tells them."
    )


class ExpiryWindowFilter(admin.SimpleListFilter):
    title = "expires"
    parameter_name = "expires"

    def lookups(self, request, model_admin):
        return [("7", "within 7 days"), ("30", "within 30 days"), ("past", "in the past")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "past":
            return queryset.filter(expires_at__lte=now)
        if self.value() in ("7", "30"):
            until = now + timedelta(days=int(self.value()))
            return queryset.filter(Q(expires_at__gt=now) & Q(expires_at__lte=until))
        return queryset


class SubscriptionInline(admin.TabularInline):
    model = Subscription
    extra = 0
    fields = ["kind", "state", "starts_at", "expires_at", "expiry_notified_at"]


class SearchFilterInline(admin.TabularInline):
    model = SearchFilter
    extra = 0
    fields = [
        "name",
        "city",
        "deal",
        "price_min",
        "price_max",
        "rooms_mask",
        "furnishing",
        "rent_term",
        "is_paused",
    ]
    show_change_link = True


class MessageForm(forms.Form):
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        max_length=broadcasts.MAX_TEXT_LENGTH,
        help_text="Plain text: it is sent exactly as typed.",
    )


@admin.register(Subscriber)
class SubscriberAdmin(admin.ModelAdmin):
    list_display = ["__str__", "chat_id", "first_name", "language", "blocked_at", "created_at"]
    list_filter = ["language", ("blocked_at", admin.EmptyFieldListFilter)]
    search_fields = ["username", "first_name", "last_name", "=chat_id", "=user_id"]
    inlines = [SubscriptionInline, SearchFilterInline]
    actions = [extend_7_days, extend_30_days, expire_now, "send_message"]

    @admin.action(description="Send a message")
    def send_message(self, request, queryset):
        """Ask for the text, then queue it for the worker to send to the chosen subscribers."""
        form = MessageForm(request.POST if "send" in request.POST else None)
        if form.is_valid():
            count = broadcasts.send_to(
                queryset.values_list("pk", flat=True), form.cleaned_data["text"]
            )
            self.message_user(request, f"Message queued for {count} subscribers.")
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Send a message",
            "opts": self.model._meta,
            "subscribers": queryset,
            "form": form,
        }
        return TemplateResponse(request, "admin/subscriptions/send_message.html", context)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["subscriber", "kind", "state", "starts_at", "expires_at"]
    list_filter = ["state", "kind", ExpiryWindowFilter]
    search_fields = ["subscriber__username", "=subscriber__chat_id"]
    list_select_related = ["subscriber"]
    date_hierarchy = "expires_at"
    actions = [extend_7_days, extend_30_days, expire_now]


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
        "furnishing",
        "rent_term",
        "is_paused",
        "is_draft",
    ]
    list_filter = ["city", "deal", "furnishing", "rent_term", "is_paused", "is_draft"]
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
    actions = ["send_again"]

    @admin.action(description="Send again (the failed or skipped ones)")
    def send_again(self, request, queryset):
        """Queue failed or skipped deliveries afresh, say after Telegram or a chat came back."""
        given_up = [Delivery.State.FAILED, Delivery.State.SKIPPED]
        count = queryset.filter(state__in=given_up).update(
            state=Delivery.State.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        self.message_user(request, f"{count} deliveries queued to be sent again.")


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "days", "stars", "is_active", "ordering"]
    list_editable = ["is_active", "ordering"]
    list_filter = ["is_active"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows that record what happened: staff look, nobody edits."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "subscriber", "plan", "stars", "payload"]
    list_filter = ["plan", "created_at"]
    search_fields = ["=payload", "subscriber__username", "=subscriber__chat_id"]
    list_select_related = ["subscriber", "plan"]


# Telegram answers so when the Stars already went back (an earlier try whose answer was lost):
# the renter has their money, so the payment is marked refunded all the same. PTB capitalises
# Telegram's error text, hence the lower case.
ALREADY_REFUNDED = "charge_already_refunded"


@admin.action(description="Refund the Stars and take the days back", permissions=["refund"])
def refund(modeladmin, request, queryset):
    payments = list(queryset.filter(refunded_at__isnull=True).select_related("subscriber"))
    if not payments:
        modeladmin.message_user(request, "Those payments are refunded already.", messages.WARNING)
        return

    charges = [(payment.user_id, payment.telegram_payment_charge_id) for payment in payments]
    try:
        errors = asyncio.run(refund_charges(charges))
    except (TelegramError, MissingBotToken) as error:
        # PTB names the token in the text of InvalidToken.
        modeladmin.message_user(
            request, f"Nothing refunded: {mask_token(str(error))}", messages.ERROR
        )
        return

    for payment in payments:
        error = errors[payment.telegram_payment_charge_id]
        if error and ALREADY_REFUNDED not in error.lower():
            modeladmin.message_user(
                request,
                f"Payment {payment.pk} not refunded: Telegram says “{error}”.",
                messages.ERROR,
            )
            continue
        new_end = mark_refunded(payment.pk)
        if new_end is None:
            continue  # marked by another member of staff meanwhile
        until = formats.date_format(timezone.localtime(new_end), "j M Y H:i")
        modeladmin.message_user(
            request,
            f"Payment {payment.pk} refunded: {payment.subscriber} has access until {until}.",
        )


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["paid_at", "subscriber", "plan", "stars", "days", "refunded_at"]
    list_filter = ["plan", ("refunded_at", admin.EmptyFieldListFilter), "paid_at"]
    search_fields = ["=telegram_payment_charge_id", "subscriber__username", "=subscriber__chat_id"]
    list_select_related = ["subscriber", "plan"]
    date_hierarchy = "paid_at"
    actions = [refund]

    def has_refund_permission(self, request):
        # Payments are read-only; whoever may change them in principle may refund.
        return request.user.has_perm("subscriptions.change_payment")


class BroadcastMessageInline(admin.TabularInline):
    model = BroadcastMessage
    fields = ["subscriber", "state", "sent_at", "last_error"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Broadcast)
class BroadcastAdmin(admin.ModelAdmin):
    """Broadcasts: composed here for an audience, or in the chat with /broadcast; the list
    shows how each is going out, and a broadcast's page every recipient's copy."""

    list_display = ["__str__", "audience", "city", "state", "total", "sent", "failed", "remaining"]
    list_filter = ["state", "audience"]
    inlines = [BroadcastMessageInline]

    def get_queryset(self, request):
        states = BroadcastMessage.State
        return (
            super()
            .get_queryset(request)
            .select_related("city")
            .annotate(
                sent_count=Count("messages", filter=Q(messages__state=states.SENT)),
                failed_count=Count("messages", filter=Q(messages__state=states.FAILED)),
            )
        )

    def get_fields(self, request, obj=None):
        return ["text", "audience", "city"] if obj is None else super().get_fields(request, obj)

    def get_inlines(self, request, obj):
        # The copies exist once the broadcast is saved; composing one shows none.
        return [] if obj is None else self.inlines

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else [f.name for f in Broadcast._meta.fields]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            count = broadcasts.start_from_admin(obj)
            self.message_user(request, f"The broadcast goes out to {count} subscribers.")

    @admin.display(description="sent")
    def sent(self, obj):
        return obj.sent_count

    @admin.display(description="failed")
    def failed(self, obj):
        return obj.failed_count

    @admin.display(description="remaining")
    def remaining(self, obj):
        if obj.state in (Broadcast.State.DRAFT, Broadcast.State.CANCELLED):
            return "—"
        return obj.total - obj.sent_count - obj.failed_count


@admin.register(BroadcastMessage)
class BroadcastMessageAdmin(admin.ModelAdmin):
    list_display = ["__str__", "state", "sent_at"]
    list_filter = ["state"]
    readonly_fields = [f.name for f in BroadcastMessage._meta.fields]

    def has_add_permission(self, request):
        return False
