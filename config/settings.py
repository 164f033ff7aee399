"""Rentwatch settings, read from the environment or a `.env` file in the project folder.

Every setting has a default that runs on a fresh machine with SQLite; only the bot token and
the secret key are required, and `runall` says so in one line when one is missing.
"""

import os
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# Without SECRET_KEY this fixed key lets migrate, check and createsuperuser run, so a newcomer's
# first steps work; the run* commands refuse it unless DEBUG is on, and `check --deploy` flags
# it by its prefix.
DEVELOPMENT_SECRET_KEY = "django-insecure-development-key-set-SECRET_KEY"
SECRET_KEY = env.str("SECRET_KEY", default="").strip() or DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])

# HTTPS for admin in production. Off by default: admin on a laptop or through an SSH tunnel is
# plain http://127.0.0.1, where a redirect or secure-only cookies would lock staff out.
# `manage.py check --deploy` names each one still off.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
# The header a TLS-terminating proxy sets to "https", e.g. X-Forwarded-Proto. Opt-in: without a
# proxy that overwrites it, any client could send it and pass for HTTPS.
if proxy_ssl_header := env.str("SECURE_PROXY_SSL_HEADER", default="").strip():
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + proxy_ssl_header.upper().replace("-", "_"), "https")
# Origins admin forms may be posted from when they differ from the Host header, e.g. behind a
# proxy that rewrites it: https://admin.example.org
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "runtime",
    "listings",
    "subscriptions",
    "telegram_bot",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


