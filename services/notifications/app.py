"""Notifications' Flask app factory (served by gunicorn: `services.notifications.app:create_app()`)."""
from __future__ import annotations

import functools

from shared.http import create_service_app
from shared.runtime import Runtime

from . import domain, models
from .api import bp
from .providers import SandboxSmsProvider, SmtpSender

SERVICE = "notifications"


@functools.lru_cache(maxsize=None)
def runtime() -> Runtime:
    rt = Runtime.build(SERVICE, models)
    get = rt.settings.get
    senders = {
        "email": SmtpSender(get("SMTP_HOST", "127.0.0.1"), int(get("SMTP_PORT", "2525")),
                            get("SMTP_FROM", "CIIE Accreditation <noreply@accreditation.local>"),
                            get("SMTP_USER"), get("SMTP_PASSWORD"), get("SMTP_STARTTLS", "0") == "1",
                            get("SMTP_SSL", "0") == "1"),
        "sms": SandboxSmsProvider(rt.db, {n for n in (get("SMS_SANDBOX_FAIL_NUMBERS", "") or "").split(",") if n}),
    }
    rt.extras["senders"] = senders
    limiter = domain.RateLimiter({"email": float(get("EMAIL_PER_SECOND", "20")), "sms": float(get("SMS_PER_SECOND", "50"))})
    rt.extras["deliver"] = lambda ids=None: domain.deliver(rt.db, senders, ids, limiter=limiter)
    return rt


def handlers() -> dict:
    rt = runtime()
    return domain.handlers(rt.settings.public_base_url, rt.extras["deliver"])


def create_app(start_relay: bool = True):
    return create_service_app(runtime(), [bp], start_relay=start_relay)
