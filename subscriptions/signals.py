"""Keeps the slots matching reads (slots.py) in step with each search, whoever changes it."""

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
def rewrite_slots_of_searches_whose_districts_changed(
    sender, instance, action, reverse, pk_set, **kwargs
):
    if not reverse:
        if action.startswith("post_"):
            rewrite_slots([instance.pk])
        return

    # Changed from the district's side: `instance` is the district, and a clear names no
    # searches, so they are read before it.
    if action == "pre_clear":
        instance._search_ids = list(instance.search_filters.values_list("pk", flat=True))
    elif action == "post_clear":
        rewrite_slots(instance._search_ids)
    elif action.startswith("post_"):
        rewrite_slots(pk_set)


@receiver(pre_delete, sender=District)
def remember_searches_of_a_district(sender, instance, **kwargs):
    # Deleting a district removes its links without an m2m_changed signal.
    instance._search_ids = list(instance.search_filters.values_list("pk", flat=True))


@receiver(post_delete, sender=District)
def rewrite_slots_of_searches_of_a_district(sender, instance, **kwargs):
    rewrite_slots(getattr(instance, "_search_ids", []))
