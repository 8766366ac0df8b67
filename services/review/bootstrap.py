"""Review's dependencies, built once per process from configuration. Review talks to no
outside party: its deps are the common ones (settings, database, broker, outbox)."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from shared.config import Readiness
from shared.service import ServiceDeps

from . import models

SERVICE = "review"


@dataclass
class ReviewDeps(ServiceDeps):
    """Nothing beyond the common parts; the edition served is `settings.edition`."""


@functools.cache
def bootstrap() -> ReviewDeps:
    parts = ServiceDeps.infrastructure(SERVICE, models)
    ready = Readiness(parts["settings"])
    ready.verify()
    return ReviewDeps(**parts)
