"""The real saved listing pages in ../shared/fixtures, as the parser's test input."""

import os
from pathlib import Path

from listings.adapters.base import Page

PROJECT_DIR = Path(__file__).resolve().parent.parent
FIXTURES_DIR = Path(
    os.environ.get("RENTWATCH_FIXTURES", PROJECT_DIR.parent / "shared" / "fixtures")
)


def fixture_path(relative):
    return FIXTURES_DIR / relative


def load_page(relative, url=None):
    """A saved page as the fetcher would hand it to an adapter."""
    path = fixture_path(relative)
    content_type = "application/json" if path.suffix == ".json" else "text/html"
    text = path.read_bytes().decode("utf-8")
    return Page(url=url or f"http://127.0.0.1/{relative}", text=text, content_type=content_type)
