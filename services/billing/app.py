"""Billing's Flask app factory (served by gunicorn: `services.billing.app:create_app()`)."""
from __future__ import annotations

import functools

from shared.http import create_service_app
from shared.runtime import Runtime

from . import domain, models
from .api import bp
from .providers import SandboxPaymentProvider

SERVICE = "billing"


@functools.lru_cache(maxsize=None)
def runtime() -> Runtime:
    rt = Runtime.build(SERVICE, models)
    rt.extras["payment_provider"] = SandboxPaymentProvider(
        rt.db, rt.settings.get("PAYMENT_SANDBOX_SECRET", "sandbox-payment-secret"), rt.settings.public_base_url,
        callback_delay=float(rt.settings.get("PAYMENT_SANDBOX_CALLBACK_DELAY", "0.2")))
    return rt


def handlers() -> dict:
    fee = int(runtime().settings.get("EDITION_FEE_FEN", str(domain.DEFAULT_FEE_FEN)))
    return {"PersonnelConfirmed": functools.partial(domain.on_personnel_confirmed, fee_fen=fee)}


def create_app(start_relay: bool = True):
    return create_service_app(runtime(), [bp], start_relay=start_relay)
