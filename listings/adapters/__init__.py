"""Site adapters: one module per listing site. Importing this package registers them all."""

from . import (  # noqa: F401
    bayut,
    css_selectors,
    halooglasi,
    immoscout24,
    jsonld,
    kleinanzeigen,
    krisha,
    otodom,
    pararius,
    wggesucht,
)
