from django.contrib import admin

from runtime.models import Heartbeat


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["component", "beat_at", "started_at", "hostname", "pid", "restarts"]
    readonly_fields = [f.name for f in Heartbeat._meta.fields]
