"""Review's Flask app factory (served by gunicorn: `services.review.app:create_app()`)."""
from __future__ import annotations

import functools

from shared.http import create_service_app
from shared.runtime import Runtime

from . import domain, models
from .api import bp

SERVICE = "review"


@functools.lru_cache(maxsize=None)
def runtime() -> Runtime:
    return Runtime.build(SERVICE, models)


def seed(admin_password: str | None = None) -> None:
    rt = runtime()
    with rt.outbox.transaction() as s:
        domain.seed_defaults(s, rt.outbox.emitter(s), admin_password or rt.settings.get("ADMIN_PASSWORD"))


def create_app(start_relay: bool = True):
    return create_service_app(runtime(), [bp], start_relay=start_relay)
