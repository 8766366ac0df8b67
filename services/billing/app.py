"""Billing's Flask app factory (served by gunicorn: `services.billing.app:create_app()`)."""
from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import select

from shared.http import create_service_app
from shared.runtime import Runtime

from . import domain, models
from .api import bp
from .providers import SandboxEInvoicing, SandboxPaymentProvider, SandboxPaymentRefunds

SERVICE = "billing"


@functools.lru_cache(maxsize=None)
def runtime() -> Runtime:
    rt = Runtime.build(SERVICE, models)
    rt.extras["payment_provider"] = SandboxPaymentProvider(
        rt.db, rt.settings.get("PAYMENT_SANDBOX_SECRET", "sandbox-payment-secret"), rt.settings.public_base_url,
        callback_delay=float(rt.settings.get("PAYMENT_SANDBOX_CALLBACK_DELAY", "0.2")))
    get = rt.settings.get
    rt.extras["refunds"] = SandboxPaymentRefunds(rt.extras["payment_provider"], _listed(get("REFUND_SANDBOX_FAIL_ACCOUNTS")))
    rt.extras["einvoicing"] = SandboxEInvoicing(failing_titles=_listed(get("EINVOICE_SANDBOX_FAIL_TITLES")))
    rt.extras["invoice_prefix"] = get("INVOICE_PREFIX", rt.settings.edition[-2:] + "44")
    rt.extras["deadlines"] = {k: dt.datetime.fromisoformat(v) for k, v in (
        ("transfer", get("TRANSFER_DEADLINE")), ("online", get("ONLINE_PAYMENT_DEADLINE"))) if v}
    return rt


def _listed(value: str | None) -> set[str]:
    return {v.strip() for v in (value or "").split(",") if v.strip()}


def handlers() -> dict:
    fee = int(runtime().settings.get("EDITION_FEE_FEN", str(domain.DEFAULT_FEE_FEN)))
    return {"PersonnelConfirmed": functools.partial(domain.on_personnel_confirmed, fee_fen=fee),
            "ReuseLocked": functools.partial(domain.on_reuse_locked, fee_fen=fee),
            "BackgroundCheckFailed": domain.on_background_check_failed,
            "PersonnelCancelled": domain.on_personnel_cancelled,
            "PersonnelUpgraded": domain.on_personnel_upgraded,
            "UnitDeleted": domain.on_unit_deleted}


def send_approved_refunds(limit: int = 50) -> int:
    """Approved refunds go out through the provider (a sweep shared by billing workers)."""
    rt = runtime()
    sent = 0
    with rt.db.transaction() as s:
        query = select(models.Refund).where(models.Refund.status == "approved").limit(limit)
        if rt.db.is_postgres:
            query = query.with_for_update(skip_locked=True)
        for refund in s.scalars(query).all():
            domain.send_refund(s, refund, rt.extras["refunds"],
                               f"{rt.settings.public_base_url}/api/billing/callbacks/sandbox/refunds")
            sent += 1
    return sent


def expire_orders() -> int:
    rt = runtime()
    with rt.outbox.transaction() as s:
        return domain.expire_orders(s, rt.outbox.emitter(s), skip_locked=rt.db.is_postgres)


def create_app(start_relay: bool = True):
    return create_service_app(runtime(), [bp], start_relay=start_relay)
