from django.contrib import admin

from runtime.models import Heartbeat, PollingLease, StaffAlert


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["component", "beat_at", "started_at", "hostname", "pid", "restarts"]
    readonly_fields = [f.name for f in Heartbeat._meta.fields]


@admin.register(PollingLease)
class PollingLeaseAdmin(admin.ModelAdmin):
    """Which process polls Telegram for each bot, until when. Deleting a lease a killed process
    left lets a new bot start at once (a live holder writes its lease again at its next beat)."""

    list_display = ["bot_id", "hostname", "pid", "acquired_at", "expires_at"]
    readonly_fields = [f.name for f in PollingLease._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(StaffAlert)
class StaffAlertAdmin(admin.ModelAdmin):
    """Troubles staff were told of; an empty "raised at" means all is well again."""

    list_display = ["key", "raised_at"]
    readonly_fields = ["key", "raised_at"]

    def has_add_permission(self, request):
        return False
