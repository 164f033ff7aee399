"""The management commands an operator types."""

import signal
import subprocess
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from listings.models import Source
from runtime.models import Heartbeat
from tests import factories as make
from tests.e2e import MANAGE, Runall, command_env, manage


def test_runall_without_a_token_says_so_in_one_line(tmp_path):
    env = command_env(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", TELEGRAM_BOT_TOKEN="")

    result = subprocess.run(
        [*MANAGE, "runall"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "TELEGRAM_BOT_TOKEN" in lines[0] and "@BotFather" in lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.django_db
def test_add_source_adds_then_updates_a_source():
    make.city(name="Dubai")
    out = StringIO()

    call_command(
        "add_source",
        "Bayut",
        "--adapter",
        "bayut",
        "--city",
        "dubai",
        "--url",
        "http://127.0.0.1:9/page",
        stdout=out,
    )
    call_command(
        "add_source",
        "Bayut",
        "--adapter",
        "bayut",
        "--city",
        "Dubai",
        "--url",
        "http://127.0.0.1:9/other",
        "--disabled",
        stdout=out,
    )

    source = Source.objects.get(name="Bayut")
    assert (source.search_url, source.is_enabled) == ("http://127.0.0.1:9/other", False)
    assert "added source" in out.getvalue() and "updated source" in out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("adapter", "city", "message"),
    [("nosuchsite", "Dubai", "known adapters: bayut"), ("bayut", "Atlantis", "known cities")],
)
def test_add_source_names_what_is_known_when_given_a_typo(adapter, city, message):
    make.city(name="Dubai")

    with pytest.raises(CommandError, match=message):
        call_command(
            "add_source", "X", "--adapter", adapter, "--city", city, "--url", "http://127.0.0.1:9/"
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "url", "interval", "message"),
    [
        ("", "http://127.0.0.1:9/", "600", "name must not be empty"),
        ("X", "file:///etc/passwd", "600", "http"),
        ("X", "not a url", "600", "http"),
        ("X", "http://127.0.0.1:9/", "-5", "at least 60"),
    ],
)
def test_add_source_refuses_bad_input_with_a_clear_message(name, url, interval, message):
    make.city(name="Dubai")

    with pytest.raises(CommandError, match=message):
        call_command(
            "add_source",
            name,
            "--adapter",
            "bayut",
            "--city",
            "Dubai",
            "--url",
            url,
            "--interval",
            interval,
        )


def beat(component, seconds_ago):
    now = timezone.now()
    Heartbeat.objects.create(
        component=component,
        beat_at=now - timedelta(seconds=seconds_ago),
        started_at=now,
        pid=1,
        hostname="test",
    )


@pytest.mark.django_db
def test_health_passes_when_every_component_beat_recently():
    for component in ("bot", "parser", "worker"):
        beat(component, 5)
    out = StringIO()

    call_command("health", stdout=out)

    assert out.getvalue().startswith("ok")


@pytest.mark.django_db
def test_health_fails_naming_the_stale_component(settings):
    beat("bot", 5)
    beat("parser", settings.HEARTBEAT_STALE_SECONDS + 60)
    beat("worker", 5)

    with pytest.raises(CommandError, match="parser: last heartbeat"):
        call_command("health")


@pytest.mark.django_db
def test_health_fails_for_a_component_that_never_started():
    beat("bot", 5)

    with pytest.raises(CommandError, match="parser: no heartbeat yet"):
        call_command("health")


@pytest.mark.django_db
def test_health_fails_naming_a_source_that_has_failed_for_a_day(settings):
    for component in ("bot", "parser", "worker"):
        beat(component, 5)
    city = make.city()
    make.source(city, state="broken", last_success_at=timezone.now() - timedelta(hours=2))
    long_broken = make.source(
        city,
        state="blocked",
        last_error="captcha page",
        last_success_at=timezone.now() - timedelta(hours=settings.HEALTH_SOURCE_FAILING_HOURS + 1),
    )

    with pytest.raises(CommandError, match=f"source {long_broken.name}: blocked.*captcha page"):
        call_command("health")


@pytest.mark.e2e
@pytest.mark.parametrize("command", ["runbot", "runworker", "runparser"])
def test_each_component_alone_stops_on_ctrl_c_with_exit_0(
    tmp_path, fresh_database, fake_telegram, command
):
    env = command_env(
        DATABASE_URL=fresh_database,
        TELEGRAM_BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_BASE_URL=fake_telegram.base_url,
        TELEGRAM_POLL_TIMEOUT=5,
    )
    manage(env, "migrate", "--verbosity", "0")
    process = Runall(env, tmp_path / "out.log", command=command)
    fake_telegram.wait_for(
        lambda: f"starting {command.removeprefix('run')}" in process.output(),
        timeout=30,
        message="the component starts",
    )

    process.process.send_signal(signal.SIGINT)
    code = process.process.wait(timeout=12)
    process.stop()

    assert code == 0, process.output()
    assert "Traceback" not in process.output()


@pytest.mark.e2e
def test_runall_with_a_token_telegram_refuses_stops_with_one_clear_line(
    tmp_path, fresh_database, fake_telegram
):
    env = command_env(
        DATABASE_URL=fresh_database,
        TELEGRAM_BOT_TOKEN="999:not-the-fake-servers-token",
        TELEGRAM_API_BASE_URL=fake_telegram.base_url,
    )
    manage(env, "migrate", "--verbosity", "0")

    result = subprocess.run(
        [*MANAGE, "runall"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 1
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("CommandError:") or "Error:" in last_line
    assert "Unauthorized" in last_line or "token" in last_line.lower()
    assert "not-the-fake-servers-token" not in result.stderr
