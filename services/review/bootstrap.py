"""Review's dependencies, built once per process from configuration: the common ones
(settings, database, broker, outbox) and registration, asked over RPC for the back
office's unit files."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from shared.config import Readiness
from shared.nameko_edge import RpcClient
from shared.service import ServiceDeps

from . import models
from .providers import RegistrationFiles, RegistrationFilesOverRpc

SERVICE = "review"


@dataclass
class ReviewDeps(ServiceDeps):
    """The common parts and registration's unit files; the edition served is `settings.edition`."""
    registration: RegistrationFiles


@functools.cache
def bootstrap() -> ReviewDeps:
    parts = ServiceDeps.infrastructure(SERVICE, models)
    ready = Readiness(parts["settings"])
    ready.verify()
    return ReviewDeps(**parts, registration=RegistrationFilesOverRpc(RpcClient(parts["settings"].amqp_uri)))
