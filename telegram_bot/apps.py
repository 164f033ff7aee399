from django.apps import AppConfig


class TelegramBotConfig(AppConfig):
    verbose_name = "Telegram bot"
    default_auto_field = "django.db.models.BigAutoField"
    name = "telegram_bot"
