"""Admin's "Try selectors" page: staff run CSS selectors for the no-code `css` adapter on a
fetched or uploaded page, see what they yield, and keep them on the source."""

import json
import logging
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import path, reverse

from listings.adapters.base import Page
from listings.adapters.css_selectors import CssSelectorAdapter, Extraction, compile_selectors
from listings.fetching import decode_page
from listings.models import Source

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 20
FETCH_TIMEOUT_SECONDS = 10
MAX_PAGE_BYTES = 5 * 1024 * 1024
TEMPLATE = "admin/listings/source/try_selectors.html"
URL_NAME = "listings_source_try_selectors"


class PageUnavailable(Exception):
    """The page to try the selectors on could not be had; the message says why."""


class SelectorsForm(forms.Form):
    selectors = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16, "cols": 90, "spellcheck": "false"}),
        help_text='JSON: "card" and "url" are required; a value is "selector" for the text, '
        '"selector@attribute" for an attribute, or "@attribute" for the card\'s own.',
    )
    url = forms.URLField(
        required=False, assume_scheme="https", label="Fetch this URL", max_length=2000
    )
    page_file = forms.FileField(required=False, label="…or upload a saved HTML page")

    def clean_selectors(self):
        try:
            selectors = json.loads(self.cleaned_data["selectors"])
        except ValueError as error:
            raise forms.ValidationError(f"Not valid JSON: {error}") from None

        problems = compile_selectors(selectors)[1]
        if problems:
            raise forms.ValidationError(problems)
        return selectors


@dataclass
class Preview:
    """The records the selectors found, as the page shows them."""

    page_url: str
    extraction: Extraction

    @property
    def rows(self):
        return [table_row(listing) for listing in self.extraction.listings[:PREVIEW_ROWS]]

    @property
    def summary(self):
        found, cards = len(self.extraction.listings), self.extraction.cards
        parts = [
            f"Found {found} record{pluralize(found)} in {cards} card{pluralize(cards)}",
            f"{self.extraction.skipped} skipped without an id or URL",
            f"{self.extraction.duplicates} repeated",
        ]
        missing = ", ".join(
            f"{name} in {n}" for name, n in sorted(self.extraction.missing.items())
        )
        return "; ".join(parts) + (f". Missing: {missing}." if missing else ". Nothing missing.")


def preview_urls(model_admin):
    """The preview's URL under a source's admin pages, for SourceAdmin.get_urls()."""

    def view(request, object_id):
        return try_selectors(model_admin, request, object_id)

    staff_only = model_admin.admin_site.admin_view(view)
    return [path("<path:object_id>/try-selectors/", staff_only, name=URL_NAME)]


def try_selectors(model_admin, request, object_id):
    """Shows what the posted selectors find on a page, or saves them on the source."""
    source = get_object_or_404(Source, pk=object_id)
    if not model_admin.has_view_permission(request, source):
        raise PermissionDenied

    if request.method != "POST":
        initial = {"selectors": json.dumps(source.selectors, indent=2, ensure_ascii=False)}
        return render_page(model_admin, request, source, SelectorsForm(initial=initial))

    form = SelectorsForm(request.POST, request.FILES)
    if not form.is_valid():
        return render_page(model_admin, request, source, form)
    if "_save" in request.POST:
        return save_selectors(model_admin, request, source, form.cleaned_data["selectors"])
    return show_preview(model_admin, request, source, form)


def show_preview(model_admin, request, source, form):
    """The page again, with the records the selectors find on the fetched or uploaded page."""
    try:
        page = page_to_try(form.cleaned_data, source)
    except PageUnavailable as error:
        return render_page(model_admin, request, source, form, page_error=str(error))

    extraction = CssSelectorAdapter(form.cleaned_data["selectors"]).extract(page)
    logger.info(
        "selector preview for source %s: %d cards, %d records, %d skipped",
        source.pk,
        extraction.cards,
        len(extraction.listings),
        extraction.skipped,
    )
    preview = Preview(page.url, extraction)
    return render_page(model_admin, request, source, form, preview=preview)


def save_selectors(model_admin, request, source, selectors):
    """Stores the selectors on the source, in its admin history too, and returns to it."""
    if not model_admin.has_change_permission(request, source):
        raise PermissionDenied

    source.selectors = selectors
    source.save(update_fields=["selectors"])
    model_admin.log_change(request, source, "Changed selectors on the Try selectors page.")
    messages.success(request, f"Saved the selectors of {source}.")
    return redirect(reverse("admin:listings_source_change", args=[source.pk]))


def render_page(model_admin, request, source, form, preview=None, page_error=""):
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Try selectors for {source}",
        "opts": Source._meta,
        "source": source,
        "form": form,
        "preview": preview,
        "page_error": page_error,
        "preview_rows": PREVIEW_ROWS,
        "can_save": model_admin.has_change_permission(request, source),
    }
    return TemplateResponse(request, TEMPLATE, context)


def page_to_try(data, source):
    """The uploaded page if there is one, else the page at the given URL."""
    upload = data.get("page_file")
    if upload:
        if upload.size > MAX_PAGE_BYTES:
            raise PageUnavailable(f"The file is larger than {MAX_PAGE_BYTES // 1024 // 1024} MB.")
        # Relative links in a saved page belong to the site the source watches.
        return Page(url=source.search_url, text=decode_page(upload.read()))
    if data.get("url"):
        return fetch_page(data["url"])
    raise PageUnavailable("Give a URL to fetch or upload a saved HTML page.")


def fetch_page(url):
    """The page at `url`, fetched once within the timeout; PageUnavailable says what failed."""
    # httpx's timeout bounds each wait; the deadline bounds a site that drips its page slowly.
    deadline = time.monotonic() + FETCH_TIMEOUT_SECONDS
    client = httpx.Client(
        timeout=FETCH_TIMEOUT_SECONDS,
        follow_redirects=True,
        headers={"User-Agent": settings.FETCH_USER_AGENT},
        proxy=settings.FETCH_PROXY or None,
    )
    try:
        with client, client.stream("GET", url) as response:
            if response.status_code != 200:
                raise PageUnavailable(f"{url} answered HTTP {response.status_code}.")
            body = read_capped(response, deadline)
    except (httpx.HTTPError, httpx.InvalidURL) as error:
        reason = str(error) or type(error).__name__
        raise PageUnavailable(f"Could not fetch {url}: {reason}") from None

    return Page(url=str(response.url), text=decode_page(body, response.charset_encoding, url))


def read_capped(response, deadline):
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > MAX_PAGE_BYTES:
            raise PageUnavailable(f"The page is larger than {MAX_PAGE_BYTES // 1024 // 1024} MB.")
        if time.monotonic() > deadline:
            raise PageUnavailable(f"The page took longer than {FETCH_TIMEOUT_SECONDS} s to load.")
    return bytes(body)


def table_row(listing):
    """One preview row; links only for web addresses, since the page's text is untrusted."""
    photo = listing.photo_urls[0] if listing.photo_urls else ""
    return {
        "listing": listing,
        "url_link": listing.url if is_web_address(listing.url) else "",
        "photo": photo,
        "photo_link": photo if is_web_address(photo) else "",
    }


def is_web_address(url):
    return urlsplit(url).scheme in ("http", "https")
