"""The polling lease: one process per bot may poll Telegram's getUpdates.

Telegram answers a second poller with 409 Conflict and hands each update to one of them at
random. Before it polls, the bot component takes its bot's lease row with a conditional write;
it renews the row with every heartbeat and deletes it on a clean stop. Times come from the
database's clock, so processes on machines whose clocks differ still agree on who holds it.
"""

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import ExpressionWrapper, Q
from django.db.models.functions import Now
from telegram.error import InvalidToken

from runtime.models import PollingLease


class PollingRefused(Exception):
    """Another process holds this bot's polling lease: this one must not poll."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lease: the machine, the process and one bot component in it."""

    hostname: str
    pid: int
    instance: str

    @classmethod
    def this_component(cls):
        # The instance id tells apart two bot components in one process (as in tests), and a
        # restarted component keeps it: the supervisor's restart takes its own lease again.
        return cls(socket.gethostname(), os.getpid(), uuid.uuid4().hex)


def lease_seconds():
    """How long a lease lasts without renewal: several heartbeats."""
    return settings.TELEGRAM_POLLING_LEASE_SECONDS


def bot_id_of(token):
    """The bot's numeric id: its token's part before the colon (the rest is the secret)."""
    head = token.partition(":")[0]
    if not head.isdigit():
        raise InvalidToken("the bot token does not start with the bot's numeric id")
    return int(head)


def take_polling_lease(bot_id, holder, seconds):
    """Take the bot's lease if it is free, expired or already ours; else raise PollingRefused."""
    # Two tries: a lease released between our insert and our read leaves nothing to name.
    for _ in range(2):
        if _claim(bot_id, holder, seconds, Q(expires_at__lt=Now()) | Q(instance=holder.instance)):
            return
        if _insert(bot_id, holder, seconds):
            return
        lease = PollingLease.objects.filter(bot_id=bot_id).first()
        if lease is not None and left_by_a_dead_process(lease, holder):
            # Killed without stopping (SIGKILL, out of memory) and restarted on this machine:
            # waiting out the lease would keep the bot, parser and worker down for a minute.
            if _claim(bot_id, holder, seconds, Q(instance=lease.instance)):
                return
            continue
        if lease is not None:
            raise PollingRefused(refusal(lease))
    raise PollingRefused("another process is taking the lease to poll for this bot right now")


def left_by_a_dead_process(lease, holder):
    """Whether the lease's holder was a process on this very machine that no longer runs."""
    if lease.hostname != socket.gethostname()[:200] or lease.instance == holder.instance:
        return False
    try:
        os.kill(lease.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, under another user
    return False


def renew_polling_lease(bot_id, holder, seconds):
    """Push our lease's end further; raise PollingRefused if another process has taken it."""
    renewed = PollingLease.objects.filter(bot_id=bot_id, instance=holder.instance).update(
        expires_at=_from_now(seconds)
    )
    # A row deleted by hand (in admin) is ours again if nobody else got there first.
    if renewed or _insert(bot_id, holder, seconds):
        return

    lease = PollingLease.objects.filter(bot_id=bot_id).first()
    raise PollingRefused(
        f"another process took over polling for this bot ({_describe(lease)}) "
        "while this one could not renew its lease in time; this one stops polling"
    )


def release_polling_lease(bot_id, holder):
    """Give the lease up so that another process may poll at once; a no-op if not ours."""
    PollingLease.objects.filter(bot_id=bot_id, instance=holder.instance).delete()


def refusal(lease):
    """The one line an operator reads when a second process would poll for the bot."""
    return (
        f"another process polls for this bot ({_describe(lease)}); "
        "stop it, or run runparser/runworker here instead"
    )


def _describe(lease):
    if lease is None:
        return "which has just let it go"
    until = lease.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"host {lease.hostname} pid {lease.pid}, lease until {until}"


def _claim(bot_id, holder, seconds, condition):
    """Make holder the lease's holder where condition holds; True if exactly one row changed."""
    changed = PollingLease.objects.filter(condition, bot_id=bot_id).update(
        **_holder_fields(holder), acquired_at=Now(), expires_at=_from_now(seconds)
    )
    return changed == 1


def _insert(bot_id, holder, seconds):
    """Create the bot's lease row for holder; False if some process already has one."""
    try:
        with transaction.atomic():
            PollingLease.objects.create(
                bot_id=bot_id,
                **_holder_fields(holder),
                acquired_at=Now(),
                expires_at=_from_now(seconds),
            )
    except IntegrityError:
        return False
    return True


def _holder_fields(holder):
    return {"hostname": holder.hostname[:200], "pid": holder.pid, "instance": holder.instance}


def _from_now(seconds):
    return ExpressionWrapper(
        Now() + timedelta(seconds=seconds), output_field=models.DateTimeField()
    )
