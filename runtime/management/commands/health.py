from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from listings.models import Source
from runtime.models import Heartbeat

COMPONENTS = ("bot", "parser", "worker")


class Command(BaseCommand):
    help = (
        "Exit non-zero with a one-line reason when a component's heartbeat is stale, the "
        "database is unreachable, or an enabled source has failed for long."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "components",
            nargs="*",
            default=COMPONENTS,
            help="Components to check (default: all three)",
        )

    def handle(self, *args, components, **options):
        try:
            beats = {h.component: h for h in Heartbeat.objects.filter(component__in=components)}
            failing = failing_sources() if "parser" in components else []
        except Exception as error:
            raise CommandError(f"database unreachable: {error}") from None
        finally:
            connection.close()

        stale_before = timezone.now() - timedelta(seconds=settings.HEARTBEAT_STALE_SECONDS)
        for name in components:
            beat = beats.get(name)
            if beat is None:
                raise CommandError(f"{name}: no heartbeat yet")
            if beat.beat_at < stale_before:
                age = (timezone.now() - beat.beat_at).total_seconds()
                raise CommandError(f"{name}: last heartbeat {age:.0f} s ago")
        if failing:
            source = failing[0]
            since = "never" if source.last_success_at is None else source.last_success_at
            raise CommandError(
                f"source {source.name}: {source.state}, last success {since}: "
                f"{source.last_error[:200]}"
            )
        self.stdout.write("ok: " + ", ".join(components))


def failing_sources():
    """Enabled sources not ok whose last success is older than HEALTH_SOURCE_FAILING_HOURS
    (or that never had one and were added that long ago)."""
    since = timezone.now() - timedelta(hours=settings.HEALTH_SOURCE_FAILING_HOURS)
    not_ok = Source.objects.filter(is_enabled=True).exclude(state=Source.State.OK)
    return list(not_ok.filter(last_success_at__lt=since).order_by("name")) + list(
        not_ok.filter(last_success_at__isnull=True, created_at__lt=since).order_by("name")
    )
