"""Keeps what matching reads beside a search — `names_districts` and the search's slots — in
step with the search, whoever changes it."""

from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from listings.models import District
from subscriptions.models import SearchFilter
from subscriptions.slots import rewrite_slots


@receiver(post_save, sender=SearchFilter)
def rewrite_slots_of_a_saved_search(sender, instance, raw=False, **kwargs):
    if not raw:
        rewrite_slots([instance.pk])


@receiver(m2m_changed, sender=SearchFilter.districts.through)
def note_whether_districts_are_named(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if reverse:
        # Changed from the district's side: every search touched may have changed.
        for search in SearchFilter.objects.filter(pk__in=pk_set or []):
            refresh(search)
        return
    refresh(instance)


def refresh(search):
    named = search.districts.exists()
    if named != search.names_districts:
        SearchFilter.objects.filter(pk=search.pk).update(names_districts=named)
        search.names_districts = named
    rewrite_slots([search.pk])


@receiver(pre_delete, sender=District)
def remember_searches_of_a_district(sender, instance, **kwargs):
    # Deleting a district removes its links without an m2m_changed signal.
    instance._search_ids = list(instance.search_filters.values_list("pk", flat=True))


@receiver(post_delete, sender=District)
def refresh_searches_of_a_district(sender, instance, **kwargs):
    for search in SearchFilter.objects.filter(pk__in=getattr(instance, "_search_ids", [])):
        refresh(search)
