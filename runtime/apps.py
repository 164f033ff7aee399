from django.apps import AppConfig


class RuntimeConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "runtime"

    def ready(self):
        from runtime import checks  # noqa: F401  (registers the system checks)
