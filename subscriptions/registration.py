"""Registering a renter who sends /start: the subscriber row, the trial, the unblock."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from subscriptions.models import Subscriber, Subscription


@dataclass
class Registration:
    subscriber_id: int
    language: str
    is_new: bool
    trial_started: bool
    access_until: datetime | None
    was_blocked: bool
    search_count: int


def register(chat_id, user_id, username="", first_name="", last_name="", language=""):
    """Create or refresh the subscriber for this chat; a newcomer gets the trial, once."""
    now = timezone.now()
    with transaction.atomic():
        subscriber, is_new = Subscriber.objects.get_or_create(
            chat_id=chat_id,
            defaults={"user_id": user_id, "language": supported_language(language)},
        )
        was_blocked = subscriber.blocked_at is not None
        subscriber.user_id = user_id
        subscriber.username = (username or "")[:100]
        subscriber.first_name = (first_name or "")[:200]
        subscriber.last_name = (last_name or "")[:200]
        subscriber.language = subscriber.language or supported_language(language)
        subscriber.blocked_at = None
        subscriber.save()

        trial_started = False
        if settings.TRIAL_DAYS > 0 and not subscriber.subscriptions.exists():
            Subscription.objects.create(
                subscriber=subscriber,
                kind=Subscription.Kind.TRIAL,
                starts_at=now,
                expires_at=now + timedelta(days=settings.TRIAL_DAYS),
            )
            trial_started = True

    return Registration(
        subscriber_id=subscriber.pk,
        language=subscriber.language,
        is_new=is_new,
        trial_started=trial_started,
        access_until=access_until(subscriber, now),
        was_blocked=was_blocked,
        search_count=subscriber.search_filters.filter(is_draft=False).count(),
    )


def access_until(subscriber, now=None):
    """When the subscriber's current access ends; None when they have none."""
    now = now or timezone.now()
    latest = (
        subscriber.subscriptions.filter(state=Subscription.State.ACTIVE, expires_at__gt=now)
        .order_by("-expires_at")
        .first()
    )
    return latest.expires_at if latest else None


@dataclass
class AccessStatus:
    access_until: datetime | None
    kind: str
    language: str


def access_status(chat_id):
    """What the subscriber behind this chat has: until when, and of what kind."""
    subscriber = Subscriber.objects.filter(chat_id=chat_id).first()
    if subscriber is None:
        return AccessStatus(None, "", "")
    now = timezone.now()
    current = (
        subscriber.subscriptions.filter(state=Subscription.State.ACTIVE, expires_at__gt=now)
        .order_by("-expires_at")
        .first()
    )
    if current is None:
        return AccessStatus(None, "", subscriber.language)
    return AccessStatus(current.expires_at, current.kind, subscriber.language)


def extend_access(subscriber, days, kind=Subscription.Kind.GIFT):
    """Add `days` of access, counted from the later of now and the current end."""
    now = timezone.now()
    with transaction.atomic():
        current = (
            subscriber.subscriptions.select_for_update()
            .filter(state=Subscription.State.ACTIVE, expires_at__gt=now)
            .order_by("-expires_at")
            .first()
        )
        if current:
            current.expires_at += timedelta(days=days)
            current.save(update_fields=["expires_at"])
            return current
        return Subscription.objects.create(
            subscriber=subscriber,
            kind=kind,
            starts_at=now,
            expires_at=now + timedelta(days=days),
        )


def end_access_now(subscriber):
    """Make every active subscription end now; the worker expires it and tells them."""
    return subscriber.subscriptions.filter(
        state=Subscription.State.ACTIVE, expires_at__gt=timezone.now()
    ).update(expires_at=timezone.now())


def supported_language(code):
    """The bot language closest to a Telegram language code ("ru-RU" → "ru"), else English."""
    code = (code or "").lower().split("-")[0]
    return code if code in dict(settings.LANGUAGES) else "en"


def language_of(chat_id):
    language = Subscriber.objects.filter(chat_id=chat_id).values_list("language", flat=True)
    return supported_language(language.first())


def set_language(chat_id, language):
    Subscriber.objects.filter(chat_id=chat_id).update(language=supported_language(language))
    return supported_language(language)
