"""Logs: JSON lines for log shippers on request, and never the bot token, whatever the level."""

import json

import pytest

from tests.e2e import Runall, command_env, manage

TOKEN = "123456:TEST-token-abcdefghij"
CHAT = 7002
PAGE = "bayut/search-api-hits_rent_dubai_2022-09.json"

# Logs the token the ways a careless caller or a failing request would.
LOG_THE_TOKEN = f"""
import logging
log = logging.getLogger("rentwatch.test")
log.info("calling %s", "http://127.0.0.1:9/bot{TOKEN}/getMe")
try:
    raise RuntimeError("no answer from http://127.0.0.1:9/bot{TOKEN}/getMe\\nafter 3 tries")
except RuntimeError:
    log.exception("sending to chat %s failed", 42)
"""
MASKED_ERROR = "no answer from http://127.0.0.1:9/bot<bot-token>/getMe\nafter 3 tries"


def json_entries(output):
    """Each line of output as the JSON object it must be; a line that is not one fails."""
    return [json.loads(line) for line in output.splitlines()]


def test_json_logs_are_one_object_a_line_without_the_token(tmp_path):
    env = command_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        TELEGRAM_BOT_TOKEN=TOKEN,
        LOG_FORMAT="json",
        LOG_LEVEL="DEBUG",
    )

    result = manage(env, "shell", "-c", LOG_THE_TOKEN)

    assert TOKEN not in result.stderr
    called, failed = json_entries(result.stderr)
    assert called["message"] == "calling http://127.0.0.1:9/bot<bot-token>/getMe"
    assert [called["level"], called["logger"]] == ["INFO", "rentwatch.test"]
    assert called["component"] == "-"
    assert called["time"].endswith("+00:00") and "exception" not in called
    assert [failed["level"], failed["message"]] == ["ERROR", "sending to chat 42 failed"]
    assert failed["exception"].startswith("Traceback")
    assert failed["exception"].endswith(f"RuntimeError: {MASKED_ERROR}")


def test_text_logs_stay_the_default_and_mask_the_token_too(tmp_path):
    env = command_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", TELEGRAM_BOT_TOKEN=TOKEN
    )

    result = manage(env, "shell", "-c", LOG_THE_TOKEN)

    assert TOKEN not in result.stderr
    assert "INFO [-] rentwatch.test: calling http://127.0.0.1:9/bot<bot-token>/getMe" in (
        result.stderr
    )
    assert f"RuntimeError: {MASKED_ERROR}" in result.stderr


@pytest.mark.e2e
def test_runall_at_debug_level_logs_json_and_no_token_even_when_calls_fail(
    request, tmp_path, fresh_database, fake_telegram, fake_site
):
    env = command_env(
        DATABASE_URL=fresh_database,
        TELEGRAM_BOT_TOKEN=fake_telegram.token,
        TELEGRAM_API_BASE_URL=fake_telegram.base_url,
        TELEGRAM_POLL_TIMEOUT=1,
        PARSER_IDLE_SECONDS=0.3,
        WORKER_TICK_SECONDS=1,
        FETCH_HOST_DELAY_SECONDS=0,
        FETCH_RETRIES=0,
        LOG_LEVEL="DEBUG",
        LOG_FORMAT="json",
    )
    manage(env, "migrate", "--verbosity", "0")
    fake_site.route(PAGE, status=503, body="down for maintenance")
    source = ["Bayut Dubai", "--adapter", "bayut", "--city", "Dubai", "--url", fake_site.url(PAGE)]
    manage(env, "add_source", *source)
    fake_telegram.fail_next("getUpdates", error_code=500, description="Internal Server Error")
    runall = Runall(env, tmp_path / "runall.log")
    request.addfinalizer(lambda: print("runall's log:\n" + runall.output()))
    try:
        fake_telegram.send_message(CHAT, "/start")
        fake_telegram.wait_for_message(CHAT, "trial", timeout=30)
        fake_telegram.wait_for(
            lambda: "state=temporary" in runall.output(), timeout=30, message="a failed run"
        )
        exit_code, _ = runall.terminate()
    finally:
        runall.stop()

    assert exit_code == 0
    assert fake_telegram.token not in runall.output()
    entries = json_entries(runall.output())
    assert {"bot", "parser"} <= {entry["component"] for entry in entries}
    assert any(entry["level"] == "DEBUG" for entry in entries)
    assert "polling for updates failed" in runall.output()
    # httpx writes every request URL, token included, at INFO and DEBUG.
    assert not [entry for entry in entries if entry["logger"].startswith(("httpx", "httpcore"))]
