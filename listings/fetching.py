"""Fetching a source's pages with httpx and judging what came back.

A blocked, temporary or broken response is never read as "no new listings": each ends the run
in its own state, so staff can tell a quiet site from a broken parser.
"""

import logging
import re
from dataclasses import dataclass

import httpx
from django.conf import settings

from listings.adapters.base import Page
from listings.models import FetchRun

logger = logging.getLogger(__name__)

# Phrases of the interstitial pages that anti-bot services serve with a 200.
CAPTCHA_MARKERS = re.compile(
    r"captcha|are you a human|verify you are human|cf-chl-|access denied|unusual traffic",
    re.IGNORECASE,
)
META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)


@dataclass
class FetchResult:
    state: str  # a FetchRun.State value
    page: Page | None = None
    status: int | None = None
    error: str = ""


def make_http_client():
    """The parser's one HTTP client: pooled connections, timeouts and a browser User-Agent."""
    timeout = httpx.Timeout(settings.FETCH_TIMEOUT_SECONDS, connect=10.0)
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=True,
        headers={"User-Agent": settings.FETCH_USER_AGENT, "Accept-Language": "en,*;q=0.5"},
    )


async def fetch_page(client, url):
    """Fetch one page and classify the answer as ok, blocked or temporary."""
    try:
        response = await client.get(url)
    except httpx.TimeoutException as error:
        return FetchResult(FetchRun.State.TEMPORARY, error=f"timeout: {error!r}")
    except httpx.HTTPError as error:
        return FetchResult(FetchRun.State.TEMPORARY, error=f"network error: {error!r}")

    return classify_response(response)


def classify_response(response):
    status = response.status_code
    if status in (401, 403, 429):
        return FetchResult(FetchRun.State.BLOCKED, status=status, error=f"HTTP {status}")
    if status >= 500 or status in (408, 425):
        return FetchResult(FetchRun.State.TEMPORARY, status=status, error=f"HTTP {status}")
    if status != 200:
        return FetchResult(FetchRun.State.BROKEN, status=status, error=f"HTTP {status}")

    text = decode_body(response)
    content_type = response.headers.get("content-type", "text/html").split(";")[0].strip()
    if content_type == "text/html" and len(text) < 20_000 and CAPTCHA_MARKERS.search(text):
        return FetchResult(
            FetchRun.State.BLOCKED, status=status, error="the site answered with a captcha page"
        )

    page = Page(url=str(response.url), text=text, content_type=content_type)
    return FetchResult(FetchRun.State.OK, page=page, status=status)


def decode_body(response):
    """Decode with the charset the header names, else the page's <meta>, else UTF-8."""
    content = response.content
    charset = response.charset_encoding
    if not charset:
        match = META_CHARSET.search(content[:4096])
        charset = match.group(1).decode("ascii") if match else "utf-8"

    try:
        return content.decode(charset, errors="replace")
    except LookupError:
        logger.warning("unknown charset %r at %s; decoding as UTF-8", charset, response.url)
        return content.decode("utf-8", errors="replace")
