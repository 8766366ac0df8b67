"""Credentials' Flask app factory (served by gunicorn: `services.credentials.app:create_app()`)."""
from __future__ import annotations

import functools

from shared.http import create_service_app
from shared.runtime import Runtime

from . import domain, models
from .api import bp

SERVICE = "credentials"


@functools.lru_cache(maxsize=None)
def runtime() -> Runtime:
    return Runtime.build(SERVICE, models)


def handlers() -> dict:
    edition = runtime().settings.edition
    return {
        "PaymentConfirmed": domain.on_payment_confirmed,
        "PersonnelConfirmed": domain.on_personnel_confirmed,
        "BackgroundCheckPassed": functools.partial(domain.on_background_check_passed, edition=edition),
        "BackgroundCheckFailed": domain.on_background_check_failed,
    }


def create_app(start_relay: bool = True):
    return create_service_app(runtime(), [bp], start_relay=start_relay)
