"""Broadcasts: a message staff compose in the chat, preview, confirm, and the worker sends.

Each recipient gets a `BroadcastMessage` row when staff confirm, so the sending survives a
restart and reaches everyone once; every step is a conditional UPDATE on the row it changes.
"""

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone

from subscriptions.models import (
    Broadcast,
    BroadcastMessage,
    Subscriber,
    Subscription,
)

MAX_TEXT_LENGTH = 3_500  # what is left of Telegram's 4,096 once it is escaped


@dataclass
class Progress:
    broadcast_id: int
    author_chat_id: int
    progress_message_id: int | None
    total: int
    sent: int
    failed: int
    finished: bool

    @property
    def remaining(self):
        return self.total - self.sent - self.failed


@dataclass
class ClaimedMessage:
    id: int
    chat_id: int
    subscriber_id: int
    text: str


def audience(kind=Broadcast.Audience.ACTIVE, city_id=None):
    """The subscribers a broadcast reaches; never one who blocked the bot."""
    now = timezone.now()
    reachable = Subscriber.objects.filter(blocked_at__isnull=True)
    live = Subscription.objects.filter(
        subscriber=OuterRef("pk"), state=Subscription.State.ACTIVE, expires_at__gt=now
    )
    match kind:
        case Broadcast.Audience.ACTIVE:
            reachable = reachable.filter(Exists(live))
        case Broadcast.Audience.TRIAL:
            reachable = reachable.filter(Exists(live.filter(kind=Subscription.Kind.TRIAL)))
        case Broadcast.Audience.EXPIRED:
            reachable = reachable.exclude(Exists(live))
    if city_id is not None:
        reachable = reachable.filter(
            search_filters__city_id=city_id, search_filters__is_draft=False
        )
    return reachable.distinct()


def start_from_admin(broadcast):
    """Queue a broadcast composed in admin for its audience; the number it goes to."""
    recipients = list(audience(broadcast.audience, broadcast.city_id).values_list("pk", flat=True))
    with transaction.atomic():
        BroadcastMessage.objects.bulk_create(
            BroadcastMessage(broadcast=broadcast, subscriber_id=pk) for pk in recipients
        )
        Broadcast.objects.filter(pk=broadcast.pk).update(
            state=Broadcast.State.SENDING, total=len(recipients)
        )
    return len(recipients)


def draft(author_chat_id, text):
    """A broadcast to preview; returns it with the number of people it would reach."""
    broadcast = Broadcast.objects.create(author_chat_id=author_chat_id, text=text)
    return broadcast, audience().count()


def confirm(broadcast_id, progress_message_id):
    """Start sending a previewed broadcast; the number of recipients, None if not a draft."""
    with transaction.atomic():
        started = Broadcast.objects.filter(pk=broadcast_id, state=Broadcast.State.DRAFT).update(
            state=Broadcast.State.SENDING, progress_message_id=progress_message_id
        )
        if not started:
            return None
        recipients = list(audience().values_list("pk", flat=True))
        BroadcastMessage.objects.bulk_create(
            BroadcastMessage(broadcast_id=broadcast_id, subscriber_id=pk) for pk in recipients
        )
        Broadcast.objects.filter(pk=broadcast_id).update(total=len(recipients))
    return len(recipients)


def send_to(subscriber_ids, text):
    """A message from admin to chosen subscribers, sent by the worker like a broadcast; the
    number it goes to (those who blocked the bot are left out)."""
    recipients = list(
        Subscriber.objects.filter(pk__in=subscriber_ids, blocked_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            text=text, author_chat_id=0, state=Broadcast.State.SENDING, total=len(recipients)
        )
        BroadcastMessage.objects.bulk_create(
            BroadcastMessage(broadcast=broadcast, subscriber_id=pk) for pk in recipients
        )
    return len(recipients)


def cancel(broadcast_id):
    """Drop a previewed broadcast; True if it was still a draft."""
    return bool(
        Broadcast.objects.filter(pk=broadcast_id, state=Broadcast.State.DRAFT).update(
            state=Broadcast.State.CANCELLED
        )
    )


def claim_one_message():
    """Claim the oldest unsent copy of a broadcast being sent; None when there is none."""
    pending = BroadcastMessage.objects.filter(
        state=BroadcastMessage.State.PENDING, broadcast__state=Broadcast.State.SENDING
    ).order_by("broadcast_id", "id")
    for message_id in pending.values_list("pk", flat=True)[:5]:
        claimed = BroadcastMessage.objects.filter(
            pk=message_id, state=BroadcastMessage.State.PENDING
        ).update(state=BroadcastMessage.State.SENDING)
        if claimed:
            message = BroadcastMessage.objects.select_related("broadcast", "subscriber").get(
                pk=message_id
            )
            return ClaimedMessage(
                message.pk,
                message.subscriber.chat_id,
                message.subscriber_id,
                message.broadcast.text,
            )
    return None


def mark_sent(message_id):
    BroadcastMessage.objects.filter(pk=message_id).update(
        state=BroadcastMessage.State.SENT, sent_at=timezone.now()
    )


def mark_failed(message_id, error):
    BroadcastMessage.objects.filter(pk=message_id).update(
        state=BroadcastMessage.State.FAILED, last_error=error
    )


def unclaim(message_id):
    """Put a copy back to be sent on a later tick."""
    BroadcastMessage.objects.filter(pk=message_id).update(state=BroadcastMessage.State.PENDING)


def progress_of_sending():
    """How each broadcast being sent is doing; a finished one is marked done here, once."""
    states = BroadcastMessage.State
    broadcasts = Broadcast.objects.filter(state=Broadcast.State.SENDING).annotate(
        sent=Count("messages", filter=Q(messages__state=states.SENT)),
        failed=Count("messages", filter=Q(messages__state=states.FAILED)),
    )
    report = []
    for broadcast in broadcasts:
        finished = broadcast.sent + broadcast.failed >= broadcast.total
        if finished:
            finished = bool(
                Broadcast.objects.filter(pk=broadcast.pk, state=Broadcast.State.SENDING).update(
                    state=Broadcast.State.DONE, finished_at=timezone.now()
                )
            )
        report.append(
            Progress(
                broadcast.pk,
                broadcast.author_chat_id,
                broadcast.progress_message_id,
                broadcast.total,
                broadcast.sent,
                broadcast.failed,
                finished,
            )
        )
    return report
