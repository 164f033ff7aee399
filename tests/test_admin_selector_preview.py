"""Admin's "Try selectors" page: staff see what CSS selectors find on a real page, then keep
them on the source."""

import json

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from listings import admin_preview
from listings.models import Source
from tests import factories as make
from tests.pages import fixture_path
from tests.test_adapter_css import (
    KLEINANZEIGEN,
    KLEINANZEIGEN_SELECTORS,
    WG_GESUCHT,
    WG_GESUCHT_SELECTORS,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def source():
    return make.source(make.city(), adapter="css", selectors={"card": "article.old"})


def preview_url(source):
    return reverse("admin:listings_source_try_selectors", args=[source.pk])


def saved_page(relative, text=None):
    content = text.encode() if text is not None else fixture_path(relative).read_bytes()
    return SimpleUploadedFile("page.html", content, content_type="text/html")


def html(response):
    return response.content.decode()


def test_the_change_page_links_to_the_preview(admin_client, source):
    change_page = admin_client.get(reverse("admin:listings_source_change", args=[source.pk]))

    assert f'href="{preview_url(source)}"' in html(change_page)


def test_the_preview_page_starts_with_the_sources_selectors(admin_client, source):
    response = admin_client.get(preview_url(source))

    assert response.status_code == 200
    assert "Try selectors" in html(response)
    assert "&quot;card&quot;: &quot;article.old&quot;" in html(response)


def test_an_uploaded_page_shows_the_records_the_selectors_find(admin_client, source):
    response = admin_client.post(
        preview_url(source),
        {"selectors": json.dumps(KLEINANZEIGEN_SELECTORS), "page_file": saved_page(KLEINANZEIGEN)},
    )

    page = html(response)
    assert response.status_code == 200
    assert "Found 26 records in 27 cards; 0 skipped without an id or URL; 1 repeated." in page
    assert "Sofort bezugsfertig - tolle 2-Zi.-Wohnung in attraktivem Neubau in Mitte" in page
    assert "<td>1730</td>" in page
    table = page.split('id="selector-preview"')[1].split("</table>")[0]
    assert table.count("<tr>") == 1 + 20  # the header and the first twenty records


def test_a_fetched_page_shows_the_records_the_selectors_find(admin_client, source, fake_site):
    url = fake_site.url(WG_GESUCHT)

    response = admin_client.post(
        preview_url(source), {"selectors": json.dumps(WG_GESUCHT_SELECTORS), "url": url}
    )

    page = html(response)
    assert fake_site.hits(WG_GESUCHT) == 1
    assert "Found 25 records in 25 cards" in page
    assert "Missing: rooms in 17." in page
    assert "Helles, gemütliches Zimmer (September-Mitte Oktober) - nähe Lietzensee" in page
    assert "<td>650</td>" in page
    assert f'href="{fake_site.base_url}/wg-zimmer-in-Berlin-Charlottenburg.10401873.html"' in page


def test_a_page_the_site_refuses_is_reported(admin_client, source, fake_site):
    fake_site.route("gone.html", status=404, body="not here")

    response = admin_client.post(
        preview_url(source),
        {"selectors": json.dumps(WG_GESUCHT_SELECTORS), "url": fake_site.url("gone.html")},
    )

    assert "gone.html answered HTTP 404." in html(response)
    assert "selector-preview" not in html(response)


def test_a_site_that_does_not_answer_in_time_is_reported(
    admin_client, source, fake_site, monkeypatch
):
    monkeypatch.setattr(admin_preview, "FETCH_TIMEOUT_SECONDS", 0.2)
    fake_site.route("slow.html", body="<html></html>", delay=2)

    response = admin_client.post(
        preview_url(source),
        {"selectors": json.dumps(WG_GESUCHT_SELECTORS), "url": fake_site.url("slow.html")},
    )

    assert f"Could not fetch {fake_site.url('slow.html')}: timed out" in html(response)


def test_bad_selectors_are_explained_and_not_saved(admin_client, source):
    bad = {"card": "div[", "url": "a@href", "titel": "h2"}

    for button in ("_preview", "_save"):
        response = admin_client.post(
            preview_url(source),
            {"selectors": json.dumps(bad), "page_file": saved_page(KLEINANZEIGEN), button: "1"},
        )
        page = html(response)
        assert response.status_code == 200
        assert "card: bad CSS selector &#x27;div[&#x27;: Malformed attribute selector" in page
        assert "unknown keys titel" in page

    source.refresh_from_db()
    assert source.selectors == {"card": "article.old"}


def test_selectors_that_are_not_json_are_explained(admin_client, source):
    response = admin_client.post(preview_url(source), {"selectors": "{card: 'div'}"})

    assert "Not valid JSON" in html(response)


def test_save_stores_the_selectors_on_the_source(admin_client, source):
    response = admin_client.post(
        preview_url(source), {"selectors": json.dumps(KLEINANZEIGEN_SELECTORS), "_save": "1"}
    )

    assert response.status_code == 302
    assert response.url == reverse("admin:listings_source_change", args=[source.pk])
    source.refresh_from_db()
    assert source.selectors == KLEINANZEIGEN_SELECTORS


def test_text_from_the_page_is_escaped(admin_client, source):
    text = fixture_path(KLEINANZEIGEN).read_text(encoding="utf-8")
    hostile = text.replace(
        "Sofort bezugsfertig - tolle 2-Zi.-Wohnung", "&lt;script&gt;alert(1)&lt;/script&gt;"
    ).replace('data-href="/s-anzeige/helle-2-zimmer', 'data-href="javascript:alert(2)//', 1)

    response = admin_client.post(
        preview_url(source),
        {
            "selectors": json.dumps(KLEINANZEIGEN_SELECTORS),
            "page_file": saved_page(KLEINANZEIGEN, hostile),
        },
    )

    page = html(response)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)</script>" not in page
    assert 'href="javascript:' not in page


def test_strangers_are_sent_to_log_in(client, source):
    User.objects.create_user("renter", password="secret")
    client.login(username="renter", password="secret")

    get = client.get(preview_url(source))
    post = client.post(
        preview_url(source), {"selectors": json.dumps(KLEINANZEIGEN_SELECTORS), "_save": "1"}
    )

    for response in (get, post):
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))
    assert Source.objects.get(pk=source.pk).selectors == {"card": "article.old"}
