"""The delivery outbox: claiming pending deliveries and recording how each send went."""

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from listings.models import Listing, PriceChange
from subscriptions.models import Delivery, Subscriber

logger = logging.getLogger(__name__)


@dataclass
class ClaimedDelivery:
    id: int
    chat_id: int
    subscriber_id: int
    attempts: int
    search_name: str
    language: str
    listing: Listing
    price_change: PriceChange | None = None


def claim_next_delivery(now=None):
    """Claim the oldest pending delivery that is due; None when there is none.

    The claim is a conditional UPDATE from pending to sending, so two senders never take the
    same row. A delivery whose subscriber can no longer receive it is skipped instead.
    """
    now = now or timezone.now()
    due = Delivery.objects.filter(state=Delivery.State.PENDING, next_attempt_at__lte=now)
    # Chats being written to, or written to a moment ago, wait their turn: the senders move
    # on to other chats instead of queueing behind Telegram's one-message-a-second limit.
    busy = Delivery.objects.filter(
        Q(state=Delivery.State.SENDING)
        | Q(
            state=Delivery.State.SENT,
            sent_at__gt=now - timedelta(seconds=settings.TELEGRAM_CHAT_INTERVAL_SECONDS),
        )
    ).values("subscriber_id")
    candidates = due.exclude(subscriber_id__in=busy).order_by("created_at", "id")
    for delivery_id in candidates.values_list("pk", flat=True)[:5]:
        # Still due as well as pending: a row put back with a later retry time since we read
        # it must wait that time out.
        claimed = Delivery.objects.filter(
            pk=delivery_id, state=Delivery.State.PENDING, next_attempt_at__lte=now
        ).update(state=Delivery.State.SENDING, claimed_at=now, attempts=F("attempts") + 1)
        if not claimed:
            continue

        delivery = (
            Delivery.objects.select_related(
                "subscriber",
                "listing__district",
                "listing__source",
                "search_filter",
                "price_change",
            )
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None:
            # Its subscriber or listing was deleted while matching wrote it: the outbox's
            # references are not database constraints (models.Delivery).
            mark_skipped(delivery_id, "its subscriber or listing was deleted")
            continue

        reason = why_undeliverable(delivery.subscriber, now)
        if reason:
            mark_skipped(delivery.pk, reason)
            continue
        return ClaimedDelivery(
            id=delivery.pk,
            chat_id=delivery.subscriber.chat_id,
            subscriber_id=delivery.subscriber_id,
            attempts=delivery.attempts,
            search_name=str(delivery.search_filter or ""),
            language=delivery.subscriber.language,
            listing=delivery.listing,
            price_change=delivery.price_change,
        )
    return None


def why_undeliverable(subscriber, now):
    if subscriber.blocked_at:
        return "the subscriber blocked the bot"
    if not subscriber.subscriptions.filter(state="active", expires_at__gt=now).exists():
        return "no active subscription"
    return ""


def release_stale_claims(now=None):
    """Return deliveries left in `sending` by a crashed process to the queue; returns count."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.DELIVERY_CLAIM_TIMEOUT_SECONDS)
    return Delivery.objects.filter(state=Delivery.State.SENDING, claimed_at__lt=stale).update(
        state=Delivery.State.PENDING, next_attempt_at=now
    )


def mark_sent(delivery_id, message_ids):
    Delivery.objects.filter(pk=delivery_id).update(
        state=Delivery.State.SENT, sent_at=timezone.now(), message_ids=message_ids, last_error=""
    )


def mark_skipped(delivery_id, reason):
    Delivery.objects.filter(pk=delivery_id).update(state=Delivery.State.SKIPPED, last_error=reason)


def mark_failed(delivery_id, error):
    Delivery.objects.filter(pk=delivery_id).update(
        state=Delivery.State.FAILED, last_error=error[:2000]
    )


def schedule_retry(delivery_id, error, delay_seconds, count_attempt=True):
    """Put a delivery back in the queue, due after `delay_seconds`."""
    fields = {
        "state": Delivery.State.PENDING,
        "next_attempt_at": timezone.now() + timedelta(seconds=delay_seconds),
        "last_error": error[:2000],
    }
    if not count_attempt:
        # Telegram asked us to slow down: that is no failure of this delivery.
        fields["attempts"] = F("attempts") - 1
    Delivery.objects.filter(pk=delivery_id).update(**fields)


def mark_subscriber_blocked(subscriber_id, error):
    """Telegram will not deliver to this chat: stop trying, for this and every pending row."""
    now = timezone.now()
    with transaction.atomic():
        Subscriber.objects.filter(pk=subscriber_id, blocked_at__isnull=True).update(blocked_at=now)
        Delivery.objects.filter(
            Q(state=Delivery.State.PENDING) | Q(state=Delivery.State.SENDING),
            subscriber_id=subscriber_id,
        ).update(state=Delivery.State.SKIPPED, last_error=error[:2000])


def move_subscriber_chat(subscriber_id, new_chat_id):
    """A group became a supergroup: Telegram gave us its new chat id."""
    Subscriber.objects.filter(pk=subscriber_id).update(chat_id=new_chat_id)


def recently_sent(chat_id, limit=5):
    """The listings most recently sent to this chat, newest first, with the search's name."""
    sent = (
        Delivery.objects.filter(
            subscriber__chat_id=chat_id, state=Delivery.State.SENT, kind=Delivery.Kind.NEW
        )
        .select_related("listing__source", "listing__district", "search_filter")
        .order_by("-sent_at")[:limit]
    )
    return [(delivery.listing, str(delivery.search_filter or "")) for delivery in sent]


def seconds_until_next_due(now=None):
    """How long until a pending delivery may go out: 0 if one is due now, None if none waits."""
    now = now or timezone.now()
    soonest = (
        Delivery.objects.filter(state=Delivery.State.PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if soonest is None:
        return None
    return max(0.0, (soonest - now).total_seconds())