# Database: SQLite in the project folder unless DATABASE_URL says otherwise.

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'rentwatch.sqlite3'}"),
}
# Each component keeps its connection between units of work; close_old_connections() at the
# start and end of every unit checks it, so a restarted database is survived.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Three threads write at once: WAL lets readers run beside the writer, IMMEDIATE takes the
    # write lock when a transaction starts (no deadlock on upgrade), and the timeout waits for it.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests use a file too: components run in threads, and WAL behaves as in production.
    # One per test run, so that two runs at once do not delete each other's database.
    DATABASES["default"]["TEST"] = {
        "NAME": str(BASE_DIR / f"test_rentwatch_{os.getpid()}.sqlite3")
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The bot speaks these; a language is a catalogue in locale/ away.
LANGUAGES = [("en", "English"), ("ru", "Русский")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Datetimes are stored in UTC; TIME_ZONE only changes how they are shown.
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"


# Telegram

# Opt in to python-telegram-bot's coming behaviour: time periods such as RetryAfter.retry_after
# are timedeltas, and reading them raises no deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "true")
TELEGRAM_BOT_TOKEN = env.str("TELEGRAM_BOT_TOKEN", default="")
# PTB's base_url form: the token is appended to it. Point it at a local Bot API server (or the
# tests' fake one) to keep every call on this machine.
TELEGRAM_API_BASE_URL = env.str("TELEGRAM_API_BASE_URL", default="https://api.telegram.org/bot")
TELEGRAM_STAFF_IDS = env.list("TELEGRAM_STAFF_IDS", cast=int, default=[])
# Telegram's limits for one token. Processes sharing a token split the overall rate between
# them (e.g. 20 for the parser process, 10 for the rest).
TELEGRAM_MESSAGES_PER_SECOND = env.float("TELEGRAM_MESSAGES_PER_SECOND", default=30.0)
# A tenth of a second above Telegram's one a second per chat: network jitter can bring two
# messages closer together on arrival than they were sent.
TELEGRAM_CHAT_INTERVAL_SECONDS = env.float("TELEGRAM_CHAT_INTERVAL_SECONDS", default=1.1)
TELEGRAM_GROUP_MESSAGES_PER_MINUTE = env.int("TELEGRAM_GROUP_MESSAGES_PER_MINUTE", default=20)
# Seconds to wait for Telegram to answer a message we send before trying again later.
TELEGRAM_SEND_TIMEOUT_SECONDS = env.float("TELEGRAM_SEND_TIMEOUT_SECONDS", default=20.0)
# Long-polling timeout for getUpdates, in seconds.
TELEGRAM_POLL_TIMEOUT = env.int("TELEGRAM_POLL_TIMEOUT", default=10)


# Subscriptions

TRIAL_DAYS = env.int("TRIAL_DAYS", default=7)
# Once a week for eight weeks after their access ended, tell a subscriber how many listings
# matched their searches meanwhile.
MISSED_LISTINGS_NOTICE = env.bool("MISSED_LISTINGS_NOTICE", default=True)
# How many saved searches one renter may keep.
MAX_SEARCHES_PER_SUBSCRIBER = env.int("MAX_SEARCHES_PER_SUBSCRIBER", default=10)
# Days before the end of access on which the subscriber is reminded, once each.
REMINDER_DAYS = env.list("REMINDER_DAYS", cast=int, default=[3, 1])


# Parser, worker and delivery

PARSER_IDLE_SECONDS = env.float("PARSER_IDLE_SECONDS", default=5.0)
# Politeness towards listing sites: seconds between requests to one host, requests in flight
# per host, retries of a passing failure (5xx, timeout) with a backoff that doubles each time.
FETCH_HOST_DELAY_SECONDS = env.float("FETCH_HOST_DELAY_SECONDS", default=3.0)
FETCH_HOST_CONCURRENCY = env.int("FETCH_HOST_CONCURRENCY", default=1)
FETCH_RETRIES = env.int("FETCH_RETRIES", default=2)
FETCH_BACKOFF_SECONDS = env.float("FETCH_BACKOFF_SECONDS", default=2.0)
# An HTTP(S) proxy for listing sites only (never for Telegram), e.g. http://proxy:3128
FETCH_PROXY = env.str("FETCH_PROXY", default="")
# Staff are alerted once when a source fails this many runs in a row, and once on recovery.
SOURCE_ALERT_AFTER_FAILURES = env.int("SOURCE_ALERT_AFTER_FAILURES", default=3)
# A listing no ok run has seen for this long is marked removed.
LISTING_REMOVED_AFTER_HOURS = env.int("LISTING_REMOVED_AFTER_HOURS", default=48)
# Processes that parse pages, so that parsing never holds the bot's GIL; 0 parses in a thread.
PARSER_PROCESSES = env.int("PARSER_PROCESSES", default=1)
# The parser processes stop after this long without a page, giving their memory back; the next
# page starts them again.
PARSER_POOL_IDLE_SECONDS = env.int("PARSER_POOL_IDLE_SECONDS", default=120)
# Pages followed per source and run, so a site whose "next" links never end cannot trap us.
PARSER_MAX_PAGES = env.int("PARSER_MAX_PAGES", default=3)
WORKER_TICK_SECONDS = env.float("WORKER_TICK_SECONDS", default=30.0)
FETCH_TIMEOUT_SECONDS = env.float("FETCH_TIMEOUT_SECONDS", default=20.0)
FETCH_USER_AGENT = env.str(
    "FETCH_USER_AGENT",
    default="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0 Safari/537.36",
)
# Deliveries sent at once by the parser; each waits for Telegram while the others go on.
DELIVERY_SENDERS = env.int("DELIVERY_SENDERS", default=8)
# A delivery claimed longer ago than this was being sent by a process that died: another
# sender takes it again (a message in flight at the crash may then arrive twice).
DELIVERY_CLAIM_TIMEOUT_SECONDS = env.int("DELIVERY_CLAIM_TIMEOUT_SECONDS", default=300)
# Photos sent with a listing, as an album when there are several (Telegram allows 10).
LISTING_MAX_PHOTOS = env.int("LISTING_MAX_PHOTOS", default=4)
# A delivery that fails this many times for a temporary reason (Telegram unreachable, a 5xx)
# is marked failed for staff. Retries wait DELIVERY_RETRY_SECONDS, doubling up to ten minutes:
# the default tries for about ten minutes, so an outage of a few minutes loses nothing.
DELIVERY_MAX_ATTEMPTS = env.int("DELIVERY_MAX_ATTEMPTS", default=8)
DELIVERY_RETRY_SECONDS = env.float("DELIVERY_RETRY_SECONDS", default=5.0)
# How often the bot records its heartbeat while it waits for updates.
HEARTBEAT_SECONDS = env.float("HEARTBEAT_SECONDS", default=15.0)
# A component whose heartbeat is older than this is reported stale by `manage.py health`.
HEARTBEAT_STALE_SECONDS = env.int("HEARTBEAT_STALE_SECONDS", default=180)
# `manage.py health` fails when an enabled source has not had an ok run for this long.
HEALTH_SOURCE_FAILING_HOURS = env.int("HEALTH_SOURCE_FAILING_HOURS", default=24)
# Webhook mode, instead of polling: Telegram posts updates to TELEGRAM_WEBHOOK_URL (your
# HTTPS proxy's address), which forwards them to TELEGRAM_WEBHOOK_LISTEN:PORT here. Telegram
# sends TELEGRAM_WEBHOOK_SECRET with each update; a request without it is refused.
TELEGRAM_WEBHOOK_URL = env.str("TELEGRAM_WEBHOOK_URL", default="")
TELEGRAM_WEBHOOK_SECRET = env.str("TELEGRAM_WEBHOOK_SECRET", default="")
TELEGRAM_WEBHOOK_LISTEN = env.str("TELEGRAM_WEBHOOK_LISTEN", default="127.0.0.1")
TELEGRAM_WEBHOOK_PORT = env.int("TELEGRAM_WEBHOOK_PORT", default=8081)
# How long the bot's claim to poll getUpdates lasts without renewal (renewed with every
# heartbeat): a bot killed without stopping keeps a new one from polling for at most this long.
TELEGRAM_POLLING_LEASE_SECONDS = env.int("TELEGRAM_POLLING_LEASE_SECONDS", default=60)
# Staff are alerted once when this many deliveries fail within DELIVERY_ALERT_MINUTES, and once
# more when none has failed for that long.
DELIVERY_ALERT_FAILURES = env.int("DELIVERY_ALERT_FAILURES", default=5)
DELIVERY_ALERT_MINUTES = env.int("DELIVERY_ALERT_MINUTES", default=15)


# Logging: one line per unit of work, named after the component. httpx and httpcore log request
# URLs, which carry the bot token, so they stay at WARNING whatever LOG_LEVEL says, and the token
# is masked regardless.

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# "text" for people, "json" for log shippers: one JSON object a line.
LOG_FORMAT = env.str("LOG_FORMAT", default="text").strip().lower()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_token": {"()": "runtime.logs.MaskBotTokenFilter"},
        "component": {"()": "runtime.logs.ComponentFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(component)s] %(name)s: %(message)s"},
        "json": {"()": "runtime.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            # An unknown LOG_FORMAT logs as text; `manage.py check` reports it.
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["component", "mask_token"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "telegram": {"level": "WARNING"},
        "django.db.backends": {"level": "INFO"},
    },
}
