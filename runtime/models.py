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
