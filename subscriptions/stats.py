"""Today's numbers for staff: subscribers, access, listings per source, deliveries, sources."""

from dataclasses import dataclass

from django.db.models import Count, Q
from django.utils import timezone

from listings.models import Listing, Source
from subscriptions.models import Delivery, Subscriber, Subscription


@dataclass
class Stats:
    subscribers: int
    blocked: int
    active: int
    listings_today: list  # [(source name, count)]
    sent_today: int
    failed_today: int
    pending: int
    sources_not_ok: list  # [(source name, state, last error)]


def todays_stats():
    now = timezone.now()
    midnight = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    deliveries = Delivery.objects.aggregate(
        sent=Count("pk", filter=Q(state=Delivery.State.SENT, sent_at__gte=midnight)),
        failed=Count("pk", filter=Q(state=Delivery.State.FAILED, created_at__gte=midnight)),
        pending=Count("pk", filter=Q(state=Delivery.State.PENDING)),
    )
    per_source = (
        Listing.objects.filter(first_seen_at__gte=midnight)
        .values_list("source__name")
        .annotate(count=Count("pk"))
        .order_by("-count")
    )
    return Stats(
        subscribers=Subscriber.objects.count(),
        blocked=Subscriber.objects.filter(blocked_at__isnull=False).count(),
        active=Subscriber.objects.filter(
            subscriptions__state=Subscription.State.ACTIVE, subscriptions__expires_at__gt=now
        )
        .distinct()
        .count(),
        listings_today=list(per_source),
        sent_today=deliveries["sent"],
        failed_today=deliveries["failed"],
        pending=deliveries["pending"],
        sources_not_ok=list(
            Source.objects.filter(is_enabled=True)
            .exclude(state=Source.State.OK)
            .values_list("name", "state", "last_error")
        ),
    )


def find_subscriber(reference):
    """A subscriber by chat id or @username; None if there is no such one."""
    reference = reference.strip()
    if reference.lstrip("-").isdigit():
        return Subscriber.objects.filter(chat_id=int(reference)).first()
    return Subscriber.objects.filter(username__iexact=reference.lstrip("@")).first()
