"""Staff alerts the worker sends: a component down and deliveries failing, once each way.

Each trouble has a `StaffAlert` row; a worker tells staff only after a conditional UPDATE of
that row changed it, so two workers watching the same database send each message once.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from runtime.db import db
from runtime.models import Heartbeat, StaffAlert
from subscriptions.models import Delivery
from telegram_bot.staff import tell_staff

logger = logging.getLogger(__name__)


@dataclass
class Watch:
    """One thing staff want to hear about, as it looks now."""

    key: str
    is_wrong: bool | None  # None: neither clearly wrong nor clearly well, keep what was said
    trouble: str
    recovery: str


@dataclass
class Change:
    """A trouble that began or ended, claimed by this worker to be told."""

    key: str
    text: str
    raised_at: datetime | None  # the row's value after the claim
    previous: datetime | None  # and before it, to give the claim back


def stale_before(now):
    """Heartbeats older than this are stale: the same threshold `manage.py health` fails on."""
    return now - timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)


def delivery_alert_rule():
    """(failures, minutes) that make deliveries count as failing."""
    return settings.DELIVERY_ALERT_FAILURES, settings.DELIVERY_ALERT_MINUTES


async def tell_staff_of_changes(bot, watcher):
    """Tell staff of each trouble that began or ended since the last look; returns how many."""
    if not settings.TELEGRAM_STAFF_IDS:
        return 0

    told = 0
    for change in await db(claim_changes)(watcher):
        if await tell_staff(bot, change.text):
            told += 1
        else:
            # Nobody got it (Telegram unreachable): let the next tick try again.
            await db(unclaim_change)(change)
    return told


def claim_changes(watcher, now=None):
    """Claim every trouble that began or ended; `watcher` is the component looking, skipped."""
    now = now or timezone.now()
    watches = [*component_watches(watcher, now), delivery_watch(now)]
    raised = dict(StaffAlert.objects.values_list("key", "raised_at"))

    changes = []
    for watch in watches:
        change = claim_change(watch, raised.get(watch.key), now)
        if change is not None:
            logger.info("staff alert %s: %s", watch.key, change.text)
            changes.append(change)
    return changes


def claim_change(watch, raised_at, now):
    """Record on the alert's row that `watch` changed; the Change if this worker recorded it.

    `raised_at` is the row's value as this worker read it: the UPDATE only lands if it still
    holds, so of two workers that read the same value, one claims and the other sends nothing.
    """
    if watch.is_wrong and raised_at is None:
        alert, _created = StaffAlert.objects.get_or_create(key=watch.key)
        claimed = StaffAlert.objects.filter(pk=alert.pk, raised_at__isnull=True)
        if claimed.update(raised_at=now):
            return Change(watch.key, watch.trouble, raised_at=now, previous=None)
    if watch.is_wrong is False and raised_at is not None:
        claimed = StaffAlert.objects.filter(key=watch.key, raised_at=raised_at)
        if claimed.update(raised_at=None):
            return Change(watch.key, watch.recovery, raised_at=None, previous=raised_at)
    return None


def unclaim_change(change):
    StaffAlert.objects.filter(key=change.key, raised_at=change.raised_at).update(
        raised_at=change.previous
    )


def component_watches(watcher, now):
    # The watcher is alive, it is running this: its own heartbeat is only late while it works.
    stale = stale_before(now)
    for beat in Heartbeat.objects.exclude(component=watcher):
        since = formats.date_format(timezone.localtime(beat.beat_at), "j M Y, H:i T")
        yield Watch(
            key=f"component:{beat.component}",
            is_wrong=beat.beat_at < stale,
            trouble=_("🔴 Component “%(name)s” is down since %(since)s (%(host)s, pid %(pid)s).")
            % {"name": beat.component, "since": since, "host": beat.hostname, "pid": beat.pid},
            recovery=_("✅ Component “%(name)s” is back (%(host)s, pid %(pid)s).")
            % {"name": beat.component, "host": beat.hostname, "pid": beat.pid},
        )


def delivery_watch(now):
    # A failed delivery's claim is its last attempt, so claimed_at is when it failed.
    failures, minutes = delivery_alert_rule()
    recent = Delivery.objects.filter(
        state=Delivery.State.FAILED, claimed_at__gte=now - timedelta(minutes=minutes)
    )
    count = recent.count()
    last_error = recent.order_by("-claimed_at").values_list("last_error", flat=True).first()

    if count >= failures:
        is_wrong = True
    elif count == 0:
        is_wrong = False
    else:
        # A few failures neither raise the alert nor clear it: no message flaps at the edge.
        is_wrong = None
    return Watch(
        key="deliveries",
        is_wrong=is_wrong,
        trouble=_(
            "⚠️ Deliveries are failing: %(count)d failed in the last %(minutes)d minutes. "
            "Last error: %(error)s"
        )
        % {"count": count, "minutes": minutes, "error": last_error or "—"},
        recovery=_("✅ Deliveries work again: none failed in the last %(minutes)d minutes.")
        % {"minutes": minutes},
    )
