"""Production settings and the deployment files: what an operator deploys must start and pass
Django's deployment checks, and a missing secret key must stop the service, not the newcomer."""

import json
import re
import secrets
import subprocess
from io import StringIO

import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import SystemCheckError

from tests.e2e import MANAGE, command_env, manage
from tests.pages import PROJECT_DIR

# The production environment .env.example documents, with a key and a token of our own.
PRODUCTION_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "TELEGRAM_BOT_TOKEN": "123456:production-like-token",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "admin.example.org",
    "CSRF_TRUSTED_ORIGINS": "https://admin.example.org",
    "SECURE_SSL_REDIRECT": "true",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
}
# What check --deploy asks for that stays off by default, for admin over plain HTTP.
HTTPS_SETTINGS = [
    "SECURE_SSL_REDIRECT",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
]
# runall's promise on SIGTERM (tests/test_end_to_end.py); supervisors must wait longer.
SHUTDOWN_SECONDS = 10


def run_manage(env, *args, cwd=PROJECT_DIR):
    return subprocess.run(
        [*MANAGE, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_check_deploy_passes_with_the_documented_production_environment(tmp_path):
    env = command_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", **PRODUCTION_ENV)

    result = run_manage(env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_names_every_https_setting_left_at_its_default(tmp_path):
    env = command_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        SECRET_KEY=PRODUCTION_ENV["SECRET_KEY"],
        TELEGRAM_BOT_TOKEN=PRODUCTION_ENV["TELEGRAM_BOT_TOKEN"],
    )

    result = run_manage(env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 1
    for name in HTTPS_SETTINGS:
        assert name in result.stderr


def test_env_example_documents_every_production_setting():
    example = (PROJECT_DIR / ".env.example").read_text()

    documented = set(re.findall(r"^#?\s*([A-Z_]+)=", example, flags=re.MULTILINE))

    assert set(PRODUCTION_ENV) <= documented


@pytest.mark.parametrize("command", ["runall", "runbot", "runparser", "runworker"])
def test_a_run_command_without_a_secret_key_says_so_in_one_line(tmp_path, command):
    env = command_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        TELEGRAM_BOT_TOKEN=PRODUCTION_ENV["TELEGRAM_BOT_TOKEN"],
        SECRET_KEY="",
        DEBUG="false",
    )

    result = run_manage(env, command, cwd=tmp_path)

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "SECRET_KEY is not set" in lines[0] and "secrets.token_urlsafe" in lines[0]


def test_a_newcomer_can_migrate_check_and_create_an_admin_before_setting_a_secret_key(tmp_path):
    env = command_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        SECRET_KEY="",
        DEBUG="false",
        DJANGO_SUPERUSER_USERNAME="admin",
        DJANGO_SUPERUSER_EMAIL="admin@example.org",
        DJANGO_SUPERUSER_PASSWORD=secrets.token_urlsafe(16),
    )

    manage(env, "migrate", "--verbosity", "0")
    manage(env, "createsuperuser", "--noinput")
    checked = manage(env, "check")

    assert "rentwatch.W002" in checked.stderr and "SECRET_KEY is not set" in checked.stderr


def test_debug_mode_runs_on_the_development_key_without_a_warning(settings):
    settings.DEBUG = True
    settings.SECRET_KEY = settings.DEVELOPMENT_SECRET_KEY
    out, err = StringIO(), StringIO()

    call_command("check", stdout=out, stderr=err)

    assert "rentwatch.W002" not in out.getvalue() + err.getvalue()


def test_a_log_format_other_than_text_or_json_is_reported(settings):
    settings.LOG_FORMAT = "xml"

    with pytest.raises(SystemCheckError, match="LOG_FORMAT='xml'"):
        call_command("check")


# The deployment files cannot be run here (no Docker, no systemd): hold them to what they
# promise instead.


def commands_run_by(text):
    """The management commands a deployment file runs: the word after each manage.py."""
    return re.findall(r'manage\.py[",\s]+(\w+)', text)


@pytest.mark.parametrize("path", ["Dockerfile", "compose.yaml", "deploy/rentwatch.service"])
def test_every_command_a_deployment_file_runs_exists(path):
    commands = commands_run_by((PROJECT_DIR / path).read_text())

    assert commands, f"{path} runs no manage.py command"
    assert set(commands) <= set(get_commands()), f"{path} runs an unknown command"


def dockerfile_instructions():
    """(instruction, arguments) for each instruction, continuation lines joined."""
    text = (PROJECT_DIR / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def test_the_image_runs_runall_as_a_non_root_user_and_probes_its_health():
    instructions = dockerfile_instructions()
    names = [name for name, _ in instructions]
    arguments = dict(instructions)

    assert names.index("USER") < names.index("CMD")
    assert arguments["USER"] not in ("root", "0")
    assert json.loads(arguments["CMD"]) == ["python", "manage.py", "runall"]
    assert arguments["HEALTHCHECK"].endswith('CMD ["python", "manage.py", "health"]')


def seconds(setting, text):
    """The number of seconds a `setting: 20s` or `setting=20` line in text gives."""
    found = re.search(rf"^\s*{setting}\s*[:=]\s*(\d+)s?\s*$", text, flags=re.MULTILINE)
    assert found, f"{setting} is not set"
    return int(found[1])


def test_supervisors_give_runall_longer_to_stop_than_it_needs():
    unit = (PROJECT_DIR / "deploy/rentwatch.service").read_text()
    compose = (PROJECT_DIR / "compose.yaml").read_text()

    assert seconds("TimeoutStopSec", unit) > SHUTDOWN_SECONDS
    assert seconds("stop_grace_period", compose) > SHUTDOWN_SECONDS
    assert re.search(r"^KillSignal=SIGTERM$", unit, flags=re.MULTILINE)
    assert re.search(r"^User=(?!root$)\w+$", unit, flags=re.MULTILINE)
