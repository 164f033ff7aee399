from urllib.parse import urlsplit

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from listings.adapters.base import get_adapter
from listings.models import City, Deal, Source

# More often than this is no politeness to a site, whatever its pages say.
MIN_INTERVAL_SECONDS = 60


class Command(BaseCommand):
    help = "Add a listing source (or update the one with that name) from the shell."

    def add_arguments(self, parser):
        parser.add_argument("name", help="A unique name, e.g. 'Bayut Dubai rentals'")
        parser.add_argument("--adapter", required=True, help="Which parser reads the pages")
        parser.add_argument("--city", required=True, help="City name, e.g. Dubai")
        parser.add_argument("--url", required=True, help="The search results page to watch")
        parser.add_argument("--deal", choices=Deal.values, default=Deal.RENT)
        parser.add_argument("--interval", type=int, default=600, help="Seconds between runs")
        parser.add_argument("--disabled", action="store_true", help="Add it switched off")

    def handle(self, *args, name, adapter, city, url, deal, interval, disabled, **options):
        if not name.strip():
            raise CommandError("the name must not be empty")
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise CommandError(f"--url must be an http(s) address, not {url!r}")
        if interval < MIN_INTERVAL_SECONDS:
            raise CommandError(f"--interval must be at least {MIN_INTERVAL_SECONDS} seconds")
        try:
            get_adapter(adapter)
        except KeyError as error:
            raise CommandError(error.args[0]) from None
        try:
            city_row = City.objects.get(name__iexact=city)
        except City.DoesNotExist:
            known = ", ".join(City.objects.values_list("name", flat=True))
            raise CommandError(f"unknown city {city!r}; known cities: {known}") from None

        source, created = Source.objects.update_or_create(
            name=name,
            defaults={
                "adapter": adapter,
                "city": city_row,
                "search_url": url,
                "deal": deal,
                "poll_interval_seconds": interval,
                "is_enabled": not disabled,
                # A changed source is due at once, under its new settings.
                "next_run_at": timezone.now(),
            },
        )
        verb = "added" if created else "updated"
        self.stdout.write(f"{verb} source {source.pk}: {source.name} ({adapter}, {city_row})")
