"""Fetching a source's pages with httpx and judging what came back.

One `Fetcher` per parser: one connection pool, polite per-host pacing, `Retry-After` honoured
for the whole host, retries with growing backoff for passing failures, conditional GET. A
blocked, temporary or broken answer is never read as "no new listings": each ends the run in
its own state, so staff can tell a quiet site from a broken parser.
"""

import asyncio
import email.utils
import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import charset_normalizer
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
# What an undeclared page that is not UTF-8 may be in: the legacy encodings still met on the
# web (WHATWG's list). Guessing only among these is faster and avoids exotic misreadings.
LEGACY_WEB_CHARSETS = [
    *(f"cp{n}" for n in range(1250, 1259)),
    *("iso8859_2", "iso8859_4", "iso8859_5", "iso8859_7", "iso8859_13", "iso8859_15"),
    *("koi8_r", "koi8_u", "shift_jis", "euc_jp", "gb18030", "big5", "euc_kr"),
]
META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.IGNORECASE)
# Retry-After longer than this is not waited out inside a run: the run ends, the source waits.
MAX_WAIT_IN_RUN_SECONDS = 30.0


@dataclass
class FetchResult:
    state: str  # a FetchRun.State value
    page: Page | None = None
    status: int | None = None
    error: str = ""
    not_modified: bool = False
    etag: str = ""
    last_modified: str = ""
    retry_at: float | None = None  # time.time() before which the host asked not to be asked


def make_http_client():
    """The parser's one HTTP client: pooled connections, timeouts, a browser User-Agent."""
    timeout = httpx.Timeout(settings.FETCH_TIMEOUT_SECONDS, connect=10.0)
    return httpx.AsyncClient(
        timeout=timeout,
        follow_redirects=True,
        proxy=settings.FETCH_PROXY or None,
        headers={"User-Agent": settings.FETCH_USER_AGENT, "Accept-Language": "en,*;q=0.5"},
    )


class HostPacer:
    """Spaces requests to one host and holds them back while the host asked us to wait."""

    def __init__(self, min_delay, concurrency):
        self.min_delay = min_delay
        self.concurrency = concurrency
        self._slots = {}
        self._next_start = {}
        self.paused_until = {}  # host → time.time()

    def slot(self, host):
        if host not in self._slots:
            self._slots[host] = asyncio.Semaphore(self.concurrency)
        return self._slots[host]

    async def wait_turn(self, host):
        """Sleep until this host may be asked again."""
        now = time.monotonic()
        start = max(now, self._next_start.get(host, now))
        self._next_start[host] = start + self.min_delay
        await asyncio.sleep(start - now)

    def pause(self, host, until):
        self.paused_until[host] = max(until, self.paused_until.get(host, 0))

    def pause_left(self, host):
        return max(0.0, self.paused_until.get(host, 0) - time.time())


class Fetcher:
    def __init__(self, client, pacer=None):
        self.client = client
        self.pacer = pacer or HostPacer(
            settings.FETCH_HOST_DELAY_SECONDS, settings.FETCH_HOST_CONCURRENCY
        )

    async def fetch(self, url, etag="", last_modified=""):
        """Fetch one page politely, retrying passing failures; returns a FetchResult."""
        host = urlsplit(url).netloc
        attempts = 1 + settings.FETCH_RETRIES
        for attempt in range(1, attempts + 1):
            pause = self.pacer.pause_left(host)
            if pause > MAX_WAIT_IN_RUN_SECONDS:
                return FetchResult(
                    FetchRun.State.TEMPORARY,
                    error=f"{host} asked us to wait {pause:.0f} s",
                    retry_at=self.pacer.paused_until[host],
                )
            await asyncio.sleep(pause)

            async with self.pacer.slot(host):
                await self.pacer.wait_turn(host)
                result = await self.fetch_once(url, etag, last_modified)
            if result.retry_at:
                self.pacer.pause(host, result.retry_at)
            if result.state != FetchRun.State.TEMPORARY or attempt == attempts:
                return result

            backoff = settings.FETCH_BACKOFF_SECONDS * 2 ** (attempt - 1)
            logger.info("%s: %s; retry %d in %.1f s", url, result.error, attempt, backoff)
            await asyncio.sleep(backoff)
        return result

    async def fetch_once(self, url, etag, last_modified):
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            response = await self.client.get(url, headers=headers)
        except httpx.TimeoutException as error:
            return FetchResult(FetchRun.State.TEMPORARY, error=f"timeout: {error!r}")
        except httpx.HTTPError as error:
            return FetchResult(FetchRun.State.TEMPORARY, error=f"network error: {error!r}")
        return classify_response(response)


def classify_response(response):
    """Judge an HTTP answer: ok, not modified, blocked, temporary or broken."""
    status = response.status_code
    retry_at = retry_after(response.headers.get("Retry-After"))
    if status == 304:
        return FetchResult(FetchRun.State.OK, status=status, not_modified=True)
    if status in (401, 403, 429):
        return FetchResult(
            FetchRun.State.BLOCKED, status=status, error=f"HTTP {status}", retry_at=retry_at
        )
    if status >= 500 or status in (408, 425):
        return FetchResult(
            FetchRun.State.TEMPORARY, status=status, error=f"HTTP {status}", retry_at=retry_at
        )
    if status != 200:
        return FetchResult(FetchRun.State.BROKEN, status=status, error=f"HTTP {status}")

    text = decode_body(response)
    content_type = response.headers.get("content-type", "text/html").split(";")[0].strip()
    if not text.strip():
        return FetchResult(FetchRun.State.BROKEN, status=status, error="an empty page")
    if content_type == "text/html" and len(text) < 20_000 and CAPTCHA_MARKERS.search(text):
        return FetchResult(
            FetchRun.State.BLOCKED, status=status, error="the site answered with a captcha page"
        )

    return FetchResult(
        FetchRun.State.OK,
        page=Page(url=str(response.url), text=text, content_type=content_type),
        status=status,
        etag=response.headers.get("ETag", ""),
        last_modified=response.headers.get("Last-Modified", ""),
    )


def retry_after(value):
    """Retry-After as an absolute time.time(): it may be seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return time.time() + int(value)
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def decode_body(response):
    """The response's text, in the charset it really is in."""
    return decode_page(response.content, response.charset_encoding, str(response.url))


def decode_page(content, declared_charset=None, url=""):
    """Decode with the charset the header declares, else the page's <meta>, else what the bytes
    are: UTF-8 when they are valid UTF-8, otherwise the statistically likeliest charset."""
    charset = declared_charset
    if not charset:
        match = META_CHARSET.search(content[:4096])
        charset = match.group(1).decode("ascii") if match else None
    if not charset:
        charset = detect_charset(content)

    try:
        return content.decode(charset, errors="replace")
    except LookupError:
        logger.warning("unknown charset %r at %s; decoding as UTF-8", charset, url or "a page")
        return content.decode("utf-8", errors="replace")


def detect_charset(content):
    """The charset of an undeclared page: UTF-8 if it decodes as such, else a detector's guess."""
    try:
        content.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass

    best = charset_normalizer.from_bytes(content, cp_isolation=LEGACY_WEB_CHARSETS).best()
    return best.encoding if best else "utf-8"


async def fetch_page(client, url):
    """Fetch one page with a fresh pacer: for one-off use (parse_source, admin previews)."""
    return await Fetcher(client).fetch(url)
