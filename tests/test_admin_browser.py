"""Admin in a real browser: Debian's Chromium, driven by Playwright, against the test server."""

import os
import shutil
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.db import connections
from django.test.testcases import LiveServerThread
from django.utils import timezone

from subscriptions.lifecycle import expire_one_subscription
from subscriptions.models import Subscription
from tests import factories as make

CHROMIUM = shutil.which("chromium")

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt install chromium)"),
]


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # between browser steps are plain synchronous ones, which Django would otherwise refuse.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--headless", "--no-sandbox"]
            )
            yield browser.new_page()
            browser.close()
            # The ORM calls made under Playwright's loop opened a connection of their own.
            connections.close_all()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def admin_url():
    """Django's live server for this test alone, so its connection closes with the test."""
    server = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    yield f"http://127.0.0.1:{server.port}/admin"
    server.terminate()


def test_staff_find_a_subscriber_and_extend_them_30_days(browser_page, admin_url):
    User.objects.create_superuser("staff", "staff@127.0.0.1", "a long admin password")
    renter = make.subscriber()
    ends = timezone.now() + timedelta(hours=2)
    Subscription.objects.filter(subscriber=renter).update(expires_at=ends)
    page = browser_page

    page.goto(f"{admin_url}/")
    page.fill("#id_username", "staff")
    page.fill("#id_password", "a long admin password")
    page.click("input[type=submit]")
    page.goto(f"{admin_url}/subscriptions/subscriber/")
    page.fill("#searchbar", renter.username)
    page.press("#searchbar", "Enter")
    page.check(f"input[name=_selected_action][value='{renter.pk}']")
    page.select_option("select[name=action]", "extend_30_days")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")

    subscription = Subscription.objects.get(subscriber=renter)
    assert subscription.expires_at >= ends + timedelta(days=30) - timedelta(minutes=1)
    # The worker's next tick, past the old end, expires nothing.
    assert not expire_one_subscription(now=ends + timedelta(hours=1))
