"""Site adapters: one module per listing site. Importing this package registers them all."""

from . import (  # noqa: F401
    bayut,
    halooglasi,
    immoscout24,
    kleinanzeigen,
    krisha,
    otodom,
    pararius,
    wggesucht,
)
