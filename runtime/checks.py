"""System checks: `manage.py check` reports bad configuration before `runall` starts."""

import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Warning, register

MISSING_SECRET_KEY = (
    "SECRET_KEY is not set: make one with python3 -c 'import secrets; "
    "print(secrets.token_urlsafe(50))' and put SECRET_KEY=<key> in .env or the environment."
)


def secret_key_is_missing():
    """Whether the run* commands must refuse: no SECRET_KEY given and DEBUG off."""
    return not settings.DEBUG and settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY


@register()
def check_telegram_settings(app_configs, **kwargs):
    problems = []
    if not settings.TELEGRAM_BOT_TOKEN.strip():
        problems.append(
            Warning(
                "TELEGRAM_BOT_TOKEN is not set; runall, runbot, runparser and runworker "
                "will refuse to start.",
                hint="Get a token from @BotFather and put TELEGRAM_BOT_TOKEN=... in .env.",
                id="rentwatch.W001",
            )
        )
    base_url = urlsplit(settings.TELEGRAM_API_BASE_URL)
    if base_url.scheme not in ("http", "https") or not base_url.netloc:
        problems.append(
            Error(
                f"TELEGRAM_API_BASE_URL={settings.TELEGRAM_API_BASE_URL!r} is not an http(s) URL.",
                hint="Use python-telegram-bot's form, e.g. http://127.0.0.1:8081/bot",
                id="rentwatch.E001",
            )
        )
    return problems


@register()
def check_webhook(app_configs, **kwargs):
    if not settings.TELEGRAM_WEBHOOK_URL:
        return []
    problems = []
    if urlsplit(settings.TELEGRAM_WEBHOOK_URL).scheme not in ("http", "https"):
        problems.append(
            Error(
                f"TELEGRAM_WEBHOOK_URL={settings.TELEGRAM_WEBHOOK_URL!r} is not a URL.",
                hint="The public https:// address Telegram posts updates to.",
                id="rentwatch.E004",
            )
        )
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", settings.TELEGRAM_WEBHOOK_SECRET):
        problems.append(
            Error(
                "TELEGRAM_WEBHOOK_SECRET must be set with TELEGRAM_WEBHOOK_URL: 1 to 256 "
                "letters, digits, _ or -.",
                hint="python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
                id="rentwatch.E005",
            )
        )
    return problems


@register()
def check_secret_key(app_configs, **kwargs):
    # A warning, not an error: migrate and createsuperuser must run before the key is set.
    if not secret_key_is_missing():
        return []
    return [
        Warning(
            "SECRET_KEY is not set; runall, runbot, runparser and runworker will refuse to "
            "start while DEBUG is off.",
            hint="Put SECRET_KEY=<50 random characters> in .env, e.g. from "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'.",
            id="rentwatch.W002",
        )
    ]


@register()
def check_log_format(app_configs, **kwargs):
    if settings.LOG_FORMAT in ("text", "json"):
        return []
    return [
        Error(
            f"LOG_FORMAT={settings.LOG_FORMAT!r} is neither 'text' nor 'json'.",
            hint="Logs are written as text until it is fixed.",
            id="rentwatch.E003",
        )
    ]


@register()
def check_numbers(app_configs, **kwargs):
    problems = []
    for name in ("TRIAL_DAYS", "DELIVERY_MAX_ATTEMPTS", "PARSER_MAX_PAGES"):
        if getattr(settings, name) < (0 if name == "TRIAL_DAYS" else 1):
            problems.append(Error(f"{name} is out of range.", id="rentwatch.E002"))
    return problems
