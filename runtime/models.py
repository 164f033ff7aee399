"""Liveness of the long-running components."""

from django.db import models


class Heartbeat(models.Model):
    """The last time a component (bot, parser, worker) reported that it was alive."""

    component = models.CharField(max_length=50, unique=True)
    beat_at = models.DateTimeField()
    started_at = models.DateTimeField()
    pid = models.PositiveIntegerField()
    hostname = models.CharField(max_length=200)
    restarts = models.PositiveIntegerField(default=0)
    db_session = models.BigIntegerField(
        null=True, blank=True, help_text="PostgreSQL backend pid of the component's connection"
    )
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["component"]

    def __str__(self):
        return self.component


class StaffAlert(models.Model):
    """A trouble staff hear of once when it starts and once when it ends (a component down)."""

    key = models.CharField(
        max_length=100, unique=True, help_text="What is watched, e.g. component:parser"
    )
    raised_at = models.DateTimeField(
        null=True, blank=True, help_text="When staff were told of the trouble; empty while well"
    )

    class Meta:
        ordering = ["key"]

    def __str__(self):
        return self.key


class PollingLease(models.Model):
    """Which process may poll Telegram's getUpdates for a bot, and until when.

    Telegram lets one poller per token fetch updates; a second gets 409 Conflict.
    """

    bot_id = models.BigIntegerField(unique=True, help_text="the numeric part of the bot's token")
    hostname = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    instance = models.CharField(max_length=32, help_text="random id of the holding bot component")
    acquired_at = models.DateTimeField()
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["bot_id"]

    def __str__(self):
        return f"bot {self.bot_id}: {self.hostname} pid {self.pid}"
