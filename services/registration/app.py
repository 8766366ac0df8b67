"""Registration's Flask app factory (served by gunicorn: `services.registration.app:create_app()`)."""
from __future__ import annotations

import functools

from shared.http import create_service_app
from shared.runtime import Runtime

from . import models
from .api import bp

SERVICE = "registration"


@functools.lru_cache(maxsize=None)
def runtime() -> Runtime:
    return Runtime.build(SERVICE, models)


def create_app(start_relay: bool = True):
    return create_service_app(runtime(), [bp], start_relay=start_relay)
