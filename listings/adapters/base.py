"""What every site adapter takes (a fetched page) and gives back (parsed listings)."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from listings.prices import parse_furnishing

REGISTRY = {}


@dataclass
class Page:
    """A fetched page: its final URL and its text, already decoded from the real charset."""

    url: str
    text: str
    content_type: str = "text/html"


@dataclass
class ParsedListing:
    """One listing as a site shows it, normalised but not yet stored."""

    external_id: str
    url: str
    title: str
    price: Decimal | None = None
    currency: str = ""
    period: str = ""  # listings.models.Period value, "" when unknown
    price_text: str = ""
    deal: str = ""  # "rent" or "sale" when the page says; "" to take the source's
    rooms: int | None = None  # 0 is a studio
    bathrooms: int | None = None
    area_m2: Decimal | None = None
    address: str = ""
    # Place names from most to least specific, matched against district names and aliases.
    locations: list[str] = field(default_factory=list)
    description: str = ""
    furnishing: str = ""  # listings.models.Furnishing value, "" when the page does not say
    photo_urls: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    raw: dict = field(default_factory=dict)

    def __post_init__(self):
        # Most sites have no furnishing field but say it in the title or description.
        if not self.furnishing:
            self.furnishing = parse_furnishing(f"{self.title}\n{self.description}")


@dataclass
class ParseResult:
    listings: list[ParsedListing]
    next_page_url: str | None = None


class AdapterError(Exception):
    """The page is not what this adapter expects: the site changed or served something else."""


class Adapter:
    """Base class: subclasses set `name` and implement `parse`."""

    name = ""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.name:
            REGISTRY[cls.name] = cls

    def parse(self, page: Page) -> ParseResult:
        raise NotImplementedError


def get_adapter(name):
    """The adapter registered under `name`; KeyError names the known ones."""
    from listings import adapters  # noqa: F401  (imports every adapter module)

    try:
        return REGISTRY[name]()
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise KeyError(f"unknown adapter {name!r}; known adapters: {known}") from None


def adapter_for_source(adapter_name, selectors):
    """The adapter for a source; one that reads staff-given selectors is built with them."""
    adapter = get_adapter(adapter_name)
    if getattr(adapter, "takes_selectors", False):
        return type(adapter)(selectors or {})
    return adapter
