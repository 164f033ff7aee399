"""Site adapters: one module per listing site. Importing this package registers them all."""

from . import (  # noqa: F401, E402
    bayut,
    kleinanzeigen,
    wggesucht,  # noqa: F401, E402
)
from . import krisha  # noqa: F401, E402
from . import pararius  # noqa: F401, E402
from . import immoscout24  # noqa: F401, E402
from . import halooglasi  # noqa: F401, E402
