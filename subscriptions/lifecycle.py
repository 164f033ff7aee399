"""The subscription lifecycle the worker runs: expiry and the notice that follows it.

Each step decides by a conditional UPDATE, so two workers, or a worker restarted mid-tick,
still expire a subscription once and tell its subscriber once.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from listings.models import Listing
from subscriptions.models import SearchFilter, Subscriber, Subscription
from subscriptions.searches import listings_matching

# Expired subscribers hear what they missed once a week, for this many weeks after expiry.
MISSED_NOTICE_WEEKS = 8


@dataclass
class ExpiryNotice:
    subscription_id: int
    subscriber_id: int
    chat_id: int
    language: str


def expire_one_subscription(now=None):
    """Mark one active subscription past its end as expired; True if one was."""
    now = now or timezone.now()
    overdue = Subscription.objects.filter(
        state=Subscription.State.ACTIVE, expires_at__lte=now
    ).order_by("expires_at")
    for subscription_id in overdue.values_list("pk", flat=True)[:5]:
        if Subscription.objects.filter(pk=subscription_id, state=Subscription.State.ACTIVE).update(
            state=Subscription.State.EXPIRED, expired_at=now
        ):
            return True
    return False


def claim_one_expiry_notice(now=None):
    """Claim an expired subscription whose subscriber has not been told; None if none.

    A subscriber who already holds another active subscription (renewed in time) is not told;
    their notice is marked done without a message.
    """
    now = now or timezone.now()
    untold = Subscription.objects.filter(
        state=Subscription.State.EXPIRED, expiry_notified_at__isnull=True
    ).select_related("subscriber")
    for subscription in untold.order_by("expired_at")[:5]:
        claimed = Subscription.objects.filter(
            pk=subscription.pk, expiry_notified_at__isnull=True
        ).update(expiry_notified_at=now)
        if not claimed:
            continue

        subscriber = subscription.subscriber
        renewed = subscriber.subscriptions.filter(
            state=Subscription.State.ACTIVE, expires_at__gt=now
        ).exists()
        if renewed or subscriber.blocked_at:
            continue
        return ExpiryNotice(
            subscription.pk, subscriber.pk, subscriber.chat_id, subscriber.language
        )
    return None


def unclaim_expiry_notice(subscription_id):
    """The notice could not be sent for a passing reason: let the next tick try again."""
    Subscription.objects.filter(pk=subscription_id).update(expiry_notified_at=None)


@dataclass
class MissedNotice:
    subscriber_id: int
    chat_id: int
    language: str
    missed: int
    claimed_at: object


def claim_one_missed_notice(now=None):
    """Claim a lapsed subscriber due their weekly "you missed N listings"; None if none is.

    Due: access ended at least a week ago and at most MISSED_NOTICE_WEEKS ago, not blocked,
    no notice in the last week. The claim moves `missed_notice_at` on from the value read;
    a week in which nothing matched is claimed and passed over in silence.
    """
    now = now or timezone.now()
    week_ago = now - timedelta(days=7)
    has_access_now = Subscription.objects.filter(
        subscriber=OuterRef("pk"), state=Subscription.State.ACTIVE, expires_at__gt=now
    )
    lapsed = (
        Subscriber.objects.filter(blocked_at__isnull=True)
        .filter(
            subscriptions__expires_at__lte=week_ago,
            subscriptions__expires_at__gt=now - timedelta(weeks=MISSED_NOTICE_WEEKS),
        )
        .exclude(Exists(has_access_now))
        .filter(Q(missed_notice_at__isnull=True) | Q(missed_notice_at__lte=week_ago))
        .distinct()
    )
    for subscriber in lapsed.order_by("pk")[:20]:
        claimed = Subscriber.objects.filter(
            pk=subscriber.pk, missed_notice_at=subscriber.missed_notice_at
        ).update(missed_notice_at=now)
        if not claimed:
            continue
        missed = count_missed(subscriber, since=week_ago)
        if missed:
            return MissedNotice(
                subscriber.pk, subscriber.chat_id, subscriber.language, missed, claimed_at=now
            )
    return None


def count_missed(subscriber, since):
    """Listings first seen since then that the subscriber's live searches take."""
    searches = SearchFilter.objects.filter(
        subscriber=subscriber, is_draft=False, is_paused=False
    ).select_related("city")
    matched = Q(pk__in=[])
    for search in searches:
        matched |= Q(pk__in=listings_matching(search).values("pk"))
    return Listing.objects.filter(matched, first_seen_at__gte=since).count()


def unclaim_missed_notice(subscriber_id, claimed_at):
    """The notice could not be sent for a passing reason: let the next tick try again."""
    Subscriber.objects.filter(pk=subscriber_id, missed_notice_at=claimed_at).update(
        missed_notice_at=None
    )


@dataclass
class Reminder:
    subscription_id: int
    subscriber_id: int
    chat_id: int
    language: str
    days: int
    expires_at: object


def claim_one_reminder(now=None):
    """Claim a reminder that is due ("your access ends in N days"); None if none is.

    The claim appends N to `reminders_sent` with a conditional UPDATE on the list as it was
    read, so two workers never both send it.
    """
    now = now or timezone.now()
    # The nearest reminder first: a subscription found with a day left gets "ends tomorrow",
    # and the earlier reminders it outran are recorded as sent with it, never sent after it.
    for days in sorted(settings.REMINDER_DAYS):
        due = Subscription.objects.filter(
            state=Subscription.State.ACTIVE,
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=days),
            subscriber__blocked_at__isnull=True,
        ).select_related("subscriber")
        for subscription in due.order_by("expires_at")[:20]:
            sent = subscription.reminders_sent
            if any(earlier <= days for earlier in sent) or renewed_beyond(subscription):
                continue
            outrun = [
                later for later in settings.REMINDER_DAYS if later > days and later not in sent
            ]
            claimed = Subscription.objects.filter(pk=subscription.pk, reminders_sent=sent).update(
                reminders_sent=sorted([*sent, *outrun, days], reverse=True)
            )
            if claimed:
                subscriber = subscription.subscriber
                return Reminder(
                    subscription.pk,
                    subscriber.pk,
                    subscriber.chat_id,
                    subscriber.language,
                    days,
                    subscription.expires_at,
                )
    return None


def renewed_beyond(subscription):
    """A later subscription already continues this one: no reminder is needed."""
    return subscription.subscriber.subscriptions.filter(
        state=Subscription.State.ACTIVE, expires_at__gt=subscription.expires_at
    ).exists()


def unclaim_reminder(subscription_id, days):
    subscription = Subscription.objects.get(pk=subscription_id)
    remaining = [d for d in subscription.reminders_sent if d != days]
    Subscription.objects.filter(pk=subscription_id).update(reminders_sent=remaining)
