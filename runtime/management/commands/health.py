from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from runtime.models import Heartbeat

COMPONENTS = ("bot", "parser", "worker")


class Command(BaseCommand):
    help = "Exit non-zero with a one-line reason when a component's heartbeat is stale."

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
        self.stdout.write("ok: " + ", ".join(components))
