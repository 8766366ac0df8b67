"""Credentials' Flask app factory (served by gunicorn: `services.credentials.app:create_app()`)."""
from __future__ import annotations

import datetime as dt
import functools

from shared.crypto import load_key
from shared.http import create_service_app
from shared.inbox import HandlerContext
from shared.runtime import Runtime

from . import domain, models
from .api import bp

SERVICE = "credentials"


@functools.lru_cache(maxsize=None)
def runtime() -> Runtime:
    rt = Runtime.build(SERVICE, models)
    rt.extras["qr_secret"] = load_key(rt.settings.get("QR_KEY"), rt.settings.data_dir / "keys" / "credentials-qr.key")
    return rt


def handlers() -> dict:
    edition = runtime().settings.edition
    return {
        "PaymentConfirmed": domain.on_payment_confirmed,
        "PersonnelConfirmed": domain.on_personnel_confirmed,
        "ReuseLocked": domain.on_reuse_locked,
        "BackgroundCheckPassed": functools.partial(domain.on_background_check_passed, edition=edition),
        "BackgroundCheckFailed": domain.on_background_check_failed,
        "PersonnelUpgraded": functools.partial(domain.on_personnel_upgraded, edition=edition),
        "PersonnelCancelled": domain.on_personnel_cancelled,
        "UnitDeleted": domain.on_unit_deleted,
        "DelegationChanged": domain.on_delegation_changed,
    }


def produce(address_of, limit: int = 100):
    """One production batch (a sweep shared by credentials workers)."""
    rt = runtime()
    with rt.outbox.transaction() as s:
        return domain.produce_batch(s, rt.outbox.emitter(s), rt.extras["qr_secret"], rt.settings.edition.replace("-", " "),
                                    address_of, limit=limit, skip_locked=rt.db.is_postgres)


def dispatch_waiting(address_of) -> int:
    rt = runtime()
    with rt.outbox.transaction() as s:
        return domain.dispatch_all_waiting(s, rt.outbox.emitter(s), address_of)


def resend_overdue(rpc) -> dict:
    rt = runtime()
    timeout = dt.timedelta(seconds=float(rt.settings.get("CHECK_TIMEOUT_SECONDS", "3600")))
    with rt.outbox.transaction() as s:
        ctx = HandlerContext(s, None, rt.outbox.emitter(s), rpc)
        return domain.resend_overdue_checks(ctx, timeout, int(rt.settings.get("CHECK_MAX_SENDS", "3")))


def create_app(start_relay: bool = True):
    return create_service_app(runtime(), [bp], start_relay=start_relay)
