"""Notifications' dependencies, built once per process from configuration: the email
channel (SMTP), the SMS provider (the sandbox here), and the per-channel rate limiter."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol

from shared.config import Readiness
from shared.service import ServiceDeps

from . import models
from .domain import RateLimiter
from .providers import SandboxSmsProvider, SmtpSender

SERVICE = "notifications"


class EmailChannel(Protocol):
    def send(self, to: str, subject: str, body: str) -> str:
        """Send an email; the provider's message id, or DeliveryError."""
        ...


class SmsChannel(Protocol):
    def send(self, phone: str, text: str) -> str:
        """Send an SMS; the provider's message id, or DeliveryError."""
        ...


@dataclass
class NotificationsDeps(ServiceDeps):
    email: EmailChannel
    sms: SmsChannel
    limiter: RateLimiter


@functools.cache
def bootstrap() -> NotificationsDeps:
    parts = ServiceDeps.infrastructure(SERVICE, models)
    get = parts["settings"].get
    email = SmtpSender(get("SMTP_HOST", "127.0.0.1") or "127.0.0.1", int(get("SMTP_PORT", "2525") or 2525),
                       get("SMTP_FROM") or "CIIE Accreditation <noreply@accreditation.local>",
                       get("SMTP_USER"), get("SMTP_PASSWORD"), get("SMTP_STARTTLS") == "1", get("SMTP_SSL") == "1")
    failing = {n for n in (get("SMS_SANDBOX_FAIL_NUMBERS") or "").split(",") if n}
    limiter = RateLimiter({"email": float(get("EMAIL_PER_SECOND") or 20), "sms": float(get("SMS_PER_SECOND") or 50)})
    ready = Readiness(parts["settings"])
    ready.require(get("SMTP_HOST") is not None, "SMTP_HOST (and SMTP_PORT, SMTP_USER, SMTP_PASSWORD, SMTP_FROM)")
    ready.no_sandbox("SMS gateway")
    ready.token_keys(issuer=False)
    ready.verify()
    return NotificationsDeps(**parts, email=email,
                             sms=SandboxSmsProvider(parts["db"], failing, keep_inbox=parts["settings"].sandbox), limiter=limiter)
